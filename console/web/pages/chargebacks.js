// Chargebacks reported by the bank: the list for everyone who reads claims;
// recording one and resolving it (won or lost) for Finance and Admin.

import { h, replace } from '../lib/dom.js';
import { gql } from '../lib/api.js';
import { money, moneyInput, when, words } from '../lib/format.js';
import { CAN, hasAny } from '../lib/roles.js';
import { actionButton, alertArea, badge, field, pager, select, submitForm, table } from '../lib/ui.js';

const PAGE_SIZE = 25;
const LIST = `query Chargebacks($first: Int, $after: String, $status: [ChargebackStatus!]) {
  chargebacks(first: $first, after: $after, status: $status) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id reasonCode providerReference openedAt priorContact actionTaken overlapsRefund status resolvedAt
      amount { amount currency }
      order { number }
    }
  }
}`;
const ORDER = 'query ($number: String!) { orderByNumber(number: $number) { id total { currency } } }';
const RECORD = 'mutation ($input: RecordChargebackInput!) { recordChargeback(input: $input) { id } }';
const RESOLVE = 'mutation ($id: ID!, $outcome: ChargebackStatus!) { resolveChargeback(chargebackId: $id, outcome: $outcome) { id } }';

function recordForm(alerts, onRecorded) {
  const number = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const amount = h('input', { type: 'text', inputMode: 'decimal', required: true, autocomplete: 'off' });
  const reason = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const reference = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const opened = h('input', { type: 'datetime-local', required: true });
  const form = h(
    'form',
    { class: 'stack narrow', 'aria-labelledby': 'record-h' },
    h('h2', { id: 'record-h' }, 'Record a chargeback'),
    field('Order number', number),
    field('Amount', amount, 'In the order’s currency, like 12.50.'),
    field('Reason code', reason, 'The bank’s reason, e.g. fraudulent.'),
    field('Provider reference', reference, 'The dispute id; recording it again returns the same chargeback.'),
    field('Opened at', opened, 'Your local time.'),
    h('button', { type: 'submit', class: 'primary' }, 'Record chargeback'),
  );
  submitForm(form, alerts, async () => {
    const { orderByNumber: order } = await gql(ORDER, { number: number.value.trim() });
    if (!order) {
      alerts.message(`No order has the number ${number.value.trim()}.`);
      return;
    }
    await gql(RECORD, {
      input: {
        orderId: order.id,
        amount: moneyInput(amount.value, order.total.currency),
        reasonCode: reason.value.trim(),
        providerReference: reference.value.trim(),
        openedAt: new Date(opened.value).toISOString(),
      },
    });
    form.reset();
    onRecorded();
  });
  return form;
}

export default {
  title: 'Chargebacks',
  render(main, { me }) {
    const alerts = alertArea();
    const results = h('div');
    const mayAct = hasAny(me, CAN.moveMoney);
    const status = select('status', [['', 'All'], 'OPEN', 'WON', 'LOST']);
    let cursors = [null];

    async function load() {
      try {
        const { chargebacks } = await gql(LIST, { first: PAGE_SIZE, after: cursors.at(-1), status: status.value ? [status.value] : null });
        const rows = chargebacks.nodes.map((c) => [
          c.order.number,
          money(c.amount),
          c.reasonCode,
          c.providerReference,
          when(c.openedAt),
          c.priorContact ? 'Yes' : 'No',
          words(c.actionTaken),
          c.overlapsRefund ? 'Yes: answer the dispute with the refund’s proof' : 'No',
          h('span', null, badge(c.status), c.resolvedAt ? ` ${when(c.resolvedAt)}` : ''),
          ...(mayAct
            ? [c.status === 'OPEN'
              ? h('div', { class: 'row-actions' },
                actionButton('Mark won', alerts, () => gql(RESOLVE, { id: c.id, outcome: 'WON' }).then(load)),
                actionButton('Mark lost', alerts, () => gql(RESOLVE, { id: c.id, outcome: 'LOST' }).then(load)))
              : '—']
            : []),
        ]);
        replace(
          results,
          table('Chargebacks', ['Order', 'Amount', 'Reason code', 'Provider reference', 'Opened', 'Prior contact', 'Action taken', 'Overlaps a refund', 'Status', ...(mayAct ? ['Actions'] : [])], rows, 'No chargebacks.'),
          pager(cursors, chargebacks.pageInfo, load),
        );
      } catch (err) {
        alerts.show(err);
      }
    }
    status.addEventListener('change', () => {
      cursors = [null];
      load();
    });

    main.append(
      h('h1', null, 'Chargebacks'),
      h('div', { class: 'filters' }, field('Status', status)),
      alerts.el,
      results,
      mayAct ? recordForm(alerts, load) : null,
    );
    load();
  },
};
