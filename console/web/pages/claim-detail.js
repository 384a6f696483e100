// One claim: its order and activation, the eligibility decision, evidence,
// timeline and notes, and the actions the person may take. It re-reads the
// claim when a live event says it changed (unless a dialog is open, where
// the stale version would give CONFLICT and a Reload button instead).

import { h, replace } from '../lib/dom.js';
import { gql } from '../lib/api.js';
import * as live from '../lib/live.js';
import { day, money, when, words } from '../lib/format.js';
import { alertArea, badge, statusRegion, table } from '../lib/ui.js';
import { CAN, hasAny } from '../lib/roles.js';
import { actionBar } from './claim-actions.js';
import { OPEN_STATUSES } from './claims-queue.js';
import { evidenceSection } from './claim-evidence.js';

const CLAIM = `query Claim($id: ID!) {
  claim(id: $id) {
    id status version reason description channel submittedAt decidedAt decisionNote rejectionReason overrideReason
    requestedAmount { amount currency } approvedAmount { amount currency }
    assignee { id name } submittedBy { id name } decidedBy { id name }
    customer { name email phone restricted }
    order {
      id number status planMonths devices placedAt paidAt paymentMethod
      total { amount currency } refundable { amount currency } refundedTotal { amount currency }
      activation { channel destination deliveredAt startsAt expiresAt status }
    }
    eligibility { outcome rule explanation evidenceRequired policyVersion suggestedAmount { amount currency } }
    evidence { id kind url text addedAt addedBy { name } file { fileName contentType size downloadUrl } }
    events { id kind note at actor { id name } }
    payouts { id status method initiatedAt expectedLatest externalReference amount { amount currency } }
  }
}`;

const UPDATES = 'subscription { claimUpdated { id version } }';

/** A <dl> from [term, description] pairs; empty descriptions are left out. */
function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, d]) => d !== null && d !== undefined && d !== '').map(([t, d]) => [h('dt', null, t), h('dd', null, d)]));
}

function section(id, title, ...content) {
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...content);
}

function orderSection(claim) {
  const o = claim.order;
  const a = o.activation;
  return section(
    'order-h',
    'Order',
    facts([
      ['Number', o.number],
      ['Customer', `${claim.customer.name || ''} ${claim.customer.email}`.trim()],
      ['Customer restricted', claim.customer.restricted ? 'Yes (chargeback without prior contact)' : null],
      ['Plan', `${o.planMonths} month${o.planMonths === 1 ? '' : 's'}, ${o.devices} device${o.devices === 1 ? '' : 's'}`],
      ['Total', money(o.total)],
      ['Refundable now', money(o.refundable)],
      ['Refunded so far', money(o.refundedTotal)],
      ['Order status', words(o.status)],
      ['Payment', words(o.paymentMethod)],
      ['Placed', when(o.placedAt)],
      ['Paid', o.paidAt ? when(o.paidAt) : 'Not paid'],
    ]),
    h('h3', null, 'Activation'),
    a
      ? facts([
        ['Status', words(a.status)],
        ['Sent by', `${words(a.channel)} to ${a.destination}`],
        ['Delivered', a.deliveredAt ? when(a.deliveredAt) : 'Not delivered yet'],
        ['Runs', a.startsAt ? `${day(a.startsAt)} to ${day(a.expiresAt)}` : null],
      ])
      : h('p', null, 'No activation recorded: the service was not delivered.'),
  );
}

function eligibilitySection(claim) {
  const e = claim.eligibility;
  return section(
    'eligibility-h',
    'Eligibility',
    facts([
      ['Outcome', words(e.outcome)],
      ['Rule', h('code', null, e.rule)],
      ['Explanation', e.explanation],
      ['Suggested amount', money(e.suggestedAmount)],
      ['Evidence required', e.evidenceRequired ? `Yes (${claim.evidence.length ? 'added' : 'none yet'})` : 'No'],
      ['Policy version', String(e.policyVersion)],
    ]),
  );
}

function timelineSection(claim) {
  const items = claim.events.map((e) =>
    h(
      'li',
      null,
      h('time', { datetime: e.at }, when(e.at)),
      ` ${words(e.kind)}${e.actor ? ` by ${e.actor.name}` : ''}`,
      e.note ? h('p', { class: 'event-note' }, e.note) : null,
    ),
  );
  return section('timeline-h', 'Timeline', items.length ? h('ol', { class: 'timeline' }, items) : h('p', null, 'Nothing yet.'));
}

function notesSection(claim) {
  const notes = claim.events.filter((e) => e.kind === 'note_added' && e.note);
  return section(
    'notes-h',
    'Notes',
    notes.length
      ? h('ul', { class: 'notes' }, notes.map((n) => h('li', null, h('p', null, n.note), h('p', { class: 'meta' }, `${n.actor ? n.actor.name : 'System'}, ${when(n.at)}`))))
      : h('p', null, 'No notes yet.'),
  );
}

function payoutsSection(claim) {
  if (!claim.payouts.length) return null;
  return section(
    'payouts-h',
    'Payouts',
    table('Payouts of this claim', ['Amount', 'Status', 'Method', 'Initiated', 'Expected by', 'Reference'], claim.payouts.map((p) => [
      money(p.amount), badge(p.status), words(p.method), when(p.initiatedAt), day(p.expectedLatest), p.externalReference || '—',
    ])),
  );
}

/** The claim's status, where tests and people look for it (data-field="status"). */
function statusBadge(status) {
  const el = badge(status);
  el.dataset.field = 'status';
  return el;
}

function summary(claim) {
  return facts([
    ['Status', statusBadge(claim.status)],
    ['Reason', words(claim.reason)],
    ['Channel', words(claim.channel)],
    ['Description', claim.description],
    ['Requested', money(claim.requestedAmount)],
    ['Approved', claim.approvedAmount ? money(claim.approvedAmount) : null],
    ['Assigned to', claim.assignee ? claim.assignee.name : 'Nobody'],
    ['Submitted', `${when(claim.submittedAt)}${claim.submittedBy ? ` by ${claim.submittedBy.name}` : ''}`],
    ['Decided', claim.decidedAt ? `${when(claim.decidedAt)}${claim.decidedBy ? ` by ${claim.decidedBy.name}` : ''}` : null],
    ['Rejection reason', claim.rejectionReason ? words(claim.rejectionReason) : null],
    ['Decision note', claim.decisionNote],
    ['Override reason', claim.overrideReason],
  ]);
}

export default {
  title: 'Claim',
  async render(main, { params, me }) {
    const id = params[0];
    const alerts = alertArea();
    const status = statusRegion();
    const body = h('div', { class: 'claim' });
    let claim = null;
    let dispose = () => {};
    let stale = false;

    async function load({ announce } = {}) {
      try {
        const data = await gql(CLAIM, { id });
        claim = data.claim;
      } catch (err) {
        if (!alerts.el.isConnected) body.append(alerts.el);
        alerts.show(err);
        return;
      }
      dispose();
      if (!claim) {
        replace(body, h('h1', null, 'Claim not found'), h('p', null, 'No claim has this id. '), h('a', { href: '#/claims' }, 'Back to the claims queue'));
        return;
      }
      alerts.clear();
      const context = { rule: claim.eligibility.rule, explanation: claim.eligibility.explanation };
      const evidence = evidenceSection(claim, me, {
        // Evidence may be added in any open state (DESIGN.md "Claim lifecycle").
        canAdd: OPEN_STATUSES.includes(claim.status) && hasAny(me, CAN.handleClaims),
        onAdded: () => load(),
      });
      dispose = evidence.dispose;
      replace(
        body,
        h('p', { class: 'breadcrumb' }, h('a', { href: '#/claims' }, 'Claims queue')),
        h('h1', { tabindex: '-1' }, `Claim for order ${claim.order.number}`),
        summary(claim),
        actionBar(claim, me, { reload: () => load(), alerts, context }),
        alerts.el,
        orderSection(claim),
        eligibilitySection(claim),
        evidence.el,
        timelineSection(claim),
        notesSection(claim),
        payoutsSection(claim),
      );
      // Re-rendering removed the element that had focus (it fell back to
      // <body>): keep keyboard users on the page, at its heading.
      if (!document.activeElement || document.activeElement === document.body) body.querySelector('h1').focus();
      if (announce) status.announce(announce);
    }

    const onChange = (data) => {
      const changed = data.claimUpdated;
      if (!claim || changed.id !== claim.id || changed.version <= claim.version) return;
      if (document.querySelector('dialog[open]')) {
        stale = true;
        return;
      }
      load({ announce: 'This claim was updated' });
    };
    const stop = live.subscribe(UPDATES, {}, { onNext: onChange, onReconnect: () => load(), onError: () => {} });
    // Without live updates (socket down), a way to re-read the claim by hand.
    const refresh = h('button', { type: 'button', hidden: true, onclick: () => load() }, 'Refresh');
    const unwatch = live.onStatus((state) => {
      refresh.hidden = state !== 'offline';
    });
    const onDialogClosed = () => {
      if (stale && !document.querySelector('dialog[open]')) {
        stale = false;
        load({ announce: 'This claim was updated' });
      }
    };
    document.addEventListener('close', onDialogClosed, true);

    // The live region stays in place across re-renders, so announcements are read.
    main.append(h('div', { class: 'toolbar' }, status.el, refresh), body);
    body.append(h('h1', null, 'Claim'), h('p', null, 'Loading…'));
    await load();
    return () => {
      stop();
      unwatch();
      dispose();
      document.removeEventListener('close', onDialogClosed, true);
    };
  },
};
