// The guard must keep failing tests. The network rules are checked by what
// the guard records; the others each break one rule and are marked
// test.fail(), so the run fails if the guard lets them pass.
import { test, expect } from '../fixtures';
import type { Page } from '@playwright/test';

async function onSignInPage(page: Page) {
  await page.goto('/console/#/sign-in');
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
}

/**
 * The network rules, checked by what the guard recorded (then cleared, so
 * the test passes only when that exact rule fired). On a page without the
 * console's CSP (`/healthz`), so the request is really attempted and the
 * guard, not the CSP, is what catches it.
 */
test.describe('the guard records', () => {
  test('a request leaving 127.0.0.1, and blocks it', async ({ page, problems }) => {
    await page.goto('/healthz');
    const outcome = await page.evaluate(() =>
      fetch('http://localhost.example.test/x').then(() => 'loaded', () => 'blocked'),
    );
    expect(outcome).toBe('blocked');
    expect(problems.filter((p) => p.startsWith('request left 127.0.0.1: GET http://localhost.example.test/x'))).toHaveLength(1);
    problems.length = 0;
  });

  test('a WebSocket leaving 127.0.0.1', async ({ page, problems }) => {
    await page.goto('/healthz');
    await page.evaluate(() => {
      new WebSocket('ws://localhost.example.test/socket');
    });
    await expect.poll(() => problems.some((p) => p.startsWith('WebSocket left 127.0.0.1: ws://localhost.example.test/socket'))).toBe(true);
    problems.length = 0;
  });
});

test.describe('the guard fails a test on', () => {
  test.fail(true, 'the guard must report it');

  test('a console error', async ({ page }) => {
    await onSignInPage(page);
    await page.evaluate(() => console.error('boom'));
  });

  test('an uncaught exception', async ({ page }) => {
    await onSignInPage(page);
    await page.evaluate(() => setTimeout(() => {
      throw new Error('boom');
    }));
  });

  test('a CSP violation (inline script)', async ({ page }) => {
    await onSignInPage(page);
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.inline = 1';
      document.body.append(s);
    });
  });

  test('a problem in a second browser context', async ({ newContext }) => {
    const page = await (await newContext()).newPage();
    await onSignInPage(page);
    await page.evaluate(() => console.error('boom in the other browser'));
  });
});
