// Staff admin: who can sign in, with which roles. Changing roles or
// deactivating someone revokes their tokens at once (the API does that).

import { h, replace } from '../lib/dom.js';
import { gql } from '../lib/api.js';
import { when } from '../lib/format.js';
import { ROLES, ROLE_NAMES } from '../lib/roles.js';
import { alertArea, field, newId, openDialog, pager, submitForm, table } from '../lib/ui.js';

const PAGE_SIZE = 50;
const LIST = `query Staff($first: Int, $after: String) {
  staff(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id name email roles active createdAt }
  }
}`;
const CREATE = 'mutation ($input: CreateStaffInput!) { createStaff(input: $input) { id } }';
const SET_ROLES = 'mutation ($id: ID!, $roles: [Role!]!) { setStaffRoles(staffId: $id, roles: $roles) { id } }';
const DEACTIVATE = 'mutation ($id: ID!) { deactivateStaff(staffId: $id) { id } }';

/** A fieldset of role checkboxes; `chosen()` reads the ticked ones. */
function roleBoxes(selected = []) {
  const boxes = ROLES.map((role) => h('input', { type: 'checkbox', name: 'roles', value: role, checked: selected.includes(role), id: newId('role') }));
  const el = h(
    'fieldset',
    { class: 'checks' },
    h('legend', null, 'Roles'),
    boxes.map((b) => h('div', { class: 'field-check' }, b, h('label', { for: b.id }, ROLE_NAMES[b.value]))),
  );
  return { el, chosen: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

function createForm(alerts, onCreated) {
  const name = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const email = h('input', { type: 'email', required: true, autocomplete: 'off' });
  const password = h('input', { type: 'password', required: true, autocomplete: 'new-password', minLength: 12 });
  const roles = roleBoxes();
  const form = h(
    'form',
    { class: 'stack narrow', 'aria-labelledby': 'create-h' },
    h('h2', { id: 'create-h' }, 'Add a staff member'),
    field('Name', name),
    field('Email', email),
    field('Password', password, 'At least 12 characters.'),
    roles.el,
    h('button', { type: 'submit', class: 'primary' }, 'Create staff member'),
  );
  submitForm(form, alerts, async () => {
    if (!roles.chosen().length) {
      alerts.message('Choose at least one role.');
      return;
    }
    await gql(CREATE, { input: { name: name.value.trim(), email: email.value.trim(), password: password.value, roles: roles.chosen() } });
    form.reset();
    onCreated();
  });
  return form;
}

export default {
  title: 'Staff',
  render(main, { me }) {
    const alerts = alertArea();
    const results = h('div');
    let cursors = [null];

    function editRoles(s) {
      const roles = roleBoxes(s.roles);
      openDialog({
        title: `Roles of ${s.name}`,
        intro: 'Their current sessions end when the roles change.',
        fields: [roles.el],
        confirm: 'Save roles',
        async onConfirm() {
          await gql(SET_ROLES, { id: s.id, roles: roles.chosen() });
          load();
        },
      });
    }

    function deactivate(s) {
      openDialog({
        title: `Deactivate ${s.name}?`,
        intro: 'They are signed out everywhere at once and cannot sign in again.',
        confirm: 'Confirm deactivation',
        async onConfirm() {
          await gql(DEACTIVATE, { id: s.id });
          load();
        },
      });
    }

    async function load() {
      try {
        const { staff } = await gql(LIST, { first: PAGE_SIZE, after: cursors.at(-1) });
        const rows = staff.nodes.map((s) => [
          s.name,
          s.email,
          s.roles.map((r) => ROLE_NAMES[r] || r).join(', ') || 'None',
          s.active ? 'Active' : 'Deactivated',
          when(s.createdAt),
          s.active && s.id !== me.id
            ? h('div', { class: 'row-actions' },
              h('button', { type: 'button', onclick: () => editRoles(s) }, 'Edit roles'),
              h('button', { type: 'button', onclick: () => deactivate(s) }, 'Deactivate'))
            : '—',
        ]);
        replace(
          results,
          table('Staff', ['Name', 'Email', 'Roles', 'State', 'Since', 'Actions'], rows),
          pager(cursors, staff.pageInfo, load),
        );
      } catch (err) {
        alerts.show(err);
      }
    }

    main.append(h('h1', null, 'Staff'), alerts.el, results, createForm(alerts, load));
    load();
  },
};
