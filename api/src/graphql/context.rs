//! Access to what every resolver needs: the database, the caller, the request.

use std::net::IpAddr;
use std::sync::Arc;

use crate::service::db::Db;
use async_graphql::{Context, ID};
use uuid::Uuid;

use crate::auth::{AuthState, Principal};
use crate::domain::page::{CursorKey, ListCursors, PageRequest};
use crate::error::{AppError, AppResult};
use crate::graphql::loaders::Loaders;
use crate::service::RequestContext;

/// The request id assigned by the HTTP layer (or taken from `x-request-id`).
/// Shared: every step of a request that passes it on clones a pointer, not
/// the text.
#[derive(Clone, Debug)]
pub struct RequestId(pub Arc<str>);

/// The client's address (the TCP peer; forwarded headers are not trusted).
/// `None` when the transport has no peer address.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub fn of(req: &actix_web::HttpRequest) -> Self {
        ClientAddr(req.peer_addr().map(|a| a.ip()))
    }
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => f.write_str("unknown"),
        }
    }
}

/// What one request brings to its resolvers: its caller, id, client address
/// and loaders. async-graphql boxes every Context entry in a map of its own
/// per request, so these travel as one entry rather than four.
pub struct RequestScope {
    pub auth: AuthState,
    pub request_id: RequestId,
    pub client: ClientAddr,
    pub loaders: Loaders,
}

impl RequestScope {
    /// Gives `req` this scope.
    pub fn attach(self, req: async_graphql::Request) -> async_graphql::Request {
        req.data(self)
    }
}

/// The current request's scope; `None` only for a request built without one
/// (a wiring bug). Guards and `principal` then refuse the caller as
/// unauthenticated, loaders fail as internal, and the rest go on without it
/// (`login` records the address as `unknown`).
pub fn scope<'a>(ctx: &'a Context<'_>) -> Option<&'a RequestScope> {
    ctx.data::<RequestScope>().ok()
}

/// Who is calling: unauthenticated when the request has no scope.
pub fn auth<'a>(ctx: &'a Context<'_>) -> AppResult<&'a AuthState> {
    scope(ctx).map(|s| &s.auth).ok_or(AppError::Unauthenticated)
}

pub fn db<'a>(ctx: &'a Context<'_>) -> &'a Db {
    // Inserted by the schema builder for every server; absence is a wiring bug
    // caught by the first test that runs a query.
    ctx.data_unchecked::<Db>()
}

pub fn principal<'a>(ctx: &'a Context<'_>) -> AppResult<&'a Principal> {
    auth(ctx)?.principal()
}

/// The audit context of the current request.
/// A fresh one per resolver call, so each mutation is one change.
pub fn request_context(ctx: &Context<'_>) -> RequestContext {
    let request_id = scope(ctx).map(|s| s.request_id.0.to_string());
    let mut out = match principal(ctx) {
        Ok(p) => RequestContext::staff(p.staff_id, request_id),
        Err(_) => RequestContext {
            request_id,
            ..RequestContext::default()
        },
    };
    out.faults = ctx
        .data::<std::sync::Arc<crate::service::faults::FaultPlan>>()
        .ok()
        .cloned();
    out
}

/// Parses a GraphQL `ID` made by this API.
pub fn parse_id(id: &ID) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input("malformed id"))
}

/// The page a connection field asks for (the total is counted only when
/// the query selects `totalCount`), and the cursors that page's connection
/// is written with.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> AppResult<(PageRequest, ListCursors)> {
    let cursors = cursor_key(ctx)?;
    let mut page = PageRequest::parse(first, after.as_deref(), last, before.as_deref(), &cursors)
        .map_err(|e| AppError::BadUserInput(e.0))?;
    page.count_total = ctx.look_ahead().field("totalCount").exists();
    Ok((page, cursors))
}

/// The cursors of the list this field pages, signed with this deployment's
/// key (schema data) and bound to the field's name.
fn cursor_key(ctx: &Context<'_>) -> AppResult<ListCursors> {
    let key = ctx
        .data::<CursorKey>()
        .map_err(|_| AppError::internal("the schema was built without a cursor key"))?;
    Ok(key.for_list(ctx.field().name()))
}
