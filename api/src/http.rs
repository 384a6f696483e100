//! HTTP endpoints: GraphQL (POST, and GET for queries), health, readiness,
//! metrics; plus the middleware that gives every response a request id.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use async_graphql::http::{playground_source, GraphQLPlaygroundConfig};
use async_graphql::parser::types::OperationType;
use async_graphql::{ErrorExtensionValues, ServerError};
use sea_orm::DatabaseConnection;
use serde_json::json;
use tracing::Instrument;

use crate::auth::jwt::TokenService;
use crate::auth::AuthState;
use crate::config::{Environment, Settings};
use crate::error::{code, AppError};
use crate::graphql::context::{ClientAddr, RequestId};
use crate::graphql::documents::DocumentCache;
use crate::graphql::loaders;
use crate::graphql::AppSchema;
use crate::metrics::Metrics;
use crate::service;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;
const REQUEST_ID: &str = "x-request-id";

/// Shared by every worker.
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub tokens: Arc<TokenService>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    /// Parsed documents by hash: the parse cache and persisted queries.
    pub documents: DocumentCache,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .route("/graphql", web::post().to(graphql_post))
        .route("/graphql", web::get().to(graphql_get))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route(
            "/exports/claims.csv",
            web::get().to(crate::exports::claims_csv),
        )
        .route(
            "/exports/payouts.csv",
            web::get().to(crate::exports::payouts_csv),
        )
        .route("/metrics", web::get().to(metrics));
}

/// Accepts a client's request id when it is short and plain; otherwise makes one.
fn request_id_for(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// Request id, tracing span, access metrics.
pub fn observe<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + 'static
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
{
    let request_id = request_id_for(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let span = tracing::info_span!(
        "http_request",
        method = %req.method(),
        route = %route,
        request_id = %request_id,
        status = tracing::field::Empty,
    );
    let started = Instant::now();
    let call = srv.call(req).instrument(span.clone());
    async move {
        let mut res = call.await?;
        let status = res.status().as_u16();
        span.record("status", status);
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            res.headers_mut()
                .insert(header::HeaderName::from_static(REQUEST_ID), v);
        }
        if let Some(m) = metrics {
            m.observe_request(&route, status, started.elapsed());
        }
        Ok(res)
    }
}

fn request_id(req: &HttpRequest) -> RequestId {
    req.extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(|| RequestId(uuid::Uuid::now_v7().to_string()))
}

/// A GraphQL-shaped error body for failures before execution.
fn error_response(status: actix_web::http::StatusCode, message: &str, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

async fn graphql_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false);
    // Only JSON bodies: a browser form cannot post JSON cross-site without a
    // CORS preflight, so this also defends against cross-site requests.
    if !is_json {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/json",
            code::BAD_USER_INPUT,
        );
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "malformed JSON body",
                code::BAD_USER_INPUT,
            )
        }
    };
    if value.is_array() {
        return error_response(
            StatusCode::BAD_REQUEST,
            "batched requests are not supported",
            code::BAD_USER_INPUT,
        );
    }
    let mut gql: async_graphql::Request = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "the body must be a GraphQL request object with a query string",
                code::BAD_USER_INPUT,
            )
        }
    };
    let credentials = credentials(&req, &state);
    if let Some(refusal) = attach_document(&req, &mut gql, &state, credentials) {
        return refusal;
    }
    let cache = !is_mutation(&mut gql);
    execute(&req, gql, &state, credentials, cache).await
}

async fn graphql_get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    use actix_web::http::StatusCode;
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && req.query_string().is_empty() {
        if state.settings.environment == Environment::Production {
            return HttpResponse::NotFound().finish();
        }
        return HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(playground_source(GraphQLPlaygroundConfig::new("/graphql")));
    }
    let mut gql = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(r) => r,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "malformed query string",
                code::BAD_USER_INPUT,
            )
        }
    };
    let credentials = credentials(&req, &state);
    if let Some(refusal) = attach_document(&req, &mut gql, &state, credentials) {
        return refusal;
    }
    if is_mutation(&mut gql) {
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations must be sent with POST",
            code::BAD_USER_INPUT,
        )
        .map_into_boxed_body();
    }
    execute(&req, gql, &state, credentials, true).await
}

/// Gives the request its parsed document (see `graphql::documents`); a
/// persisted-query hash the cache does not hold, or a malformed one, gets
/// the returned response (a GraphQL error) instead of execution. Only a
/// validly signed token lets the request use the cache: checking the
/// signature runs no SQL, and execution still authenticates in full.
fn attach_document(
    req: &HttpRequest,
    gql: &mut async_graphql::Request,
    state: &AppState,
    credentials: Credentials,
) -> Option<HttpResponse> {
    let trusted = matches!(credentials, Credentials::Signed { .. });
    match state.documents.attach(gql, trusted) {
        Ok(lookup) => {
            state.metrics.observe_document(lookup);
            None
        }
        Err(err) => {
            let error = async_graphql::ErrorExtensions::extend(&err);
            let response = async_graphql::Response::from_errors(vec![
                error.into_server_error(Default::default())
            ]);
            // A miss is the protocol's first step for every new document,
            // not a client mistake: it stays out of the error counts.
            let response = if err.message() == crate::graphql::documents::NOT_FOUND_MESSAGE {
                response
            } else {
                finish_errors(response, &request_id(req), &state.metrics)
            };
            Some(HttpResponse::Ok().json(response))
        }
    }
}

/// True when the operation the request would run is a mutation (or
/// subscription): GET refuses those, and their loaders must not cache.
/// Parses the document into the request, so execution does not parse it again.
fn is_mutation(req: &mut async_graphql::Request) -> bool {
    let operation_name = req.operation_name.clone();
    let Ok(doc) = req.parsed_query() else {
        return false; // execution reports the syntax error
    };
    doc.operations.iter().any(|(name, op)| {
        let selected = match (&operation_name, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected && op.node.ty != OperationType::Query
    })
}

/// What the `Authorization` header says, read without SQL: no header, a
/// token that does not verify, or a signed token's staff id and version.
#[derive(Clone, Copy)]
pub(crate) enum Credentials {
    Absent,
    Invalid,
    Signed { staff_id: uuid::Uuid, version: i32 },
}

/// Reads and verifies the bearer token (signature, issuer, audience, expiry).
pub(crate) fn credentials(req: &HttpRequest, state: &AppState) -> Credentials {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Credentials::Absent;
    };
    let token = value.to_str().ok().and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .map(str::trim)
    });
    match token.and_then(|t| state.tokens.verify(t)) {
        Some((staff_id, version)) => Credentials::Signed { staff_id, version },
        None => Credentials::Invalid,
    }
}

/// Works out who is calling: a signed token must still name an active staff
/// member whose tokens were not revoked.
pub(crate) async fn authenticate(
    credentials: Credentials,
    state: &AppState,
) -> Result<AuthState, AppError> {
    let (staff_id, version) = match credentials {
        Credentials::Absent => return Ok(AuthState::Anonymous),
        Credentials::Invalid => return Ok(AuthState::Rejected),
        Credentials::Signed { staff_id, version } => (staff_id, version),
    };
    Ok(
        match service::staff::principal_for(&state.db, staff_id, version).await? {
            Some(p) => AuthState::Staff(p),
            None => AuthState::Rejected,
        },
    )
}

/// True when the document or any variable holds a NUL character. No field
/// of the contract can contain one, and PostgreSQL cannot store it in text.
fn holds_nul(gql: &async_graphql::Request) -> bool {
    fn in_value(v: &async_graphql::Value) -> bool {
        use async_graphql::Value;
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Enum(name) => name.as_str().contains('\0'),
            Value::List(items) => items.iter().any(in_value),
            Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || in_value(v)),
            _ => false,
        }
    }
    gql.query.contains('\0')
        || gql
            .operation_name
            .as_deref()
            .is_some_and(|n| n.contains('\0'))
        || gql
            .variables
            .iter()
            .any(|(k, v)| k.contains('\0') || in_value(v))
}

/// Runs a request; `cache` lets its loaders keep what they load (queries only).
async fn execute(
    req: &HttpRequest,
    mut gql: async_graphql::Request,
    state: &AppState,
    credentials: Credentials,
    cache: bool,
) -> HttpResponse {
    let rid = request_id(req);
    if holds_nul(&gql) {
        return error_response(
            actix_web::http::StatusCode::BAD_REQUEST,
            "text must not contain NUL characters",
            code::BAD_USER_INPUT,
        );
    }
    // Parsed (or taken from the document cache) before; execution reuses it.
    let checked = gql
        .parsed_query()
        .map_or(Ok(()), crate::graphql::limits::check_aliases);
    let response = match checked {
        Err(err) => async_graphql::Response::from_errors(vec![err]),
        Ok(()) => match authenticate(credentials, state).await {
            Ok(auth) => run(req, gql.data(auth), state, &rid, cache).await,
            Err(err) => {
                let gql_err = async_graphql::ErrorExtensions::extend(&err);
                async_graphql::Response::from_errors(vec![
                    gql_err.into_server_error(Default::default())
                ])
            }
        },
    };
    let response = finish_errors(response, &rid, &state.metrics);
    HttpResponse::Ok().json(response)
}

/// Executes an authenticated request within the request timeout, in a span
/// named after its operation.
async fn run(
    req: &HttpRequest,
    gql: async_graphql::Request,
    state: &AppState,
    rid: &RequestId,
    cache: bool,
) -> async_graphql::Response {
    let client = ClientAddr(
        req.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into()),
    );
    let span = tracing::info_span!(
        "graphql_operation",
        operation = gql.operation_name.as_deref().unwrap_or("anonymous")
    );
    let gql = loaders::register(gql.data(rid.clone()).data(client), &state.db, cache);
    // Dropping the execution on timeout drops any open transaction, which
    // rolls it back: a timed-out mutation changes nothing.
    let execution = state.schema.execute(gql).instrument(span);
    match tokio::time::timeout(state.settings.request_timeout, execution).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                timeout_secs = state.settings.request_timeout.as_secs_f64(),
                "request timed out; its transaction was rolled back"
            );
            timed_out(rid, state.settings.request_timeout)
        }
    }
}

fn timed_out(rid: &RequestId, after: Duration) -> async_graphql::Response {
    let mut err = ServerError::new(
        format!(
            "the request did not finish within {} s and was cancelled; nothing was changed (request id {})",
            after.as_secs_f64(),
            rid.0
        ),
        None,
    );
    let mut ext = ErrorExtensionValues::default();
    // INTERNAL_SERVER_ERROR is the contract's code for "not your fault";
    // `reason` lets a client tell a timeout from other internal errors.
    ext.set("code", code::INTERNAL_SERVER_ERROR);
    ext.set("reason", "TIMEOUT");
    err.extensions = Some(ext);
    async_graphql::Response::from_errors(vec![err])
}

/// Gives every error a contract code and hides internal messages.
fn finish_errors(
    mut response: async_graphql::Response,
    rid: &RequestId,
    metrics: &Metrics,
) -> async_graphql::Response {
    for err in &mut response.errors {
        let code = classify(err);
        let is_timeout = err
            .extensions
            .as_ref()
            .and_then(|e| e.get("reason"))
            .is_some_and(|r| *r == async_graphql::Value::from("TIMEOUT"));
        if code == code::INTERNAL_SERVER_ERROR && !is_timeout {
            err.message = format!("Internal server error (request id {})", rid.0);
        }
        metrics.observe_error(code);
        err.extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", code);
    }
    response
}

/// The code an error already carries, or the one its origin implies: limit
/// breaches are QUERY_TOO_COMPLEX, other errors raised by async-graphql itself
/// (syntax, validation, input coercion) are the client's fault.
fn classify(err: &ServerError) -> &'static str {
    if let Some(async_graphql::Value::String(c)) =
        err.extensions.as_ref().and_then(|e| e.get("code"))
    {
        return ALL_CODES
            .iter()
            .find(|k| **k == c.as_str())
            .copied()
            .unwrap_or(code::INTERNAL_SERVER_ERROR);
    }
    let m = err.message.as_str();
    if m.starts_with("Query is too complex")
        || m.starts_with("Query is nested too deep")
        || m.starts_with("The recursion depth of the query")
        || m.starts_with("The number of directives")
        || m.starts_with(crate::graphql::limits::TOO_MANY_ALIASES)
    {
        code::QUERY_TOO_COMPLEX
    } else {
        code::BAD_USER_INPUT
    }
}

const ALL_CODES: [&str; 12] = [
    code::UNAUTHENTICATED,
    code::FORBIDDEN,
    code::NOT_FOUND,
    code::BAD_USER_INPUT,
    code::INVALID_TRANSITION,
    code::CONFLICT,
    code::POLICY_VIOLATION,
    code::REFUND_LIMIT_EXCEEDED,
    code::CUSTOMER_RESTRICTED,
    code::QUERY_TOO_COMPLEX,
    code::RATE_LIMITED,
    code::INTERNAL_SERVER_ERROR,
];

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// 200 when the database answers within a second, 503 otherwise.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(Duration::from_secs(1), state.db.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Ok(Err(err)) => {
            tracing::warn!(cause = %err, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "database unavailable" }))
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({ "status": "database timeout" })),
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = service::db::pool_stats(&state.db, state.settings.db_max_connections);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(Some(pool)))
}
