// Every page once, as the demo admin: a full-page screenshot into artifacts/
// and an axe-core check that fails on any serious or critical violation.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, expect, signIn, nav, screenshot, expectAccessible, statusText, Api } from '../fixtures';
import type { Page } from '@playwright/test';

const DOCS = path.resolve(__dirname, '../../../docs/screenshots');

/** Nothing left loading: no aria-busy region, no "Loading" text. */
async function settled(page: Page) {
  await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
  await expect(page.getByText(/^\s*Loading\b/i)).toHaveCount(0);
}

async function capture(page: Page, name: string, docsName?: string) {
  await settled(page);
  const file = await screenshot(page, name);
  // The README's screenshots: written when missing or when asked
  // (UPDATE_SCREENSHOTS=1), so an ordinary run leaves the committed ones alone.
  if (docsName && (process.env.UPDATE_SCREENSHOTS === '1' || !fs.existsSync(path.join(DOCS, docsName)))) {
    fs.mkdirSync(DOCS, { recursive: true });
    fs.copyFileSync(file, path.join(DOCS, docsName));
  }
  await expectAccessible(page, name);
}

/** Opens a page through its link in the Main navigation. */
async function open(page: Page, link: string, hash: string) {
  await nav(page).getByRole('link', { name: link, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`#/${hash}$`));
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
}

/** A claim with something in every section: assigned, a note, a screenshot as evidence. */
async function richClaim(page: Page, api: Api) {
  // A storefront-like number and a person's name: this page's screenshot is in the README.
  const n = 10000 + Math.floor(Math.random() * 89999);
  const order = await api.paidOrder({ number: `WC-${n}`, total: '29.90', customerName: 'Maria Rossi', customerEmail: `maria.rossi.${n}@example.com` });
  const manager = await api.token('refund-manager');
  const managerId = await api.staffId('refund-manager');
  await api.gql(
    await api.token('support-agent'),
    `mutation($o: ID!, $e: String!, $d: DateTime!) { recordActivation(input: { orderId: $o, channel: EMAIL, destination: $e,
       username: "demo-user", password: "demo-pass", serverUrl: "http://tv.example.test", deliveredAt: $d }) { id } }`,
    { o: order.id, e: `maria.rossi.${n}@example.com`, d: new Date(Date.now() - 3600_000).toISOString() },
  );
  const { id } = await api.claim(order.id, {
    reason: 'NOT_WORKING',
    description: 'The channels stop after a few seconds on the living-room TV; the player shows "Player error 403".',
  });
  await api.gql(manager, 'mutation($c: ID!, $a: ID!) { assignClaim(claimId: $c, assigneeId: $a) { id } }', { c: id, a: managerId });
  await api.gql(manager, 'mutation($c: ID!) { addClaimNote(claimId: $c, note: "Asked the customer which player app they use.") { id } }', { c: id });

  // The customer's "screenshot": an error message drawn in this browser.
  await page.setContent(
    '<div style="font:24px sans-serif;padding:24px;background:#222;color:#eee;width:480px">Player error 403<br><small>Playlist expired or not authorised</small></div>',
  );
  const png = await page.locator('div').screenshot();
  await api.uploadEvidence(manager, id, 'player-error.png', 'image/png', png);
  return { id, order };
}

test.describe('every page: screenshot and accessibility', () => {
  test('sign in', async ({ page }) => {
    await page.goto('/console/#/sign-in');
    await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
    await capture(page, 'sign-in');
  });

  test('claims queue', async ({ page }) => {
    await signIn(page, 'admin');
    await expect(page.getByRole('table', { name: 'Claims queue' }).getByRole('row').filter({ has: page.getByRole('link') }).first()).toBeVisible();
    await capture(page, 'claims-queue', 'claims-queue.png');
  });

  test('claim detail', async ({ page, api }) => {
    const { id, order } = await richClaim(page, api);
    await signIn(page, 'admin', `#/claims/${id}`);
    await expect(page.getByRole('heading', { name: `Claim for order ${order.number}`, exact: true })).toBeVisible();
    await expect(page.locator('[data-field="status"]')).toHaveText(statusText('UNDER_REVIEW'));
    const preview = page.getByRole('img', { name: 'player-error.png' });
    await expect(preview).toBeVisible();
    await expect.poll(() => preview.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await expect(page.getByLabel('Add evidence file')).toBeAttached();
    await capture(page, 'claim-detail', 'claim-detail.png');
  });

  test('new claim', async ({ page }) => {
    await signIn(page, 'admin');
    await page.getByRole('link', { name: 'New claim', exact: true }).click();
    await expect(page.getByRole('heading', { name: 'New claim', exact: true })).toBeVisible();
    await capture(page, 'new-claim');
  });

  test('payouts', async ({ page }) => {
    await signIn(page, 'admin');
    await open(page, 'Payouts', 'payouts');
    await expect(page.getByRole('heading', { name: 'Payouts', exact: true })).toBeVisible();
    await expect(page.getByRole('table', { name: 'Payouts' })).toBeVisible();
    await capture(page, 'payouts');
  });

  test('chargebacks', async ({ page, api }) => {
    // The demo data has no chargebacks: one on an order of its own.
    const order = await api.paidOrder({ total: '49.90' });
    await api.gql(
      await api.token('finance'),
      'mutation($input: RecordChargebackInput!) { recordChargeback(input: $input) { id } }',
      { input: { orderId: order.id, amount: { amount: '49.90', currency: 'EUR' }, reasonCode: 'fraudulent', providerReference: `dp_${order.number}`, openedAt: new Date().toISOString() } },
    );
    await signIn(page, 'admin');
    await open(page, 'Chargebacks', 'chargebacks');
    await expect(page.getByRole('table').getByRole('row').filter({ hasText: order.number })).toBeVisible();
    await capture(page, 'chargebacks');
  });

  test('reports', async ({ page }) => {
    await signIn(page, 'admin');
    await open(page, 'Reports', 'reports');
    await expect(page.getByRole('figure', { name: 'Refund rate over time', exact: true }).locator('svg[role="img"]')).toBeVisible();
    await expect(page.getByRole('figure', { name: 'Claims by reason', exact: true }).locator('svg[role="img"]')).toBeVisible();
    await capture(page, 'reports');
  });

  test('staff', async ({ page }) => {
    await signIn(page, 'admin');
    await open(page, 'Staff', 'staff');
    await expect(page.getByText('Demo refund manager', { exact: true }).first()).toBeVisible();
    await capture(page, 'staff');
  });

  test('webhooks', async ({ page }) => {
    await signIn(page, 'admin');
    await open(page, 'Webhooks', 'webhooks');
    await capture(page, 'webhooks');
  });

  test('inbound', async ({ page }) => {
    await signIn(page, 'admin');
    await open(page, 'Inbound', 'inbound');
    await capture(page, 'inbound');
  });

  test('audit log', async ({ page }) => {
    await signIn(page, 'admin');
    await open(page, 'Audit log', 'audit');
    await expect(page.getByRole('table').getByRole('row').nth(1)).toBeVisible();
    await capture(page, 'audit-log');
  });

  test('GraphiQL', async ({ page }) => {
    await page.goto('/graphql');
    await expect(page.locator('.graphiql-query-editor').first()).toBeVisible();
    await capture(page, 'graphiql');
  });
});
