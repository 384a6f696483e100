// Small building blocks every page uses: labelled fields, tables, dialogs,
// the error alert and the live status line. Keeping them here is what keeps
// labels, roles and names consistent with the contract in console/README.md.

import { h } from './dom.js';
import { describe, isStale } from './api.js';
import { words } from './format.js';

let uid = 0;
/** A unique id for label/field pairs. */
export function newId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A labelled control: the label's `for` points at the control, so the field's
 * accessible name is exactly `label`. `hint` is read after the name.
 */
export function field(label, control, hint) {
  control.id = control.id || newId();
  const parts = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hintId = newId('hint');
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('p', { id: hintId, class: 'hint' }, hint));
  }
  return h('div', { class: control.type === 'checkbox' ? 'field field-check' : 'field' }, ...parts);
}

/** A <select>; `options` are [value, text] pairs or plain values shown in words. */
export function select(name, options, value = '') {
  return h(
    'select',
    { name },
    options.map((o) => {
      const [v, text] = Array.isArray(o) ? o : [o, words(o)];
      return h('option', { value: v, selected: v === value }, text);
    }),
  );
}

/** A status-like enum as a labelled badge: the words carry the meaning, colour only helps. */
export function badge(value) {
  return h('span', { class: `badge badge-${String(value).toLowerCase().replaceAll('_', '-')}` }, words(value));
}

/** A table with a caption; `rows` are arrays of cell contents. */
export function table(caption, headers, rows, emptyText = 'Nothing to show.') {
  const body = rows.length
    ? rows.map((cells) => h('tr', null, cells.map((c) => h('td', null, c))))
    : [h('tr', null, h('td', { colspan: headers.length, class: 'empty' }, emptyText))];
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      h('caption', null, caption),
      h('thead', null, h('tr', null, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, body),
    ),
  );
}

/**
 * Where a page shows API errors. The `role="alert"` element exists only while
 * there is an error, so there is never more than one alert to find.
 */
export function alertArea() {
  const el = h('div', { class: 'alert-slot' });
  return {
    el,
    /** Shows the error in words; a stale-claim error offers Reload. */
    show(err, { onReload, context } = {}) {
      const box = h('div', { role: 'alert', class: 'alert' }, h('p', null, describe(err, context)));
      if (onReload && isStale(err)) {
        box.append(h('button', { type: 'button', onclick: onReload }, 'Reload'));
      }
      el.replaceChildren(box);
    },
    message(text) {
      el.replaceChildren(h('div', { role: 'alert', class: 'alert' }, h('p', null, text)));
    },
    clear() {
      el.replaceChildren();
    },
  };
}

/** A polite live region; announce() makes screen readers read the text. */
export function statusRegion(className = 'live-status') {
  const el = h('p', { role: 'status', class: className });
  let timer = null;
  return {
    el,
    announce(text) {
      // Emptied first so the same words are announced again.
      el.textContent = '';
      clearTimeout(timer);
      timer = setTimeout(() => {
        el.textContent = text;
      }, 50);
    },
  };
}

/**
 * A modal form in a native <dialog> (showModal traps focus and Escape closes
 * it). `fields` are nodes; `onConfirm(form)` runs on submit and closes the
 * dialog when it resolves; an error stays in the dialog's own alert.
 * Focus returns to whatever opened it.
 */
export function openDialog({ title, fields = [], intro, confirm, onConfirm, onReload, context }) {
  const opener = document.activeElement;
  const titleId = newId('dlg');
  const errors = alertArea();
  const submit = h('button', { type: 'submit', class: 'primary' }, confirm);
  const form = h(
    'form',
    null,
    intro ? h('p', null, intro) : null,
    fields,
    errors.el,
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel')),
  );
  const dialog = h('dialog', { 'aria-labelledby': titleId }, h('h2', { id: titleId }, title), form);
  submitForm(form, errors, async () => {
    await onConfirm(form);
    dialog.close();
  }, {
    context,
    onReload: onReload && (() => {
      dialog.close();
      onReload();
    }),
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/**
 * Runs `action` when `form` is submitted: its submit buttons are disabled
 * until it ends (so a double click sends one request), and an error is shown
 * in `alerts` (with `showOptions`, e.g. a Reload offer) and focusable.
 */
export function submitForm(form, alerts, action, showOptions = {}) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const buttons = [...form.querySelectorAll('button[type=submit]')];
    buttons.forEach((b) => { b.disabled = true; });
    alerts.clear();
    try {
      await action();
    } catch (err) {
      alerts.show(err, showOptions);
      const alert = alerts.el.querySelector('[role=alert]');
      if (alert) alert.tabIndex = -1;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
}

/**
 * "Previous page" / "Next page" for a cursor-paged list. `cursors` holds the
 * `after` of every page up to the one shown (null first); `load` reads the
 * page after the last of them.
 */
export function pager(cursors, pageInfo, load) {
  const previous = () => { cursors.pop(); load(); };
  const next = () => { cursors.push(pageInfo.endCursor); load(); };
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', disabled: cursors.length <= 1, onclick: previous }, 'Previous page'),
    h('button', { type: 'button', disabled: !pageInfo.hasNextPage, onclick: next }, 'Next page'),
  );
}

/** A button that runs an async action once at a time, errors to `alerts`. */
export function actionButton(label, alerts, action, attrs = {}) {
  const button = h('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    alerts.clear();
    try {
      await action();
    } catch (err) {
      alerts.show(err);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
