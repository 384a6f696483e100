//! `GET /graphql/ws`: GraphQL subscriptions over the `graphql-transport-ws`
//! protocol (the one the `graphql-ws` client library speaks).
//!
//! Our own small protocol loop rather than async-graphql's `WebSocket`,
//! because the design needs what that one does not do: close code 4403 for
//! a missing or refused token and 4408 when `connection_init` does not come
//! within 10 s (it closes with 1002 and 3008), 4400 for a malformed message
//! and 4409 for a reused id, at most [`MAX_SUBSCRIPTIONS`] per socket, the
//! token checked again every few seconds so that an expired, revoked or
//! changed one ends the socket, the same document checks as `POST /graphql`,
//! and a bound on what a client that never reads can hold. Each subscription
//! still runs through `Schema::execute_stream`, so validation, guards and
//! limits are async-graphql's.
//!
//! Who may send what: anyone may open the socket; nothing but
//! `connection_init`, `ping` and `pong` is read before a valid token; frames
//! are at most [`MAX_FRAME_BYTES`]; a message we cannot read closes the
//! socket (4400); each socket costs one task and at most the transport's
//! small send queue, and a socket that does not take its messages within
//! [`SEND_TIMEOUT`] is dropped.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use async_graphql::parser::types::OperationType;
use futures_util::stream::{self, AbortHandle, Abortable, SelectAll, Stream, StreamExt};
use serde_json::{json, Value};

use super::auth::{authenticate, Credentials};
use super::observe::request_id;
use super::response::{error_response, finish_errors, is_request_error};
use super::AppState;
use crate::auth::AuthState;
use crate::error::{code, AppError};
use crate::graphql::context::{ClientAddr, RequestId, RequestScope};
use crate::graphql::limits;
use crate::graphql::loaders::Loaders;

/// The sub-protocol spoken here.
pub const PROTOCOL: &str = "graphql-transport-ws";
/// `connection_init` must come within this.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Active subscriptions per socket.
pub const MAX_SUBSCRIPTIONS: usize = 20;
/// Largest frame read (a subscribe message is a query and its variables).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How often the token is checked again.
pub const RECHECK: Duration = Duration::from_secs(5);
/// A client that does not take a message within this is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The upgrade: refused (503) when the process already holds
/// `WS_MAX_CONNECTIONS` sockets.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let offers_protocol = req
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == PROTOCOL));
    if !offers_protocol {
        return error_response(
            StatusCode::BAD_REQUEST,
            "the WebSocket sub-protocol must be graphql-transport-ws",
            code::BAD_USER_INPUT,
        );
    }
    let Some(slot) = Slot::take(&state) else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many WebSocket connections; try again later",
            code::RATE_LIMITED,
        );
    };
    let (mut response, session, messages) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(err) => return err.error_response(),
    };
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(PROTOCOL),
    );
    let client = ClientAddr::of(&req);
    let connection = Connection {
        state: state.into_inner(),
        session,
        rid: request_id(&req),
        client,
        _slot: slot,
    };
    actix_web::rt::spawn(connection.run(messages.max_frame_size(MAX_FRAME_BYTES)));
    response
}

/// One of the process's `WS_MAX_CONNECTIONS`, given back when dropped.
struct Slot(Arc<AppState>);

impl Slot {
    fn take(state: &web::Data<AppState>) -> Option<Slot> {
        let open = &state.metrics.ws_connections;
        let max = i64::try_from(state.settings.ws_max_connections).unwrap_or(i64::MAX);
        let mut now = open.load(Ordering::Relaxed);
        loop {
            if now >= max {
                return None;
            }
            match open.compare_exchange(now, now + 1, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Some(Slot(state.clone().into_inner())),
                Err(actual) => now = actual,
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.metrics.ws_connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why the socket ends.
struct Close(u16, &'static str);

const BAD_MESSAGE: Close = Close(4400, "Invalid message received");
const FORBIDDEN: Close = Close(4403, "Forbidden");

/// What a subscription stream yields, tagged with its id.
enum Out {
    Next(String, Box<async_graphql::Response>),
    Done(String),
}

type Outputs = SelectAll<Pin<Box<dyn Stream<Item = Out> + Send>>>;

struct Connection {
    state: Arc<AppState>,
    session: Session,
    rid: RequestId,
    client: ClientAddr,
    _slot: Slot,
}

/// The accepted caller: the token as sent, and who it names.
struct Caller {
    token: String,
    auth: AuthState,
}

impl Connection {
    async fn run(mut self, mut messages: MessageStream) {
        let close = match self.serve(&mut messages).await {
            Ok(()) => None,
            Err(Some(Close(code, why))) => Some((code, why)),
            // The client went away or stopped reading: nothing to say.
            Err(None) => return,
        };
        let reason = close.map(|(code, why)| CloseReason {
            code: CloseCode::Other(code),
            description: Some(why.to_string()),
        });
        let _ = tokio::time::timeout(SEND_TIMEOUT, self.session.close(reason)).await;
    }

    async fn send(&mut self, message: Value) -> Result<(), Option<Close>> {
        match tokio::time::timeout(SEND_TIMEOUT, self.session.text(message.to_string())).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(None),
        }
    }

    /// The protocol, until the socket ends; `Err(Some(..))` closes it with
    /// that code.
    async fn serve(&mut self, messages: &mut MessageStream) -> Result<(), Option<Close>> {
        let caller = self.handshake(messages).await?;
        let mut outputs: Outputs = SelectAll::new();
        let mut active: HashMap<String, AbortHandle> = HashMap::new();
        let mut recheck = tokio::time::interval(RECHECK);
        recheck.tick().await;
        loop {
            tokio::select! {
                message = messages.recv() => {
                    let Some(text) = self.text_of(message).await? else { continue };
                    let message: Value = serde_json::from_str(&text).map_err(|_| Some(BAD_MESSAGE))?;
                    match message["type"].as_str() {
                        Some("subscribe") => {
                            let id = message["id"].as_str().filter(|id| !id.is_empty()).ok_or(Some(BAD_MESSAGE))?.to_string();
                            if active.contains_key(&id) {
                                return Err(Some(Close(4409, "Subscriber for this id already exists")));
                            }
                            if active.len() >= MAX_SUBSCRIPTIONS {
                                self.send(error_message(&id, &format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection"), code::QUERY_TOO_COMPLEX)).await?;
                                continue;
                            }
                            let payload = message.get("payload").cloned().ok_or(Some(BAD_MESSAGE))?;
                            match self.start(&id, payload, &caller).await {
                                Ok(stream) => {
                                    let (handle, registration) = AbortHandle::new_pair();
                                    active.insert(id, handle);
                                    outputs.push(Box::pin(Abortable::new(stream, registration)));
                                }
                                Err(errors) => self.send(json!({ "type": "error", "id": id, "payload": errors })).await?,
                            }
                        }
                        Some("complete") => {
                            let id = message["id"].as_str().ok_or(Some(BAD_MESSAGE))?;
                            if let Some(handle) = active.remove(id) {
                                handle.abort();
                            }
                        }
                        Some("ping") => self.send(json!({ "type": "pong" })).await?,
                        Some("pong") => {}
                        Some("connection_init") => return Err(Some(Close(4429, "Too many initialisation requests"))),
                        _ => return Err(Some(BAD_MESSAGE)),
                    }
                }
                Some(out) = outputs.next(), if !outputs.is_empty() => match out {
                    Out::Next(id, response) if active.contains_key(&id) => {
                        if is_request_error(&response) {
                            // Refused by validation: the protocol's `error`,
                            // which also ends the subscription.
                            active.remove(&id);
                            let errors = serde_json::to_value(&response.errors).unwrap_or(Value::Null);
                            self.send(json!({ "type": "error", "id": id, "payload": errors })).await?;
                        } else {
                            let payload = serde_json::to_value(&response).unwrap_or(Value::Null);
                            self.send(json!({ "type": "next", "id": id, "payload": payload })).await?;
                        }
                    }
                    Out::Done(id) => {
                        // A subscription the client completed itself was
                        // aborted and ends without a word.
                        if active.remove(&id).is_some() {
                            self.send(json!({ "type": "complete", "id": id })).await?;
                        }
                    }
                    Out::Next(..) => {}
                },
                _ = recheck.tick() => {
                    if !self.still_valid(&caller).await {
                        return Err(Some(FORBIDDEN));
                    }
                }
            }
        }
    }

    /// The text of a frame; `None` for frames that carry no message (pings
    /// of the transport). Binary frames and protocol errors end the socket.
    async fn text_of(
        &mut self,
        message: Option<Result<Message, actix_ws::ProtocolError>>,
    ) -> Result<Option<String>, Option<Close>> {
        match message {
            None | Some(Ok(Message::Close(_))) => Err(None),
            Some(Ok(Message::Text(text))) => Ok(Some(text.to_string())),
            Some(Ok(Message::Ping(bytes))) => {
                let _ = tokio::time::timeout(SEND_TIMEOUT, self.session.pong(&bytes)).await;
                Ok(None)
            }
            Some(Ok(Message::Pong(_))) => Ok(None),
            Some(Ok(Message::Binary(_) | Message::Continuation(_) | Message::Nop)) => {
                Err(Some(BAD_MESSAGE))
            }
            Some(Err(actix_ws::ProtocolError::Overflow)) => {
                Err(Some(Close(1009, "Message too big")))
            }
            Some(Err(_)) => Err(Some(BAD_MESSAGE)),
        }
    }

    /// Waits for `connection_init` (4408 after [`INIT_TIMEOUT`]) and checks
    /// its token (4403); acknowledges it.
    async fn handshake(&mut self, messages: &mut MessageStream) -> Result<Caller, Option<Close>> {
        let deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
        loop {
            let message = tokio::select! {
                m = messages.recv() => m,
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(Some(Close(4408, "Connection initialisation timeout")));
                }
            };
            let Some(text) = self.text_of(message).await? else {
                continue;
            };
            let message: Value = serde_json::from_str(&text).map_err(|_| Some(BAD_MESSAGE))?;
            match message["type"].as_str() {
                Some("connection_init") => {
                    let token = message["payload"]["authorization"]
                        .as_str()
                        .and_then(|h| {
                            h.strip_prefix("Bearer ")
                                .or_else(|| h.strip_prefix("bearer "))
                        })
                        .map(str::trim)
                        .ok_or(Some(FORBIDDEN))?
                        .to_string();
                    let auth = self.authenticate(&token).await.ok_or(Some(FORBIDDEN))?;
                    self.send(json!({ "type": "connection_ack" })).await?;
                    return Ok(Caller { token, auth });
                }
                Some("ping") => self.send(json!({ "type": "pong" })).await?,
                Some("pong") => {}
                Some("subscribe") => return Err(Some(Close(4401, "Unauthorized"))),
                _ => return Err(Some(BAD_MESSAGE)),
            }
        }
    }

    /// The staff member a token names, when it verifies and is still theirs.
    async fn authenticate(&self, token: &str) -> Option<AuthState> {
        let (staff_id, version) = self.state.tokens.verify(token)?;
        match authenticate(Credentials::Signed { staff_id, version }, &self.state).await {
            Ok(auth @ AuthState::Staff(_)) => Some(auth),
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(cause = %err.describe(), "could not check a WebSocket token");
                None
            }
        }
    }

    /// The token has not expired and still names an active staff member
    /// with the same roles (a role change or a logout moves the token
    /// version on).
    async fn still_valid(&self, caller: &Caller) -> bool {
        match (self.authenticate(&caller.token).await, &caller.auth) {
            (Some(AuthState::Staff(now)), AuthState::Staff(then)) => now.roles == then.roles,
            _ => false,
        }
    }

    /// Checks and starts one subscription; a refusal is the protocol's
    /// `error` message payload.
    async fn start(
        &self,
        id: &str,
        payload: Value,
        caller: &Caller,
    ) -> Result<Pin<Box<dyn Stream<Item = Out> + Send>>, Value> {
        let refuse = |err: AppError| -> Value {
            let response = finish_errors(
                super::response::refusal(&err),
                &self.rid,
                &self.state.metrics,
                None,
            );
            serde_json::to_value(&response.errors).unwrap_or(Value::Null)
        };
        let mut gql: async_graphql::Request = serde_json::from_value(payload)
            .map_err(|_| refuse(AppError::bad_input("the payload must be a GraphQL request")))?;
        if gql.query.contains('\0') {
            return Err(refuse(AppError::bad_input(
                "text must not contain NUL characters",
            )));
        }
        limits::check_text(&gql.query).map_err(refuse)?;
        let operation_name = gql.operation_name.clone();
        let doc = gql
            .parsed_query()
            .map_err(|e| refuse(AppError::bad_input(e.message)))?;
        limits::check_document(doc).map_err(refuse)?;
        let subscription = doc.operations.iter().any(|(name, op)| {
            let selected = match (&operation_name, name) {
                (Some(wanted), Some(name)) => wanted == name.as_str(),
                (None, _) => true,
                (Some(_), None) => false,
            };
            selected && op.node.ty == OperationType::Subscription
        });
        if !subscription {
            return Err(refuse(AppError::bad_input(
                "only subscriptions are served over this socket; send queries and mutations to POST /graphql",
            )));
        }
        let query = std::mem::take(&mut gql.query);
        let gql = RequestScope {
            auth: caller.auth.clone(),
            request_id: self.rid.clone(),
            client: self.client,
            // Every event is read afresh: loaders keep nothing between them.
            loaders: Loaders::new(&self.state.db, false),
        }
        .attach(gql);
        let state = self.state.clone();
        let rid = self.rid.clone();
        let id = id.to_string();
        let done = id.clone();
        let responses = self.state.schema.execute_stream(gql).map(move |response| {
            let response = finish_errors(response, &rid, &state.metrics, Some(&query));
            Out::Next(id.clone(), Box::new(response))
        });
        Ok(Box::pin(
            responses.chain(stream::once(async move { Out::Done(done) })),
        ))
    }
}

/// An `error` message for one subscription.
fn error_message(id: &str, message: &str, code: &str) -> Value {
    json!({ "type": "error", "id": id, "payload": [{ "message": message, "extensions": { "code": code } }] })
}
