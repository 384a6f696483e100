// The audit log: who did what, newest first, with filters and paging.

import { h, replace } from '../lib/dom.js';
import { gql, session } from '../lib/api.js';
import { CAN, hasAny } from '../lib/roles.js';
import { when } from '../lib/format.js';
import { alertArea, field, pager, select, table } from '../lib/ui.js';

const PAGE_SIZE = 50;
const LIST = `query Audit($first: Int, $after: String, $filter: AuditFilter) {
  auditLog(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id action entityType entityId at requestId details actor { name } }
  }
}`;

function details(value) {
  if (value === null || value === undefined) return '—';
  const text = JSON.stringify(value, null, 1);
  return text.length < 80 ? h('code', null, text) : h('details', null, h('summary', null, 'Details'), h('pre', null, text));
}

export default {
  title: 'Audit log',
  render(main) {
    const alerts = alertArea();
    const results = h('div');
    const action = h('input', { type: 'text', name: 'action', autocomplete: 'off' });
    const entity = h('input', { type: 'text', name: 'entityId', autocomplete: 'off' });
    const actor = select('actorId', [['', 'Anyone']]);
    // Staff by name rather than by id; the first hundred cover a back office.
    // Only ADMIN may list staff: ANALYST reads the log without this filter.
    const listsStaff = hasAny(session.me, CAN.admin);
    if (listsStaff) {
      gql('{ staff(first: 100) { nodes { id name } } }')
        .then(({ staff }) => actor.append(...staff.nodes.map((s) => h('option', { value: s.id }, s.name))))
        .catch((err) => alerts.show(err));
    }
    const from = h('input', { type: 'datetime-local', name: 'from' });
    const to = h('input', { type: 'datetime-local', name: 'to' });
    let cursors = [null];

    function filter() {
      const f = {};
      if (action.value.trim()) f.action = action.value.trim();
      if (entity.value.trim()) f.entityId = entity.value.trim();
      if (actor.value) f.actorId = actor.value;
      if (from.value) f.from = new Date(from.value).toISOString();
      if (to.value) f.to = new Date(to.value).toISOString();
      return f;
    }

    async function load() {
      alerts.clear();
      try {
        const { auditLog } = await gql(LIST, { first: PAGE_SIZE, after: cursors.at(-1), filter: filter() });
        replace(
          results,
          h('p', { class: 'count' }, `${auditLog.totalCount} entr${auditLog.totalCount === 1 ? 'y' : 'ies'}`),
          table('Audit log', ['When', 'Who', 'Action', 'Entity', 'Details', 'Request'], auditLog.nodes.map((e) => [
            when(e.at),
            e.actor ? e.actor.name : 'System or integration',
            e.action,
            [h('span', null, e.entityType), ' ', e.entityType === 'claim' ? h('a', { href: `#/claims/${e.entityId}` }, h('code', { class: 'id' }, e.entityId)) : h('code', { class: 'id' }, e.entityId)],
            details(e.details),
            e.requestId ? h('code', { class: 'id' }, e.requestId) : '—',
          ]), 'No entries match.'),
          pager(cursors, auditLog.pageInfo, load),
        );
      } catch (err) {
        alerts.show(err);
      }
    }

    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Filter the audit log' },
      field('Action', action, 'Exact, e.g. claim.approve or staff.set_roles'),
      field('Entity id', entity),
      listsStaff ? field('Who', actor) : null,
      field('From', from),
      field('To', to),
      h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      cursors = [null];
      load();
    });
    main.append(h('h1', null, 'Audit log'), form, alerts.el, results);
    load();
  },
};
