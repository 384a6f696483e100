// Logging a claim, approving it, the second approval above the threshold,
// and what FINANCE may not do.
import { test, expect, signIn, sessionToken, selectEnum, statusText, uniqueNumber, Api } from '../fixtures';
import type { Page } from '@playwright/test';

const status = (page: Page) => page.locator('[data-field="status"]');
const claimHeading = (page: Page, number: string) => page.getByRole('heading', { name: `Claim for order ${number}`, exact: true });
const approveButton = (page: Page) => page.getByRole('button', { name: 'Approve', exact: true });

/** approveClaim sent from the page with the token the console keeps: what a person could forge in devtools. */
async function forgeApprove(page: Page, claimId: string) {
  const token = await sessionToken(page);
  return page.evaluate(
    async ({ token, claimId }) => {
      const res = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: 'mutation($input: ApproveClaimInput!) { approveClaim(input: $input) { id status } }',
          variables: { input: { claimId } },
        }),
      });
      return { status: res.status, body: await res.json() };
    },
    { token, claimId },
  );
}

test('a support agent logs a claim through the New claim form', async ({ page, api }) => {
  const order = await api.paidOrder({ total: '24.90' });
  await signIn(page, 'support-agent');
  await page.getByRole('link', { name: 'New claim', exact: true }).click();
  await expect(page).toHaveURL(/#\/claims\/new$/);
  await expect(page.getByRole('heading', { name: 'New claim', exact: true })).toBeVisible();

  await page.getByLabel('Order number', { exact: true }).fill(order.number);
  await selectEnum(page.getByLabel('Reason', { exact: true }), 'NOT_WORKING');
  await selectEnum(page.getByLabel('Channel', { exact: true }), 'WHATSAPP');
  await page.getByLabel('Description', { exact: true }).fill('The streams stop after a minute on every device.');
  await page.getByLabel(/^Requested amount/).fill('12.50');
  await page.getByRole('button', { name: 'Submit claim', exact: true }).click();

  // The new claim's detail page opens.
  await expect(claimHeading(page, order.number)).toBeVisible();
  await expect(page).toHaveURL(/#\/claims\/[0-9a-f-]{36}$/);
  await expect(status(page)).toHaveText(statusText('SUBMITTED'));
  for (const section of ['Order', 'Eligibility', 'Evidence', 'Timeline', 'Notes']) {
    await expect(page.getByRole('heading', { level: 2, name: section, exact: true }), `section ${section}`).toBeVisible();
  }
  // Not activated yet: a full refund under rule NOT_ACTIVATED.
  await expect(page.getByText('NOT_ACTIVATED')).toBeVisible();

  const id = /#\/claims\/([0-9a-f-]{36})$/.exec(page.url())![1];
  const claim = await api.claimById(id);
  expect(claim.status).toBe('SUBMITTED');
  expect(Number(claim.requestedAmount.amount)).toBe(12.5);
  expect(claim.requestedAmount.currency).toBe('EUR');
});

test('a refund manager approves a claim; the dialog has the suggested amount filled in', async ({ page, api }) => {
  // Not activated: suggested = the whole refundable 37.45, more than the 20.00 requested.
  const order = await api.paidOrder({ total: '37.45' });
  const { id } = await api.claim(order.id, { requested: { amount: '20.00', currency: 'EUR' } });

  await signIn(page, 'refund-manager', `#/claims/${id}`);
  await expect(page).toHaveURL(new RegExp(`#/claims/${id}$`));
  await expect(claimHeading(page, order.number)).toBeVisible();
  await expect(status(page)).toHaveText(statusText('SUBMITTED'));

  await approveButton(page).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Amount', { exact: true })).toHaveValue(/^\s*37\.45\s*$/);
  await expect(dialog.getByLabel(/^Override reason/)).toBeVisible();
  await dialog.getByLabel(/^Note/).fill('Access details were never sent.');
  await dialog.getByRole('button', { name: 'Confirm approval', exact: true }).click();

  await expect(dialog).toBeHidden();
  await expect(status(page)).toHaveText(statusText('APPROVED'));
  await expect(approveButton(page)).toHaveCount(0);
  const claim = await api.claimById(id);
  expect(claim.status).toBe('APPROVED');
  expect(Number(claim.approvedAmount.amount)).toBe(37.45);
  expect(claim.approvedAmount.currency).toBe('EUR');
  expect(claim.payouts.map((p: { status: string }) => p.status)).toEqual(['PENDING']);
});

/** Publishes (once) a copy of the policy in force with a dual-approval threshold of 100.00 GBP. */
async function ensureGbpThreshold(api: Api) {
  const admin = await api.token('admin');
  const { policy } = await api.gql(
    admin,
    `{ policy { refundWindowDays excludedReasonsAfterActivation evidenceRequiredReasons dualApprovalThreshold { amount currency }
       chargebackWithoutContactAction payoutBusinessDaysMin payoutBusinessDaysMax text } }`,
  );
  if (policy.dualApprovalThreshold?.currency === 'GBP') return;
  // Only GBP approvals need a second approver: the other tests approve EUR.
  await api.gql(admin, 'mutation($input: PublishPolicyInput!) { publishPolicyVersion(input: $input) { version } }', {
    input: {
      lastUpdated: new Date().toISOString().slice(0, 10),
      refundWindowDays: policy.refundWindowDays,
      excludedReasonsAfterActivation: policy.excludedReasonsAfterActivation,
      evidenceRequiredReasons: policy.evidenceRequiredReasons,
      dualApprovalThreshold: { amount: '100.00', currency: 'GBP' },
      chargebackWithoutContactAction: policy.chargebackWithoutContactAction,
      payoutBusinessDaysMin: policy.payoutBusinessDaysMin,
      payoutBusinessDaysMax: policy.payoutBusinessDaysMax,
      text: policy.text,
    },
  });
}

test('above the threshold a second manager must approve; the first cannot give the second approval', async ({ page, api, newContext }) => {
  await ensureGbpThreshold(api);
  const second = { email: `${uniqueNumber('manager').toLowerCase()}@staff.test`, password: 'second-manager-password' };
  await api.gql(await api.token('admin'), 'mutation($input: CreateStaffInput!) { createStaff(input: $input) { id } }', {
    input: { email: second.email, name: 'Second Manager', password: second.password, roles: ['REFUND_MANAGER'] },
  });
  const order = await api.paidOrder({ total: '150.00', currency: 'GBP' });
  const { id } = await api.claim(order.id);

  // The first manager approves: it waits for a second approval.
  await signIn(page, 'refund-manager', `#/claims/${id}`);
  await expect(claimHeading(page, order.number)).toBeVisible();
  await approveButton(page).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByLabel('Amount', { exact: true })).toHaveValue(/^\s*150(\.00?)?\s*$/);
  await dialog.getByRole('button', { name: 'Confirm approval', exact: true }).click();
  await expect(status(page)).toHaveText(statusText('AWAITING_SECOND_APPROVAL'));

  // The UI does not offer the first approver the second approval (the
  // contract: action buttons only when the role and the claim's state allow them).
  await expect(approveButton(page)).toHaveCount(0);
  // A forged call with the first manager's own token is refused by the API.
  const forged = await forgeApprove(page, id);
  expect(forged.body.errors?.[0]?.extensions?.code, JSON.stringify(forged.body)).toBe('FORBIDDEN');
  expect((await api.claimById(id)).status).toBe('AWAITING_SECOND_APPROVAL');

  // Another manager, in another browser, gives the second approval.
  const other = await (await newContext()).newPage();
  await signIn(other, second, `#/claims/${id}`);
  await expect(claimHeading(other, order.number)).toBeVisible();
  await expect(status(other)).toHaveText(statusText('AWAITING_SECOND_APPROVAL'));
  await approveButton(other).click();
  const otherDialog = other.getByRole('dialog');
  await expect(otherDialog.getByLabel('Amount', { exact: true })).toHaveValue(/^\s*150(\.00?)?\s*$/);
  await otherDialog.getByRole('button', { name: 'Confirm approval', exact: true }).click();
  await expect(status(other)).toHaveText(statusText('APPROVED'));

  const claim = await api.claimById(id);
  expect(claim.status).toBe('APPROVED');
  expect(claim.payouts).toHaveLength(1);
});

test('FINANCE sees no Approve button and a forged approveClaim from the page is FORBIDDEN', async ({ page, api }) => {
  const order = await api.paidOrder();
  const { id } = await api.claim(order.id);

  await signIn(page, 'finance', `#/claims/${id}`);
  await expect(claimHeading(page, order.number)).toBeVisible();
  await expect(status(page)).toHaveText(statusText('SUBMITTED'));
  for (const action of ['Approve', 'Reject', 'Assign to me', 'Request info', 'Withdraw', 'Add note']) {
    await expect(page.getByRole('button', { name: action, exact: true }), `FINANCE has no ${action}`).toHaveCount(0);
  }

  const forged = await forgeApprove(page, id);
  expect(forged.body.errors?.[0]?.extensions?.code, JSON.stringify(forged.body)).toBe('FORBIDDEN');
  expect(forged.body.data ?? null).toBeNull();
  expect((await api.claimById(id)).status).toBe('SUBMITTED');

  await page.goto('/console/#/claims');
  await expect(page.getByRole('table', { name: 'Claims queue' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'New claim', exact: true })).toHaveCount(0);
});

test('CONFLICT: approving a claim someone else changed meanwhile says so and offers Reload', async ({ page, api }) => {
  const order = await api.paidOrder({ total: '15.00' });
  const { id } = await api.claim(order.id);

  await signIn(page, 'refund-manager', `#/claims/${id}`);
  await expect(claimHeading(page, order.number)).toBeVisible();
  await approveButton(page).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByLabel('Amount', { exact: true })).toHaveValue(/^\s*15(\.00?)?\s*$/);

  // Meanwhile someone else changes the claim (its version moves on).
  await api.gql(await api.token('support-agent'), 'mutation($c: ID!) { addClaimNote(claimId: $c, note: "Customer called again.") { version } }', { c: id });
  await dialog.getByRole('button', { name: 'Confirm approval', exact: true }).click();

  const alert = page.getByRole('alert').filter({ hasText: 'Someone else changed this claim' });
  await expect(alert).toBeVisible();
  expect((await api.claimById(id)).status).toBe('SUBMITTED');
  await page.getByRole('button', { name: 'Reload', exact: true }).click();
  await expect(page.getByText('Customer called again.').first()).toBeVisible();
  await expect(approveButton(page)).toBeVisible();
});
