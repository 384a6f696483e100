// Outbound webhooks: the endpoints that receive Refund Desk's events, their
// deliveries, and redelivery. A secret is shown once, when it is created or
// rotated; the API never shows it again.

import { h, replace } from '../lib/dom.js';
import { gql } from '../lib/api.js';
import { when, words } from '../lib/format.js';
import { actionButton, alertArea, badge, field, openDialog, pager, select, submitForm, table } from '../lib/ui.js';

const EVENT_TYPES = [
  'ORDER_CREATED', 'ORDER_PAID', 'ACTIVATION_DELIVERED', 'CLAIM_SUBMITTED', 'CLAIM_ASSIGNED',
  'CLAIM_INFO_REQUESTED', 'CLAIM_EVIDENCE_ADDED', 'CLAIM_NOTE_ADDED', 'CLAIM_AWAITING_SECOND_APPROVAL',
  'CLAIM_APPROVED', 'CLAIM_REJECTED', 'CLAIM_WITHDRAWN', 'CLAIM_REFUNDED', 'PAYOUT_CREATED', 'PAYOUT_SENT',
  'PAYOUT_SETTLED', 'PAYOUT_FAILED', 'PAYOUT_CANCELLED', 'CHARGEBACK_OPENED', 'CHARGEBACK_RESOLVED',
  'CUSTOMER_RESTRICTED', 'CUSTOMER_RESTRICTION_LIFTED', 'POLICY_PUBLISHED',
];
const ENDPOINT_FIELDS = 'id url description eventTypes enabled disabledReason createdAt';
const ENDPOINTS = `{ webhookEndpoints { ${ENDPOINT_FIELDS} } }`;
const DELIVERIES = `query Deliveries($first: Int, $after: String, $status: [DeliveryStatus!]) {
  webhookDeliveries(first: $first, after: $after, status: $status) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id status attempts lastAttemptAt nextAttemptAt responseStatus lastError
      endpoint { url } event { type subjectType occurredAt }
    }
  }
}`;
const M = {
  create: 'mutation ($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url } } }',
  update: 'mutation ($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id } }',
  remove: 'mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) }',
  rotate: 'mutation ($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id url } } }',
  redeliver: 'mutation ($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }',
};

/** Shows a new secret once, in a dialog the person closes after copying it. */
function showSecret(result) {
  const secret = h('input', { type: 'text', readOnly: true, value: result.secret, class: 'secret' });
  const dialog = openDialog({
    title: 'Signing secret',
    intro: `The secret for ${result.endpoint.url}. Copy it now: it is not shown again.`,
    fields: [field('Secret', secret)],
    confirm: 'I have copied it',
    onConfirm: async () => {},
  });
  secret.select();
  return dialog;
}

function endpointForm(alerts, onCreated) {
  const url = h('input', { type: 'url', required: true, autocomplete: 'off' });
  const description = h('input', { type: 'text', autocomplete: 'off' });
  const types = h('select', { multiple: true, size: 8 }, EVENT_TYPES.map((t) => h('option', { value: t }, words(t))));
  const form = h(
    'form',
    { class: 'stack narrow', 'aria-labelledby': 'endpoint-h' },
    h('h2', { id: 'endpoint-h' }, 'Add an endpoint'),
    field('URL', url),
    field('Description', description),
    field('Event types', types, 'None selected: every type.'),
    h('button', { type: 'submit', class: 'primary' }, 'Create endpoint'),
  );
  submitForm(form, alerts, async () => {
    const input = { url: url.value.trim(), description: description.value.trim() || null, eventTypes: [...types.selectedOptions].map((o) => o.value) };
    const { createWebhookEndpoint } = await gql(M.create, { input });
    form.reset();
    onCreated();
    showSecret(createWebhookEndpoint);
  });
  return form;
}

export default {
  title: 'Webhooks',
  render(main) {
    const alerts = alertArea();
    const endpoints = h('div');
    const deliveries = h('div');
    const deliveryStatus = select('status', [['', 'All'], 'PENDING', 'SUCCEEDED', 'FAILED']);
    let cursors = [null];

    async function loadEndpoints() {
      try {
        const { webhookEndpoints } = await gql(ENDPOINTS);
        const input = (e, enabled) => ({ url: e.url, description: e.description, eventTypes: e.eventTypes, enabled });
        replace(endpoints, table('Endpoints', ['URL', 'Description', 'Event types', 'State', 'Created', 'Actions'], webhookEndpoints.map((e) => [
          e.url,
          e.description || '—',
          e.eventTypes.length ? e.eventTypes.map(words).join(', ') : 'All',
          e.enabled ? 'Enabled' : `Disabled${e.disabledReason ? `: ${e.disabledReason}` : ''}`,
          when(e.createdAt),
          h('div', { class: 'row-actions' },
            actionButton(e.enabled ? 'Disable' : 'Enable', alerts, () => gql(M.update, { id: e.id, input: input(e, !e.enabled) }).then(loadEndpoints)),
            actionButton('Rotate secret', alerts, async () => showSecret((await gql(M.rotate, { id: e.id })).rotateWebhookSecret)),
            h('button', { type: 'button', onclick: () => openDialog({
              title: `Delete the endpoint ${e.url}?`,
              intro: 'It receives no more deliveries.',
              confirm: 'Confirm delete',
              onConfirm: () => gql(M.remove, { id: e.id }).then(loadEndpoints),
            }) }, 'Delete')),
        ]), 'No endpoints yet.'));
      } catch (err) {
        alerts.show(err);
      }
    }

    async function loadDeliveries() {
      try {
        const { webhookDeliveries } = await gql(DELIVERIES, { first: 25, after: cursors.at(-1), status: deliveryStatus.value ? [deliveryStatus.value] : null });
        replace(
          deliveries,
          table('Deliveries', ['Event', 'Endpoint', 'Status', 'Attempts', 'Last attempt', 'Next attempt', 'Response', 'Actions'], webhookDeliveries.nodes.map((d) => [
            `${words(d.event.type)} (${when(d.event.occurredAt)})`,
            d.endpoint.url,
            badge(d.status),
            String(d.attempts),
            when(d.lastAttemptAt),
            when(d.nextAttemptAt),
            [d.responseStatus ? `HTTP ${d.responseStatus}` : '', d.lastError ? ` ${d.lastError}` : ''].join('') || '—',
            actionButton('Redeliver', alerts, () => gql(M.redeliver, { id: d.id }).then(loadDeliveries)),
          ]), 'No deliveries.'),
          pager(cursors, webhookDeliveries.pageInfo, loadDeliveries),
        );
      } catch (err) {
        alerts.show(err);
      }
    }
    deliveryStatus.addEventListener('change', () => {
      cursors = [null];
      loadDeliveries();
    });

    main.append(
      h('h1', null, 'Webhooks'),
      alerts.el,
      endpoints,
      endpointForm(alerts, loadEndpoints),
      h('section', { 'aria-labelledby': 'deliveries-h' },
        h('h2', { id: 'deliveries-h' }, 'Deliveries'),
        h('div', { class: 'filters' }, field('Delivery status', deliveryStatus), h('button', { type: 'button', onclick: () => loadDeliveries() }, 'Refresh')),
        deliveries),
    );
    loadEndpoints();
    loadDeliveries();
  },
};
