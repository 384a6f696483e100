// Live updates: another person's browser sees the queue change without a reload
// (graphql-transport-ws at /graphql/ws).
import { test, expect, signIn, queueRow, selectEnum } from '../fixtures';

test('a second browser sees a new claim and its approval appear in the queue without reloading', async ({ page, api, newContext }) => {
  const order = await api.paidOrder({ total: '18.00' });

  const sockets: string[] = [];
  let liveMessages = 0;
  page.on('websocket', (ws) => {
    sockets.push(ws.url());
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string' && /"type"\s*:\s*"next"/.test(f.payload)) liveMessages += 1;
    });
  });

  // The refund manager watches the queue.
  await signIn(page, 'refund-manager');
  const queue = page.getByRole('table', { name: 'Claims queue' });
  await expect(queue).toBeVisible();
  await expect(queueRow(page, order.number)).toHaveCount(0);
  let loads = 0;
  page.on('load', () => (loads += 1));
  // A full reload would drop this marker.
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

  // The support agent, in another browser, logs a claim through the form.
  const agent = await (await newContext()).newPage();
  await signIn(agent, 'support-agent', '#/claims/new');
  await expect(agent.getByRole('heading', { name: 'New claim', exact: true })).toBeVisible();
  await agent.getByLabel('Order number', { exact: true }).fill(order.number);
  await selectEnum(agent.getByLabel('Reason', { exact: true }), 'NOT_DELIVERED');
  await selectEnum(agent.getByLabel('Channel', { exact: true }), 'EMAIL');
  await agent.getByLabel('Description', { exact: true }).fill('Nothing arrived after payment.');
  await agent.getByRole('button', { name: 'Submit claim', exact: true }).click();
  await expect(agent.getByRole('heading', { name: `Claim for order ${order.number}`, exact: true })).toBeVisible();
  const claimId = /#\/claims\/([0-9a-f-]{36})$/.exec(agent.url())![1];

  // The manager's queue shows it, announced in the live region.
  await expect(queueRow(page, order.number)).toBeVisible();
  await expect(queueRow(page, order.number)).toContainText(/submitted/i);
  await expect(page.getByRole('status').filter({ hasText: 'Queue updated' })).toBeVisible();

  // A decision made elsewhere (here: through the API) changes the row's status.
  await api.gql(await api.token('admin'), 'mutation($input: ApproveClaimInput!) { approveClaim(input: $input) { status } }', {
    input: { claimId },
  });
  await expect(queueRow(page, order.number)).toContainText(/approved/i);

  expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  expect(loads, 'page loads while waiting').toBe(0);
  expect(liveMessages, 'graphql-transport-ws "next" messages received by the watching page').toBeGreaterThan(0);
  expect(sockets.some((u) => /^ws:\/\/127\.0\.0\.1:\d+\/graphql\/ws$/.test(u)), `sockets: ${sockets.join(', ')}`).toBe(true);
});
