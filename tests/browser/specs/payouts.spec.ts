// Finance on the payouts board: mark a payout sent (with its external
// reference), then settled; the claim becomes REFUNDED.
import { test, expect, signIn, uniqueNumber } from '../fixtures';
import type { Page, Locator } from '@playwright/test';

/**
 * The board's status filter: the contract names its choices (Pending, Sent,
 * Overdue, Failed, Settled) but not the control, so a tab, radio, button,
 * link or an option of a select named so.
 */
async function showStatus(page: Page, name: string) {
  for (const role of ['tab', 'radio', 'button', 'link'] as const) {
    const control = page.getByRole(role, { name, exact: true });
    if ((await control.count()) === 1) {
      await control.click();
      return;
    }
  }
  const select = page.locator('select').filter({ has: page.locator('option', { hasText: new RegExp(`^\\s*${name}\\s*$`) }) });
  await expect(select, `a status filter offering ${name}`).toHaveCount(1);
  await select.selectOption({ label: name });
}

const payoutRow = (page: Page, orderNumber: string): Locator =>
  page.getByRole('table', { name: 'Payouts' }).getByRole('row').filter({ hasText: orderNumber });

test('finance marks a payout sent with its external reference, then settled', async ({ page, api }) => {
  const order = await api.paidOrder({ total: '19.99' });
  const { id: claimId } = await api.claim(order.id);
  await api.gql(await api.token('refund-manager'), 'mutation($input: ApproveClaimInput!) { approveClaim(input: $input) { status } }', {
    input: { claimId },
  });
  const reference = uniqueNumber('re');

  await signIn(page, 'finance', '#/payouts');
  await expect(page.getByRole('heading', { name: 'Payouts', exact: true })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Payouts' })).toBeVisible();

  await showStatus(page, 'Pending');
  const pending = payoutRow(page, order.number);
  await expect(pending).toHaveCount(1);
  await pending.getByRole('button', { name: 'Mark sent', exact: true }).click();
  await page.getByLabel('External reference', { exact: true }).fill(reference);
  await page.getByRole('button', { name: 'Confirm sent', exact: true }).click();
  await expect.poll(async () => (await api.claimById(claimId)).payouts[0].status).toBe('SENT');

  await showStatus(page, 'Sent');
  const sent = payoutRow(page, order.number);
  await expect(sent).toHaveCount(1);
  await expect(sent).toContainText(reference);
  // A confirmation step, if the board asks for one (a native confirm() or a dialog).
  page.once('dialog', (d) => void d.accept());
  await sent.getByRole('button', { name: 'Mark settled', exact: true }).click();
  const confirm = page.getByRole('dialog').getByRole('button', { name: /^Confirm/ });
  await expect.poll(async () => (await confirm.count()) > 0 || (await api.claimById(claimId)).payouts[0].status === 'SETTLED').toBe(true);
  if ((await confirm.count()) > 0) await confirm.click();
  await expect.poll(async () => (await api.claimById(claimId)).payouts[0].status).toBe('SETTLED');

  await showStatus(page, 'Settled');
  await expect(payoutRow(page, order.number)).toHaveCount(1);
  await expect(payoutRow(page, order.number).getByRole('button', { name: /^Mark / })).toHaveCount(0);

  const claim = await api.claimById(claimId);
  expect(claim.status).toBe('REFUNDED');
  expect(claim.payouts[0].externalReference).toBe(reference);
});
