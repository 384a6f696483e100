// The one way the console talks to the server: GraphQL over POST /graphql,
// plus the few plain HTTP routes (evidence files, CSV exports) that need the
// same Bearer token. The token lives in sessionStorage only, so closing the
// tab signs out and no cookie exists for a cross-site request to ride on.

import { minorToDecimal, money } from './format.js';
import { CAN, hasAny, roleList, rolesFor } from './roles.js';

const TOKEN_KEY = 'refund-desk.token';

export const session = {
  /** The signed-in staff member ({id, name, email, roles}) once known. */
  me: null,
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  start(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    session.me = null;
  },
};

/** An error the API reported, with its contract code (`extensions.code`). */
export class ApiError extends Error {
  constructor(code, message, { rule = null, field = null } = {}) {
    super(message);
    this.code = code;
    this.rule = rule;
    this.field = field;
  }
}

function authHeaders(extra = {}) {
  const token = session.token;
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

// A rejected token sends the person back to sign in (app.js listens) —
// unless it is no longer the session's token (a sign-out or a new sign-in
// happened while the request was under way).
function expired(used) {
  if (used && used !== session.token) return;
  session.clear();
  window.dispatchEvent(new CustomEvent('refund-desk:signed-out'));
}

async function send(init, used) {
  let res;
  try {
    res = await fetch('/graphql', { method: 'POST', ...init });
  } catch {
    throw new ApiError('NETWORK', 'could not reach the server');
  }
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(res.status === 401 ? 'UNAUTHENTICATED' : 'NETWORK', `the server answered ${res.status}`);
  }
  const first = body.errors && body.errors[0];
  if (first) {
    const ext = first.extensions || {};
    const err = new ApiError(ext.code || 'INTERNAL_SERVER_ERROR', first.message, {
      rule: ext.rule || null,
      field: (first.path && first.path[0]) || null,
    });
    if (err.code === 'UNAUTHENTICATED') expired(used);
    throw err;
  }
  return body.data;
}

/**
 * Runs a query or mutation; resolves to `data`, rejects with an ApiError.
 * `token` overrides the session's (signing out uses the one it just forgot).
 */
export function gql(query, variables = {}, { token = session.token } = {}) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  return send({ headers, body: JSON.stringify({ query, variables }) }, token);
}

/**
 * A mutation with one file, per the GraphQL multipart request spec: the parts
 * `operations`, `map`, then the file, in that order (api/src/http/upload.rs
 * accepts exactly this, with the file at variables.input.file).
 */
export function gqlUpload(query, variables, file) {
  const operations = { query, variables: { ...variables, input: { ...variables.input, file: null } } };
  const form = new FormData();
  form.append('operations', JSON.stringify(operations));
  form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.append('0', file, file.name);
  // No Content-Type header: the browser writes it with the boundary.
  return send({ headers: authHeaders({ Accept: 'application/json' }), body: form }, session.token);
}

/** GETs a protected file (evidence, CSV) as a Blob, with the token. */
export async function fetchBlob(url) {
  const used = session.token;
  let res;
  try {
    res = await fetch(url, { headers: authHeaders() });
  } catch {
    throw new ApiError('NETWORK', 'could not reach the server');
  }
  if (!res.ok) {
    let code = { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' }[res.status] || 'INTERNAL_SERVER_ERROR';
    let message = `the server answered ${res.status}`;
    try {
      const body = await res.json();
      const first = body.errors && body.errors[0];
      if (first) {
        message = first.message;
        code = (first.extensions && first.extensions.code) || code;
      }
    } catch {
      // Not JSON: the status says enough.
    }
    if (code === 'UNAUTHENTICATED') expired(used);
    throw new ApiError(code, message);
  }
  return res.blob();
}

/** Downloads a protected file: fetched with the token, saved through a blob: URL. */
export async function download(url, fileName) {
  const blob = await fetchBlob(url);
  const href = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = href;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  // Give the browser a moment to start the download before letting go.
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

const CLAIM_MUTATIONS = new Set([
  'assignClaim', 'requestClaimInfo', 'addClaimEvidence', 'addClaimNote',
  'withdrawClaim', 'approveClaim', 'rejectClaim',
]);

/** "2500 minor units of EUR" (the API's wording) → "€25.00". */
function readableAmounts(text) {
  return String(text).replace(/(\d+) minor units of ([A-Z]{3})/g, (whole, minor, currency) => {
    try {
      return money({ amount: minorToDecimal(BigInt(minor), currency), currency });
    } catch {
      return whole;
    }
  });
}

function sentence(text) {
  const s = String(text || '').trim();
  if (!s) return '';
  const capital = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * An error in words a person understands. `context.explanation` is the claim's
 * eligibility explanation, shown for a POLICY_VIOLATION of its own rule.
 */
export function describe(err, context = {}) {
  if (!(err instanceof ApiError)) return sentence(err && err.message) || 'Something went wrong.';
  const me = session.me;
  switch (err.code) {
    case 'POLICY_VIOLATION': {
      const rule = err.rule ? ` (rule ${err.rule})` : '';
      const why = context.rule && context.rule === err.rule && context.explanation ? ` ${sentence(context.explanation)}` : '';
      return `The refund policy does not allow this${rule}: ${sentence(err.message)}${why}`;
    }
    case 'CONFLICT':
      return CLAIM_MUTATIONS.has(err.field)
        ? 'Someone else changed this claim. Reload it to see the change, then try again.'
        : sentence(err.message);
    case 'INVALID_TRANSITION':
      return `That is not possible in the current state: ${sentence(err.message)}${CLAIM_MUTATIONS.has(err.field) ? ' Someone else may have just changed this claim; reload to see.' : ''}`;
    case 'FORBIDDEN': {
      const needed = rolesFor(err.field);
      if (needed && !hasAny(me, needed)) {
        return `This needs the role ${roleList(needed)}. You are signed in as ${roleList(me ? me.roles : [])}.`;
      }
      if (err.field === 'approveClaim') {
        return 'You may not approve this claim: the person who submitted a claim, or gave its first approval, cannot approve it too (separation of duties). Another Refund manager or Admin must do it.';
      }
      if (err.field === null && !hasAny(me, CAN.viewEvidenceFiles)) {
        return `This needs the role ${roleList(CAN.viewEvidenceFiles)}.`;
      }
      return 'Your role does not allow this.';
    }
    case 'UNAUTHENTICATED':
      return 'Your session has ended. Sign in again.';
    case 'BAD_USER_INPUT':
      return `Please check what you entered: ${sentence(err.message)}`;
    case 'REFUND_LIMIT_EXCEEDED':
      return `That is more than can still be refunded: ${sentence(readableAmounts(err.message))}`;
    case 'CUSTOMER_RESTRICTED':
      return 'This customer is restricted from new orders (a chargeback without prior contact). An Admin can lift the restriction.';
    case 'RATE_LIMITED':
      return 'Too many attempts. Wait a minute and try again.';
    case 'NETWORK':
      return `Could not reach the server (${err.message}). Check the connection and try again.`;
    case 'INTERNAL_SERVER_ERROR':
      return `Something went wrong on the server. ${sentence(err.message)}`;
    default:
      return sentence(err.message);
  }
}

/** True for errors that a Reload of the claim resolves (someone else acted first). */
export function isStale(err) {
  return err instanceof ApiError && (err.code === 'CONFLICT' || err.code === 'INVALID_TRANSITION') && CLAIM_MUTATIONS.has(err.field);
}
