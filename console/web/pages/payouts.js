// The payouts board: refunds on their way back to customers. Finance moves
// them along (sent with the provider's reference, settled, failed, retried);
// analysts read. Payout changes also fire claimUpdated, so the board updates
// live.

import { h, replace } from '../lib/dom.js';
import { gql } from '../lib/api.js';
import * as live from '../lib/live.js';
import { day, money, when, words } from '../lib/format.js';
import { CAN, hasAny } from '../lib/roles.js';
import { actionButton, alertArea, badge, field, openDialog, pager, select, statusRegion, table } from '../lib/ui.js';

const PAGE_SIZE = 25;
const LIST = `query Payouts($first: Int, $after: String, $filter: PayoutFilter) {
  payouts(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id status method sameMethodAsOrder initiatedAt expectedEarliest expectedLatest overdue
      settledAt failureReason externalReference
      amount { amount currency }
      order { number }
      claim { id }
    }
  }
}`;
const M = {
  sent: 'mutation ($id: ID!, $ref: String!) { markPayoutSent(payoutId: $id, externalReference: $ref) { id } }',
  settled: 'mutation ($id: ID!) { markPayoutSettled(payoutId: $id) { id } }',
  failed: 'mutation ($id: ID!, $reason: String!) { markPayoutFailed(payoutId: $id, reason: $reason) { id } }',
  retry: 'mutation ($id: ID!) { retryPayout(payoutId: $id) { id } }',
};
const UPDATES = 'subscription { claimUpdated { id } }';

// Overdue is not a stored status but a question the API answers (overdueOnly).
const FILTERS = [['', 'All'], ['PENDING', 'Pending'], ['SENT', 'Sent'], ['OVERDUE', 'Overdue'], ['FAILED', 'Failed'], ['SETTLED', 'Settled'], ['CANCELLED', 'Cancelled']];
let chosen = '';

function payoutFilter() {
  if (chosen === 'OVERDUE') return { overdueOnly: true };
  return chosen ? { status: [chosen] } : {};
}

function textDialog({ title, label, confirm, run }) {
  const input = h('input', { type: 'text', required: true, autocomplete: 'off' });
  openDialog({ title, fields: [field(label, input)], confirm, onConfirm: () => run(input.value.trim()) });
}

function rowActions(p, alerts, reload) {
  const act = (mutation, vars) => gql(mutation, { id: p.id, ...vars }).then(reload);
  const buttons = [];
  if (p.status === 'PENDING') {
    buttons.push(h('button', { type: 'button', onclick: () => textDialog({ title: `Mark payout for order ${p.order.number} sent`, label: 'External reference', confirm: 'Confirm sent', run: (ref) => act(M.sent, { ref }) }) }, 'Mark sent'));
  }
  if (p.status === 'SENT') buttons.push(actionButton('Mark settled', alerts, () => act(M.settled)));
  if (p.status === 'PENDING' || p.status === 'SENT') {
    buttons.push(h('button', { type: 'button', onclick: () => textDialog({ title: `Mark payout for order ${p.order.number} failed`, label: 'Failure reason', confirm: 'Confirm failure', run: (reason) => act(M.failed, { reason }) }) }, 'Mark failed'));
  }
  if (p.status === 'FAILED') buttons.push(actionButton('Retry', alerts, () => act(M.retry)));
  return h('div', { class: 'row-actions' }, buttons);
}

export default {
  title: 'Payouts',
  render(main, { me }) {
    const alerts = alertArea();
    const status = statusRegion();
    const results = h('div');
    const mayAct = hasAny(me, CAN.moveMoney);
    let cursors = [null];

    async function load() {
      try {
        const { payouts } = await gql(LIST, { first: PAGE_SIZE, after: cursors.at(-1), filter: payoutFilter() });
        const headers = ['Order', 'Amount', 'Method', 'Status', 'Initiated', 'Expected', 'Reference', ...(mayAct ? ['Actions'] : [])];
        const rows = payouts.nodes.map((p) => [
          h('a', { href: `#/claims/${p.claim.id}` }, p.order.number),
          money(p.amount),
          `${words(p.method)}${p.sameMethodAsOrder ? '' : ' (not the order’s method)'}`,
          h('span', null, badge(p.status), p.overdue ? [' ', badge('OVERDUE')] : null, p.failureReason ? h('span', { class: 'meta' }, ` ${p.failureReason}`) : null),
          when(p.initiatedAt),
          p.status === 'SETTLED' ? `Settled ${when(p.settledAt)}` : `${day(p.expectedEarliest)} to ${day(p.expectedLatest)}`,
          p.externalReference || '—',
          ...(mayAct ? [rowActions(p, alerts, load)] : []),
        ]);
        replace(
          results,
          h('p', { class: 'count' }, `${payouts.totalCount} payout${payouts.totalCount === 1 ? '' : 's'}`),
          table('Payouts', headers, rows, 'No payouts match.'),
          pager(cursors, payouts.pageInfo, load),
        );
        return true;
      } catch (err) {
        alerts.show(err);
        return false;
      }
    }

    const filter = select('status', FILTERS, chosen);
    filter.addEventListener('change', () => {
      chosen = filter.value;
      cursors = [null];
      load();
    });
    let pending = null;
    const refresh = () => {
      clearTimeout(pending);
      pending = setTimeout(async () => {
        if (await load()) status.announce('Payouts updated');
      }, 250);
    };
    const stop = live.subscribe(UPDATES, {}, { onNext: refresh, onReconnect: refresh, onError: () => {} });

    main.append(
      h('h1', null, 'Payouts'),
      h('p', null, 'Refunds go back through the original payment method when possible; they usually arrive in 3 to 10 business days.'),
      h('div', { class: 'filters' }, field('Status', filter), h('button', { type: 'button', onclick: () => load() }, 'Refresh'), status.el),
      alerts.el,
      results,
    );
    load();
    return () => {
      clearTimeout(pending);
      stop();
    };
  },
};
