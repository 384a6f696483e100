// The claims queue: filters by order number, customer email, status, reason
// and "Assigned to me".
import { test, expect, signIn, queueRow, selectEnum, uniqueNumber, statusText } from '../fixtures';
import type { Page } from '@playwright/test';

const queue = (page: Page) => page.getByRole('table', { name: 'Claims queue' });
/** Data rows: the ones whose first cell links to a claim. */
const claimRows = (page: Page) => queue(page).getByRole('row').filter({ has: page.getByRole('link') });

/** The queue with no filters: a fresh load (filters may live in the hash or in memory). */
async function freshQueue(page: Page) {
  await page.goto('about:blank');
  await page.goto('/console/#/claims');
  await expect(queue(page)).toBeVisible();
}

async function fillFilter(page: Page, label: string, value: string) {
  const field = page.getByLabel(label, { exact: true });
  await field.fill(value);
  await field.press('Enter');
}

test('filters the queue by order number, customer, status, reason and "Assigned to me"', async ({ page, api }) => {
  // Two claims of one new customer: A submitted (NOT_DELIVERED), B under
  // review, assigned to the demo refund manager (WRONG_PLAN).
  const email = `${uniqueNumber('queue').toLowerCase()}@customers.test`;
  const orderA = await api.paidOrder({ customerEmail: email, total: '10.00' });
  const orderB = await api.paidOrder({ customerEmail: email, total: '30.00' });
  await api.claim(orderA.id, { reason: 'NOT_DELIVERED' });
  const claimB = await api.claim(orderB.id, { reason: 'WRONG_PLAN' });
  const manager = await api.staffId('refund-manager');
  await api.gql(await api.token('refund-manager'), 'mutation($c: ID!, $a: ID!) { assignClaim(claimId: $c, assigneeId: $a) { status } }', {
    c: claimB.id,
    a: manager,
  });

  await signIn(page, 'refund-manager');
  await expect(page.getByRole('heading', { name: 'Claims', exact: true })).toBeVisible();
  await expect(queue(page)).toBeVisible();
  await expect(page.getByLabel('Sort', { exact: true })).toBeVisible();

  // Order number: exactly that order's claim.
  await fillFilter(page, 'Order number', orderA.number);
  await expect(queueRow(page, orderA.number)).toBeVisible();
  await expect(claimRows(page)).toHaveCount(1);

  // Customer email: both of the customer's claims.
  await freshQueue(page);
  await fillFilter(page, 'Customer email', email);
  await expect(claimRows(page)).toHaveCount(2);
  await expect(queueRow(page, orderA.number)).toBeVisible();
  await expect(queueRow(page, orderB.number)).toBeVisible();
  await expect(queueRow(page, orderB.number)).toContainText(/under review/i);

  // + Reason WRONG_PLAN: only B.
  await selectEnum(page.getByLabel('Reason', { exact: true }), 'WRONG_PLAN');
  await expect(claimRows(page)).toHaveCount(1);
  await expect(queueRow(page, orderB.number)).toBeVisible();

  // Customer + Status SUBMITTED: only A.
  await freshQueue(page);
  await fillFilter(page, 'Customer email', email);
  await expect(claimRows(page)).toHaveCount(2);
  await selectEnum(page.getByLabel('Status', { exact: true }), 'SUBMITTED');
  await expect(claimRows(page)).toHaveCount(1);
  await expect(queueRow(page, orderA.number)).toBeVisible();

  // Customer + Assigned to me: only B (assigned to the demo refund manager).
  await freshQueue(page);
  await fillFilter(page, 'Customer email', email);
  await expect(claimRows(page)).toHaveCount(2);
  await page.getByRole('checkbox', { name: 'Assigned to me' }).check();
  await expect(claimRows(page)).toHaveCount(1);
  await expect(queueRow(page, orderB.number)).toBeVisible();

  // A row's link opens the claim.
  await queueRow(page, orderB.number).getByRole('link', { name: orderB.number, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`#/claims/${claimB.id}$`));
  await expect(page.getByRole('heading', { name: `Claim for order ${orderB.number}` })).toBeVisible();
  await expect(page.locator('[data-field="status"]')).toHaveText(statusText('UNDER_REVIEW'));
});
