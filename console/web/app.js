// Boots the console: the page frame (header, main navigation, main), and a
// hash router that checks the session and the role before it renders a page.
// Hash routing keeps the server's job to serving one page and its files.

import { h, replace } from './lib/dom.js';
import { describe, gql, session } from './lib/api.js';
import * as live from './lib/live.js';
import { CAN, hasAny, roleList } from './lib/roles.js';
import signIn from './pages/sign-in.js';
import claimsQueue from './pages/claims-queue.js';
import claimNew from './pages/claim-new.js';
import claimDetail from './pages/claim-detail.js';
import payouts from './pages/payouts.js';
import chargebacks from './pages/chargebacks.js';
import reports from './pages/reports.js';
import staff from './pages/staff.js';
import webhooks from './pages/webhooks.js';
import inbound from './pages/inbound.js';
import audit from './pages/audit.js';

// Order matters: /claims/new before /claims/<id>.
const ROUTES = [
  { path: /^\/sign-in$/, page: signIn, public: true },
  { path: /^\/claims$/, page: claimsQueue, roles: CAN.readClaims },
  { path: /^\/claims\/new$/, page: claimNew, roles: CAN.handleClaims },
  { path: /^\/claims\/([^/]+)$/, page: claimDetail, roles: CAN.readClaims },
  { path: /^\/payouts$/, page: payouts, roles: CAN.viewPayouts },
  { path: /^\/chargebacks$/, page: chargebacks, roles: CAN.readClaims },
  { path: /^\/reports$/, page: reports, roles: CAN.report },
  { path: /^\/staff$/, page: staff, roles: CAN.admin },
  { path: /^\/webhooks$/, page: webhooks, roles: CAN.admin },
  { path: /^\/inbound$/, page: inbound, roles: CAN.admin },
  { path: /^\/audit$/, page: audit, roles: CAN.readAudit },
];

const NAV = [
  ['Claims', '/claims', CAN.readClaims],
  ['Payouts', '/payouts', CAN.viewPayouts],
  ['Chargebacks', '/chargebacks', CAN.readClaims],
  ['Reports', '/reports', CAN.report],
  ['Staff', '/staff', CAN.admin],
  ['Webhooks', '/webhooks', CAN.admin],
  ['Inbound', '/inbound', CAN.admin],
  ['Audit log', '/audit', CAN.readAudit],
];

const header = h('header', { class: 'app-header' });
const main = h('main', { id: 'main', tabindex: '-1' });
let cleanup = null;
let renderCount = 0;

/** The current route as "/path?query", the form `next=` keeps. */
function currentRoute() {
  return location.hash.slice(1) || '/';
}

function parse(route) {
  const [path, query = ''] = route.split('?');
  return { path, query: new URLSearchParams(query) };
}

/** Goes to a route ("/claims/…"); the router renders it. */
export function navigate(route) {
  location.hash = `#${route}`;
}

function drawHeader(path) {
  const brand = h('a', { class: 'brand', href: session.me ? '#/claims' : '#/sign-in' }, 'Refund Desk');
  if (!session.me) {
    replace(header, brand);
    return;
  }
  const links = NAV.filter(([, , roles]) => hasAny(session.me, roles)).map(([label, route]) =>
    h('li', null, h('a', { href: `#${route}`, 'aria-current': path.startsWith(route) ? 'page' : null }, label)),
  );
  const signOut = h('button', { type: 'button', class: 'link-button', onclick: signOutNow }, 'Sign out');
  replace(
    header,
    brand,
    h(
      'nav',
      { 'aria-label': 'Main' },
      h('ul', { class: 'nav-links' }, links),
      h(
        'div',
        { class: 'who' },
        h('span', { class: 'who-name' }, session.me.name),
        h('span', { class: 'who-roles' }, ` (${roleList(session.me.roles)})`),
        signOut,
      ),
    ),
  );
}

async function signOutNow() {
  // Forgotten by the tab at once; `logout` then revokes the person's tokens
  // on the server too, not just this tab's copy.
  const token = session.token;
  session.clear();
  live.close();
  try {
    await gql('mutation { logout }', {}, { token });
  } catch {
    // Already invalid: nothing more to revoke.
  }
  if (!session.token) navigate('/sign-in');
}

function notAllowed(roles) {
  return [
    h('h1', null, 'Not available to your role'),
    h('p', null, `This page needs the role ${roleList(roles)}. You are signed in as ${roleList(session.me.roles)}.`),
  ];
}

async function render() {
  const count = ++renderCount;
  const route = currentRoute();
  const { path, query } = parse(route);
  if (path === '/' || path === '') {
    location.replace(session.token ? '#/claims' : '#/sign-in');
    return;
  }
  const match = ROUTES.map((r) => ({ r, m: r.path.exec(path) })).find((x) => x.m);
  if (match && !match.r.public && !session.token) {
    location.replace(`#/sign-in?next=${encodeURIComponent(route)}`);
    return;
  }
  if (session.token && !session.me && !(match && match.r.public)) {
    try {
      session.me = (await gql('{ me { id name email roles } }')).me;
    } catch (err) {
      // UNAUTHENTICATED has already sent the person to sign in.
      if (err.code !== 'UNAUTHENTICATED' && count === renderCount) {
        main.replaceChildren(h('h1', null, 'Refund Desk is not answering'), h('div', { role: 'alert', class: 'alert' }, describe(err)));
      }
      return;
    }
    if (count !== renderCount) return;
  }
  if (cleanup) cleanup();
  cleanup = null;
  // A dialog lives on <body>, outside the page: leaving the page closes it
  // (a modal left open would make the next page, sign-in included, inert).
  document.querySelectorAll('dialog[open]').forEach((d) => d.close());
  drawHeader(path);
  main.replaceChildren();
  let title = 'Page not found';
  if (!match) {
    main.append(h('h1', null, title), h('p', null, 'There is no page here. '), h('a', { href: '#/claims' }, 'Go to the claims queue'));
  } else if (match.r.roles && !hasAny(session.me, match.r.roles)) {
    title = 'Not available to your role';
    main.append(...notAllowed(match.r.roles));
  } else {
    title = match.r.page.title;
    const ctx = { params: match.m.slice(1), query, me: session.me, navigate, route };
    const result = await match.r.page.render(main, ctx);
    if (count !== renderCount) {
      if (typeof result === 'function') result();
      return;
    }
    cleanup = typeof result === 'function' ? result : null;
  }
  const heading = main.querySelector('h1');
  document.title = `${heading ? heading.textContent : title} — Refund Desk`;
  // Moving focus to the new heading tells screen reader users the page changed.
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

window.addEventListener('refund-desk:signed-out', () => {
  live.close();
  const route = currentRoute();
  if (!route.startsWith('/sign-in')) location.replace(`#/sign-in?next=${encodeURIComponent(route)}`);
});
window.addEventListener('hashchange', render);

const skip = h('a', { class: 'skip-link', href: '#main' }, 'Skip to main content');
// A real jump to #main would be read as a route; move focus instead.
skip.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
document.body.replaceChildren(skip, header, main);
render();
