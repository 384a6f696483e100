// A small client of the graphql-transport-ws protocol (the one the server
// speaks at /graphql/ws, see api/src/http/ws.rs): one socket for the whole
// console, opened while some page listens, subscriptions re-sent after a
// reconnect, pings to notice a dead connection. Delivery is at most once and
// not replayed, so after a reconnect each listener is told to re-query.

import { gql, session } from './api.js';

const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;
const CLOSE_IDLE_AFTER_MS = 2_000;
// Close codes of ws.rs: the token was missing, refused or is no longer valid.
const TOKEN_REFUSED = 4403;

let socket = null;
let acknowledged = false;
let attempts = 0;
let nextId = 1;
let retryTimer = null;
let idleTimer = null;
let pingTimer = null;
let pongTimer = null;
let state = 'offline';
const subscriptions = new Map();
const statusListeners = new Set();

function setState(next) {
  state = next;
  for (const fn of statusListeners) fn(state);
}

function sendJson(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function sendSubscribe(id, sub) {
  sendJson({ id, type: 'subscribe', payload: { query: sub.query, variables: sub.variables } });
}

function stopTimers() {
  clearInterval(pingTimer);
  clearTimeout(pongTimer);
  pingTimer = pongTimer = null;
}

function connect() {
  clearTimeout(retryTimer);
  if (socket || !session.token) return;
  setState('connecting');
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql/ws`;
  const ws = new WebSocket(url, 'graphql-transport-ws');
  socket = ws;
  acknowledged = false;
  ws.addEventListener('open', () => {
    sendJson({ type: 'connection_init', payload: { authorization: `Bearer ${session.token}` } });
  });
  ws.addEventListener('message', (event) => onMessage(ws, event));
  ws.addEventListener('close', (event) => onClose(ws, event));
}

function onMessage(ws, event) {
  if (ws !== socket) return;
  let message;
  try {
    message = JSON.parse(event.data);
  } catch {
    return;
  }
  const sub = message.id && subscriptions.get(message.id);
  switch (message.type) {
    case 'connection_ack': {
      const reconnected = attempts > 0;
      acknowledged = true;
      attempts = 0;
      setState('live');
      for (const [id, s] of subscriptions) sendSubscribe(id, s);
      if (reconnected) for (const s of subscriptions.values()) s.onReconnect?.();
      pingTimer = setInterval(() => {
        sendJson({ type: 'ping' });
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => ws.close(), PONG_WITHIN_MS);
      }, PING_EVERY_MS);
      break;
    }
    case 'ping':
      sendJson({ type: 'pong' });
      break;
    case 'pong':
      clearTimeout(pongTimer);
      break;
    case 'next':
      if (sub && message.payload && message.payload.data) sub.onNext(message.payload.data);
      break;
    case 'error':
      if (sub) {
        subscriptions.delete(message.id);
        sub.onError?.(message.payload);
      }
      break;
    case 'complete':
      subscriptions.delete(message.id);
      break;
    default:
      break;
  }
}

function onClose(ws, event) {
  if (ws !== socket) return;
  socket = null;
  stopTimers();
  setState('offline');
  if (subscriptions.size === 0 || !session.token) return;
  if (event.code === TOKEN_REFUSED) {
    // Expired, revoked or changed roles: a plain request tells which, and
    // sends the person to sign in when the token is dead.
    gql('{ me { id } }').catch(() => {});
  }
  attempts += 1;
  const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempts - 1)) * (0.75 + Math.random() / 2);
  retryTimer = setTimeout(connect, delay);
}

/**
 * Starts a subscription; `onNext(data)` runs for each event, `onReconnect()`
 * after the socket came back (events may have been missed). Returns a
 * function that ends it.
 */
export function subscribe(query, variables, { onNext, onError, onReconnect }) {
  const id = String(nextId++);
  const sub = { query, variables, onNext, onError, onReconnect };
  subscriptions.set(id, sub);
  clearTimeout(idleTimer);
  if (!socket) connect();
  else if (acknowledged) sendSubscribe(id, sub);
  return () => {
    if (!subscriptions.delete(id)) return;
    sendJson({ id, type: 'complete' });
    if (subscriptions.size === 0) {
      // Pages come and go; keep the socket a moment for the next one.
      idleTimer = setTimeout(() => close(), CLOSE_IDLE_AFTER_MS);
    }
  };
}

/** Calls `fn(state)` now and on each change: 'connecting', 'live' or 'offline'. */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(state);
  return () => statusListeners.delete(fn);
}

/** Closes the socket (signing out, or nobody listening). */
export function close() {
  clearTimeout(retryTimer);
  clearTimeout(idleTimer);
  stopTimers();
  attempts = 0;
  if (subscriptions.size === 0 || !session.token) subscriptions.clear();
  const ws = socket;
  socket = null;
  setState('offline');
  if (!ws) return;
  // Closing a socket still connecting makes the browser log a warning; let
  // it open first.
  if (ws.readyState === WebSocket.CONNECTING) ws.addEventListener('open', () => ws.close(1000, 'done'));
  else ws.close(1000, 'done');
}
