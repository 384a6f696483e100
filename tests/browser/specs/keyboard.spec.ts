// The refund flow by keyboard alone: every control is reached with Tab and
// used with Enter or Escape, as a person without a mouse would.
import { test, expect, statusText } from '../fixtures';
import type { Locator, Page } from '@playwright/test';

/** Presses Tab until `target` has the focus; fails if it never gets it. */
async function tabTo(page: Page, target: Locator, limit = 60) {
  const handle = await target.elementHandle();
  for (let i = 0; i < limit; i++) {
    if (await page.evaluate((el) => document.activeElement === el, handle)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${target}`);
}

test('a refund manager signs in and approves a claim with the keyboard only', async ({ page, api }) => {
  const order = await api.paidOrder({ total: '18.00' });
  const { id } = await api.claim(order.id);

  await page.goto(`/console/#/claims/${id}`);
  await expect(page).toHaveURL(/#\/sign-in/);
  await tabTo(page, page.getByLabel('Email', { exact: true }));
  await page.keyboard.type('refund-manager@demo.refund-desk.test');
  await tabTo(page, page.getByLabel('Password', { exact: true }));
  await page.keyboard.type('refund-desk-demo');
  await page.keyboard.press('Enter');

  // Back on the claim that was asked for.
  await expect(page.getByRole('heading', { name: `Claim for order ${order.number}`, exact: true })).toBeVisible();
  const status = page.locator('[data-field="status"]');
  await expect(status).toHaveText(statusText('SUBMITTED'));

  // Escape closes a dialog without acting, and the focus goes back to its button.
  const reject = page.getByRole('button', { name: 'Reject', exact: true });
  await tabTo(page, reject);
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  expect(await dialog.evaluate((d) => d.contains(document.activeElement)), 'focus moves into the dialog').toBe(true);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(reject).toBeFocused();
  await expect(status).toHaveText(statusText('SUBMITTED'));

  await tabTo(page, page.getByRole('button', { name: 'Approve', exact: true }));
  await page.keyboard.press('Enter');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Amount', { exact: true })).toHaveValue(/^\s*18\.00\s*$/);
  await tabTo(page, dialog.getByLabel(/^Note/));
  await page.keyboard.type('Access details were never sent.');
  await tabTo(page, dialog.getByRole('button', { name: 'Confirm approval', exact: true }));
  await page.keyboard.press('Enter');

  await expect(dialog).toBeHidden();
  await expect(status).toHaveText(statusText('APPROVED'));
  expect((await api.claimById(id)).status).toBe('APPROVED');
});
