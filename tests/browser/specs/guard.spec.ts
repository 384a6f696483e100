// The guard must keep failing tests: each of these breaks one of its rules
// and is marked test.fail(), so the run fails if the guard lets it pass.
import { test, expect } from '../fixtures';
import type { Page } from '@playwright/test';

async function onSignInPage(page: Page) {
  await page.goto('/console/#/sign-in');
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
}

test.describe('the guard fails a test on', () => {
  test.fail(true, 'the guard must report it');

  test('a request leaving 127.0.0.1', async ({ page }) => {
    await onSignInPage(page);
    await page.evaluate(() => fetch('http://localhost.example.test/x').catch(() => undefined));
  });

  test('a WebSocket leaving 127.0.0.1', async ({ page }) => {
    await onSignInPage(page);
    await page.evaluate(() => {
      new WebSocket('ws://localhost.example.test/socket');
    });
  });

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
