// Sign in: exchanges email and password for a token, then returns to the
// page the person was sent away from (`next`).

import { h } from '../lib/dom.js';
import { gql, session } from '../lib/api.js';
import { alertArea, field } from '../lib/ui.js';

const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token staff { id name email roles } }
}`;

/** Only a route of this console ("/…"), never anything that looks like a URL. */
function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in') ? next : '/claims';
}

export default {
  title: 'Sign in',
  render(main, { query, navigate }) {
    const alerts = alertArea();
    const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
    const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
    const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
    const form = h(
      'form',
      { class: 'sign-in' },
      field('Email', email),
      field('Password', password),
      alerts.el,
      button,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      alerts.clear();
      button.disabled = true;
      try {
        const { login } = await gql(LOGIN, { email: email.value.trim(), password: password.value });
        session.start(login.token);
        session.me = login.staff;
        navigate(safeNext(query.get('next')));
      } catch (err) {
        if (err.code === 'UNAUTHENTICATED' || err.code === 'BAD_USER_INPUT') {
          alerts.message('The email or password is not right.');
        } else {
          alerts.show(err);
        }
        password.focus();
      } finally {
        button.disabled = false;
      }
    });
    const intro = query.get('next')
      ? h('p', null, 'Sign in to continue where you were.')
      : h('p', null, 'Staff sign in. Closing the tab signs you out.');
    main.append(h('section', { class: 'narrow' }, h('h1', null, 'Sign in'), intro, form));
  },
};
