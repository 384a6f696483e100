// Messages received from WooCommerce and Stripe. One that needs attention
// (unknown SKU, unknown order…) is replayed after its cause is fixed.

import { h, replace } from '../lib/dom.js';
import { gql } from '../lib/api.js';
import { when, words } from '../lib/format.js';
import { actionButton, alertArea, badge, field, pager, select, table } from '../lib/ui.js';

const LIST = `query Inbound($first: Int, $after: String, $source: IntegrationSource, $status: [InboundStatus!]) {
  inboundMessages(first: $first, after: $after, source: $source, status: $status) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id source externalId topic receivedAt status error attempts subjectId }
  }
}`;
const REPLAY = 'mutation ($id: ID!) { replayInboundMessage(id: $id) { id status error } }';

export default {
  title: 'Inbound messages',
  render(main) {
    const alerts = alertArea();
    const results = h('div');
    const source = select('source', [['', 'All'], ['WOOCOMMERCE', 'WooCommerce'], ['STRIPE', 'Stripe']]);
    const status = select('status', [['', 'All'], 'NEEDS_ATTENTION', 'PROCESSED', 'IGNORED']);
    let cursors = [null];

    async function load() {
      try {
        const { inboundMessages } = await gql(LIST, {
          first: 25, after: cursors.at(-1), source: source.value || null, status: status.value ? [status.value] : null,
        });
        replace(
          results,
          h('p', { class: 'count' }, `${inboundMessages.totalCount} message${inboundMessages.totalCount === 1 ? '' : 's'}`),
          table('Inbound messages', ['Received', 'Source', 'Topic', 'External id', 'Status', 'Attempts', 'Problem', 'Actions'], inboundMessages.nodes.map((m) => [
            when(m.receivedAt),
            m.source === 'WOOCOMMERCE' ? 'WooCommerce' : words(m.source),
            m.topic,
            m.externalId,
            badge(m.status),
            String(m.attempts),
            m.error || '—',
            m.status === 'NEEDS_ATTENTION'
              ? actionButton('Replay', alerts, async () => {
                const { replayInboundMessage: r } = await gql(REPLAY, { id: m.id });
                if (r.status === 'NEEDS_ATTENTION') alerts.message(`Still needs attention: ${r.error || 'the cause is not fixed yet'}.`);
                await load();
              })
              : '—',
          ]), 'No messages.'),
          pager(cursors, inboundMessages.pageInfo, load),
        );
      } catch (err) {
        alerts.show(err);
      }
    }
    for (const s of [source, status]) {
      s.addEventListener('change', () => {
        cursors = [null];
        load();
      });
    }

    main.append(
      h('h1', null, 'Inbound messages'),
      h('div', { class: 'filters' }, field('Source', source), field('Status', status), h('button', { type: 'button', onclick: () => load() }, 'Refresh')),
      alerts.el,
      results,
    );
    load();
  },
};
