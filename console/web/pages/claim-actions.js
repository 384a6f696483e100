// The action buttons of a claim and their dialogs. A button is shown only
// when the person's role and the claim's state allow it (the API checks both
// again). Decisions send expectedVersion, so acting on a stale view gives
// CONFLICT ("Someone else changed this claim") instead of a silent overwrite.

import { h } from '../lib/dom.js';
import { gql } from '../lib/api.js';
import { currencyDigits, minorToDecimal, moneyInput, parseMinor, money } from '../lib/format.js';
import { CAN, hasAny } from '../lib/roles.js';
import { actionButton, field, openDialog, select } from '../lib/ui.js';
import { OPEN_STATUSES } from './claims-queue.js';

const REJECTION_REASONS = ['NOT_ELIGIBLE', 'OUTSIDE_REFUND_WINDOW', 'INSUFFICIENT_EVIDENCE', 'DUPLICATE_CLAIM', 'SUSPECTED_ABUSE', 'CHARGEBACK_OPENED', 'OTHER'];

const M = {
  assign: 'mutation ($id: ID!, $me: ID!) { assignClaim(claimId: $id, assigneeId: $me) { id } }',
  info: 'mutation ($id: ID!, $message: String!) { requestClaimInfo(claimId: $id, message: $message) { id } }',
  note: 'mutation ($id: ID!, $note: String!) { addClaimNote(claimId: $id, note: $note) { id } }',
  withdraw: 'mutation ($id: ID!, $note: String!) { withdrawClaim(claimId: $id, note: $note) { id } }',
  approve: 'mutation ($input: ApproveClaimInput!) { approveClaim(input: $input) { id status } }',
  reject: 'mutation ($input: RejectClaimInput!) { rejectClaim(input: $input) { id status } }',
};

/** True when approving needs a written override (DESIGN.md "Approve checks"). */
export function overrideRequired(claim) {
  const e = claim.eligibility;
  return e.outcome === 'NOT_ELIGIBLE' || (e.evidenceRequired && claim.evidence.length === 0);
}

function firstApprover(claim) {
  const event = claim.events.findLast((e) => e.kind === 'first_approval');
  return event && event.actor;
}

// The API does not expose the first approver's amount before the final
// approval; its first_approval note states it ("… 500.00 EUR is at or above
// …"), so a second approver sees it filled in. Otherwise the suggested
// amount; a different one is refused in words (BAD_USER_INPUT).
function firstApprovedAmount(claim) {
  const event = claim.events.findLast((e) => e.kind === 'first_approval');
  const match = event && event.note && /^needs a second approver: ([\d.]+) ([A-Z]{3}) is at or above/.exec(event.note);
  return match && match[2] === claim.order.total.currency ? match[1] : suggested(claim).amount;
}

function suggested(claim) {
  const s = claim.eligibility.suggestedAmount;
  return parseMinor(s.amount, s.currency) > 0n ? s : claim.requestedAmount;
}

function textarea(name, required) {
  return h('textarea', { name, rows: 3, required });
}

function approveDialog(claim, { reload, context }) {
  const second = claim.status === 'AWAITING_SECOND_APPROVAL';
  const currency = claim.order.total.currency;
  const start = second ? firstApprovedAmount(claim) : suggested(claim).amount;
  const amount = h('input', { type: 'text', name: 'amount', inputMode: 'decimal', value: start, required: true, autocomplete: 'off' });
  const needsOverride = overrideRequired(claim);
  const override = textarea('overrideReason', needsOverride);
  const note = textarea('note', false);
  const why = claim.eligibility.outcome === 'NOT_ELIGIBLE'
    ? `Required: the claim is not eligible (${claim.eligibility.rule}). Say why it is refunded anyway, e.g. local consumer law.`
    : needsOverride
      ? 'Required: the policy asks for evidence and none was added. Say why it is approved without.'
      : 'Only needed to approve against the policy.';
  const digits = currencyDigits(currency);
  openDialog({
    title: second ? 'Second approval' : 'Approve refund',
    intro: second
      ? `You are the second approver. ${firstApprover(claim) ? `${firstApprover(claim).name} approved first. ` : ''}Confirm the same amount.`
      : `Suggested ${money(claim.eligibility.suggestedAmount)} (policy version ${claim.eligibility.policyVersion}); refundable now ${money(claim.order.refundable)}.`,
    fields: [
      field('Amount', amount, `In ${currency}, like ${minorToDecimal(digits ? 1250n : 12n, currency)}.${second ? ' The same amount as the first approval.' : ''}`),
      field('Override reason', override, why),
      field('Note', note),
    ],
    confirm: 'Confirm approval',
    context,
    onReload: reload,
    async onConfirm() {
      const input = { claimId: claim.id, expectedVersion: claim.version };
      input.amount = moneyInput(amount.value, currency);
      if (override.value.trim()) input.overrideReason = override.value.trim();
      if (note.value.trim()) input.note = note.value.trim();
      await gql(M.approve, { input });
      reload();
    },
  });
}

function rejectDialog(claim, { reload }) {
  const reason = select('reason', REJECTION_REASONS, claim.eligibility.outcome === 'NOT_ELIGIBLE' ? 'NOT_ELIGIBLE' : 'OTHER');
  const note = textarea('note', true);
  openDialog({
    title: 'Reject claim',
    fields: [field('Reason', reason), field('Note', note, 'Shown in the timeline; say why.')],
    confirm: 'Confirm rejection',
    onReload: reload,
    async onConfirm() {
      await gql(M.reject, { input: { claimId: claim.id, reason: reason.value, note: note.value.trim(), expectedVersion: claim.version } });
      reload();
    },
  });
}

function textDialog(claim, { title, label, hint, confirm, mutation, variable, reload }) {
  const text = textarea(variable, true);
  openDialog({
    title,
    fields: [field(label, text, hint)],
    confirm,
    onReload: reload,
    async onConfirm() {
      await gql(mutation, { id: claim.id, [variable]: text.value.trim() });
      reload();
    },
  });
}

/**
 * The action bar. `reload()` re-reads the claim; `alerts` shows errors of the
 * buttons that act at once (Assign to me).
 */
export function actionBar(claim, me, { reload, alerts, context }) {
  const status = claim.status;
  const open = OPEN_STATUSES.includes(status);
  const handler = hasAny(me, CAN.handleClaims);
  const decider = hasAny(me, CAN.decideClaims);
  const buttons = [];
  const notes = [];
  const dialogButton = (label, onclick) => h('button', { type: 'button', onclick }, label);

  if (handler && open && (!claim.assignee || claim.assignee.id !== me.id)) {
    buttons.push(actionButton('Assign to me', alerts, async () => {
      await gql(M.assign, { id: claim.id, me: me.id });
      reload();
    }));
  }
  if (handler && (status === 'SUBMITTED' || status === 'UNDER_REVIEW')) {
    buttons.push(dialogButton('Request info', () => textDialog(claim, {
      title: 'Request information', label: 'Message', hint: 'What the customer should send (screenshots, error messages…).',
      confirm: 'Send request', mutation: M.info, variable: 'message', reload,
    })));
  }
  if (decider && open) {
    // Separation of duties: the submitter and the first approver may not approve.
    const first = firstApprover(claim);
    if (claim.submittedBy && claim.submittedBy.id === me.id) {
      notes.push('You submitted this claim, so another Refund manager or Admin must approve it.');
    } else if (status === 'AWAITING_SECOND_APPROVAL' && first && first.id === me.id) {
      notes.push('You gave the first approval; another Refund manager or Admin must give the second.');
    } else {
      buttons.push(h('button', { type: 'button', class: 'primary', onclick: () => approveDialog(claim, { reload, context }) }, 'Approve'));
    }
    buttons.push(dialogButton('Reject', () => rejectDialog(claim, { reload })));
  }
  if (handler && open) {
    buttons.push(dialogButton('Add note', () => textDialog(claim, {
      title: 'Add a note', label: 'Note', confirm: 'Save note', mutation: M.note, variable: 'note', reload,
    })));
  }
  if (handler && ['SUBMITTED', 'UNDER_REVIEW', 'NEEDS_INFO'].includes(status)) {
    buttons.push(dialogButton('Withdraw', () => textDialog(claim, {
      title: 'Withdraw claim', label: 'Note', hint: 'Why the claim is withdrawn (e.g. the customer asked).',
      confirm: 'Confirm withdrawal', mutation: M.withdraw, variable: 'note', reload,
    })));
  }
  if (!buttons.length && !notes.length) return null;
  return h(
    'div',
    { class: 'claim-actions', role: 'group', 'aria-label': 'Actions' },
    h('div', { class: 'actions' }, buttons),
    notes.map((n) => h('p', { class: 'hint' }, n)),
  );
}
