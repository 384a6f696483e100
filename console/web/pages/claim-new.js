// Log a new claim for an order, found by its number. While the form is
// filled in, the order and a dry run of the eligibility rules are shown, so
// the agent knows the likely outcome before submitting.

import { h, replace } from '../lib/dom.js';
import { describe, gql } from '../lib/api.js';
import { money, moneyInput, words } from '../lib/format.js';
import { alertArea, field, select } from '../lib/ui.js';
import { CLAIM_REASONS } from './claims-queue.js';

const CHANNELS = ['WEBSITE', 'EMAIL', 'WHATSAPP', 'PHONE', 'OTHER'];

const ORDER = `query Order($number: String!) {
  orderByNumber(number: $number) {
    id number status total { amount currency } refundable { amount currency }
    customer { name email }
  }
}`;
const ASSESS = `query Assess($orderId: ID!, $reason: ClaimReason!) {
  assessRefund(orderId: $orderId, reason: $reason) {
    outcome rule explanation evidenceRequired suggestedAmount { amount currency }
  }
}`;
const SUBMIT = `mutation Submit($input: SubmitClaimInput!) { submitClaim(input: $input) { id } }`;

export default {
  title: 'New claim',
  render(main, { navigate }) {
    const alerts = alertArea();
    const number = h('input', { type: 'text', name: 'orderNumber', required: true, autocomplete: 'off' });
    const reason = select('reason', [['', 'Choose a reason'], ...CLAIM_REASONS]);
    reason.required = true;
    const channel = select('channel', CHANNELS, 'EMAIL');
    const description = h('textarea', { name: 'description', rows: 4, required: true });
    const amount = h('input', { type: 'text', name: 'requestedAmount', inputMode: 'decimal', autocomplete: 'off' });
    const preview = h('div', { class: 'preview', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Submit claim');
    let order = null;

    async function findOrder() {
      const wanted = number.value.trim();
      if (!wanted) {
        order = null;
        preview.replaceChildren();
        return null;
      }
      if (order && order.number === wanted) return order;
      try {
        order = (await gql(ORDER, { number: wanted })).orderByNumber;
      } catch (err) {
        order = null;
        replace(preview, h('p', null, describe(err)));
        return null;
      }
      if (!order) replace(preview, h('p', null, `No order has the number ${wanted}.`));
      return order;
    }

    async function showPreview() {
      const o = await findOrder();
      if (!o) return;
      const lines = [
        h('p', null, `Order ${o.number}: ${o.customer.name || o.customer.email}, ${money(o.total)}, ${words(o.status)}; still refundable ${money(o.refundable)}.`),
      ];
      if (reason.value) {
        try {
          const a = (await gql(ASSESS, { orderId: o.id, reason: reason.value })).assessRefund;
          lines.push(h('p', null, `If submitted now: ${words(a.outcome)} (rule ${a.rule}), suggested ${money(a.suggestedAmount)}. ${a.explanation}${a.evidenceRequired ? ' Evidence will be required.' : ''}`));
        } catch (err) {
          lines.push(h('p', null, describe(err)));
        }
      }
      replace(preview, ...lines);
    }

    const form = h(
      'form',
      { class: 'stack' },
      field('Order number', number),
      field('Reason', reason),
      field('Channel', channel, 'How the customer asked.'),
      field('Description', description, 'What the customer says went wrong.'),
      field('Requested amount', amount, 'Optional, in the order’s currency, like 12.50. Empty: everything still refundable.'),
      preview,
      alerts.el,
      submit,
    );
    number.addEventListener('change', showPreview);
    reason.addEventListener('change', showPreview);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alerts.clear();
      submit.disabled = true;
      try {
        const o = await findOrder();
        if (!o) {
          alerts.message(number.value.trim() ? `No order has the number ${number.value.trim()}.` : 'Enter the order number.');
          return;
        }
        const input = { orderId: o.id, reason: reason.value, channel: channel.value, description: description.value.trim() };
        if (amount.value.trim()) input.requestedAmount = moneyInput(amount.value, o.total.currency);
        const { submitClaim } = await gql(SUBMIT, { input });
        navigate(`/claims/${submitClaim.id}`);
      } catch (err) {
        alerts.show(err);
      } finally {
        submit.disabled = false;
      }
    });
    main.append(h('section', { class: 'narrow' }, h('h1', null, 'New claim'), form));
  },
};
