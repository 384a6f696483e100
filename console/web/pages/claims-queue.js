// The claims queue: filters, sort, "Assigned to me", paging, and live updates
// through the claimUpdated subscription (the table is re-read on each event,
// so it always shows the server's truth for the current filters).

import { h, replace } from '../lib/dom.js';
import { gql } from '../lib/api.js';
import * as live from '../lib/live.js';
import { money, when, words } from '../lib/format.js';
import { CAN, hasAny } from '../lib/roles.js';
import { alertArea, badge, field, pager, select, statusRegion, table } from '../lib/ui.js';

export const CLAIM_STATUSES = ['SUBMITTED', 'UNDER_REVIEW', 'NEEDS_INFO', 'AWAITING_SECOND_APPROVAL', 'APPROVED', 'REJECTED', 'REFUNDED', 'WITHDRAWN'];
export const OPEN_STATUSES = CLAIM_STATUSES.slice(0, 4);
export const CLAIM_REASONS = ['NOT_DELIVERED', 'NOT_WORKING', 'SERVICE_OUTAGE', 'DUPLICATE_PAYMENT', 'WRONG_PLAN', 'CHANGED_MIND', 'DEVICE_INCOMPATIBLE', 'NETWORK_OR_ISP', 'OTHER'];
const PAGE_SIZE = 25;

const QUEUE = `query Queue($first: Int, $after: String, $filter: ClaimFilter, $sort: ClaimSort) {
  claims(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id status reason submittedAt
      requestedAmount { amount currency }
      eligibility { outcome }
      order { number }
      customer { name email }
      assignee { id name }
    }
  }
}`;

const UPDATES = 'subscription { claimUpdated { id status version } }';

// Kept between visits so going back to the queue keeps the filters.
const filters = { status: '', reason: '', orderNumber: '', customerEmail: '', mine: false, sort: 'SUBMITTED_AT_DESC' };

function claimFilter(me) {
  const f = {};
  if (filters.status === 'OPEN') f.status = OPEN_STATUSES;
  else if (filters.status) f.status = [filters.status];
  if (filters.reason) f.reason = [filters.reason];
  if (filters.orderNumber.trim()) f.orderNumber = filters.orderNumber.trim();
  if (filters.customerEmail.trim()) f.customerEmail = filters.customerEmail.trim();
  if (filters.mine) f.assigneeId = me.id;
  return f;
}

function filterForm(onChange) {
  const status = select('status', [['', 'All statuses'], ['OPEN', 'Open (not decided)'], ...CLAIM_STATUSES], filters.status);
  const reason = select('reason', [['', 'All reasons'], ...CLAIM_REASONS], filters.reason);
  const orderNumber = h('input', { type: 'search', name: 'orderNumber', value: filters.orderNumber });
  const email = h('input', { type: 'email', name: 'customerEmail', value: filters.customerEmail, autocomplete: 'off' });
  const mine = h('input', { type: 'checkbox', name: 'mine', checked: filters.mine });
  const sort = select('sort', [['SUBMITTED_AT_DESC', 'Newest first'], ['SUBMITTED_AT_ASC', 'Oldest first'], ['AMOUNT_DESC', 'Largest amount first']], filters.sort);
  const read = () => {
    Object.assign(filters, {
      status: status.value, reason: reason.value, orderNumber: orderNumber.value,
      customerEmail: email.value, mine: mine.checked, sort: sort.value,
    });
    onChange();
  };
  let typing = null;
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter claims' },
    field('Status', status),
    field('Reason', reason),
    field('Order number', orderNumber),
    field('Customer email', email),
    field('Sort', sort),
    field('Assigned to me', mine),
    h('button', { type: 'submit' }, 'Apply filters'),
  );
  form.addEventListener('change', read);
  // The order number applies as the person types, after a short pause.
  // (Only the order number: a half-typed email address is not a filter yet.)
  form.addEventListener('input', (event) => {
    if (event.target !== orderNumber) return;
    clearTimeout(typing);
    typing = setTimeout(read, 400);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(typing);
    read();
  });
  return form;
}

function rows(nodes) {
  return nodes.map((c) => [
    h('a', { href: `#/claims/${c.id}` }, c.order.number),
    c.customer.name || c.customer.email,
    words(c.reason),
    badge(c.status),
    words(c.eligibility.outcome),
    money(c.requestedAmount),
    c.assignee ? c.assignee.name : 'Nobody',
    when(c.submittedAt),
  ]);
}

export default {
  title: 'Claims',
  render(main, { me }) {
    const alerts = alertArea();
    const status = statusRegion();
    const results = h('div', { class: 'results' });
    const liveState = h('span', { class: 'live-state' });
    let cursors = [null]; // the `after` of each page seen, for Previous
    let loading = null;

    async function load() {
      const after = cursors.at(-1);
      const request = gql(QUEUE, { first: PAGE_SIZE, after, filter: claimFilter(me), sort: filters.sort });
      loading = request;
      try {
        const { claims } = await request;
        if (loading !== request) return false;
        alerts.clear();
        replace(
          results,
          h('p', { class: 'count' }, `${claims.totalCount} claim${claims.totalCount === 1 ? '' : 's'}`),
          table('Claims queue', ['Order', 'Customer', 'Reason', 'Status', 'Eligibility', 'Requested', 'Assignee', 'Submitted'], rows(claims.nodes), 'No claims match these filters.'),
          pager(cursors, claims.pageInfo, load),
        );
        return true;
      } catch (err) {
        if (loading === request) alerts.show(err);
        return false;
      }
    }

    let pending = null;
    const refreshLive = () => {
      // Several changes often land together (an approval and its payout).
      clearTimeout(pending);
      pending = setTimeout(async () => {
        if (await load()) status.announce('Queue updated');
      }, 250);
    };
    const stop = live.subscribe(UPDATES, {}, { onNext: refreshLive, onReconnect: refreshLive, onError: () => {} });
    const unwatch = live.onStatus((s) => {
      liveState.textContent = s === 'live' ? 'Live updates on' : s === 'connecting' ? 'Connecting for live updates…' : 'Live updates off: use Refresh';
    });

    main.append(
      h(
        'div',
        { class: 'page-head' },
        h('h1', null, 'Claims'),
        hasAny(me, CAN.handleClaims) ? h('a', { href: '#/claims/new', class: 'button primary' }, 'New claim') : null,
      ),
      filterForm(() => { cursors = [null]; load(); }),
      h('div', { class: 'toolbar' }, liveState, h('button', { type: 'button', onclick: () => load() }, 'Refresh'), status.el),
      alerts.el,
      results,
    );
    load();
    return () => {
      clearTimeout(pending);
      stop();
      unwatch();
    };
  },
};
