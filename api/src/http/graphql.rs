//! `POST /graphql` and `GET /graphql`: a request is read, checked (NUL
//! characters, the document's limits), given its parsed document, then
//! authenticated and executed within the request timeout.

use std::time::{Duration, Instant};

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::parser::types::OperationType;
use async_graphql::{ErrorExtensionValues, ServerError};
use tracing::Instrument;

use super::auth::{authenticate, credentials, Credentials};
use super::observe::request_id;
use super::response::{error_response, finish_errors, refusal, write, Media};
use super::{body, upload, AppState};
use crate::config::Environment;
use crate::error::{code, AppError};
use crate::graphql::context::{ClientAddr, RequestId, RequestScope};
use crate::graphql::limits;
use crate::graphql::loaders::Loaders;
use crate::graphql::validation::Validation;

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    let media = Media::negotiate(&req);
    if upload::is_multipart(&req) {
        // Only staff add evidence: a body without a well-signed token is
        // refused before it is spooled to disk, not after.
        if matches!(
            credentials(&req, &state),
            Credentials::Absent | Credentials::Invalid
        ) {
            let refused = refusal(&AppError::Unauthenticated);
            let response = finish_errors(refused, &request_id(&req), &state.metrics, None);
            return write(response, media);
        }
        let gql = match upload::read(&req, payload, state.evidence.max_bytes).await {
            Ok(r) => r,
            Err(refused) => return refused,
        };
        return handle(&req, gql, &state, media, started, Method::Upload).await;
    }
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
    // Only JSON bodies (and the multipart upload above): a browser form
    // cannot post JSON cross-site without a CORS preflight.
    if !is_json {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/json",
            code::BAD_USER_INPUT,
        );
    }
    let body = match body::read(&req, payload, body::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let gql = match parse_body(&body) {
        Ok(gql) => gql,
        Err(message) => {
            return error_response(StatusCode::BAD_REQUEST, message, code::BAD_USER_INPUT)
        }
    };
    handle(&req, gql, &state, media, started, Method::Post).await
}

/// `parse_body`'s refusals: the body was not JSON, a batch, or JSON of
/// another shape.
const MALFORMED: &str = "malformed JSON body";
const BATCH: &str = "batched requests are not supported";
const NOT_A_REQUEST: &str = "the body must be a GraphQL request object with a query string";

/// A POST body as one GraphQL request, read straight into async-graphql's
/// type; the refusal's message says which of the three ways it was wrong.
fn parse_body(body: &[u8]) -> Result<async_graphql::Request, &'static str> {
    // Whether refused text is JSON at all is checked as strictly as a value
    // the request uses (UTF-8, number range, nesting), not with serde's
    // lenient skipping; it is the rare path.
    let is_json = || serde_json::from_slice::<serde_json::Value>(body).is_ok();
    // serde reads a struct from an array too (its members in order), so a
    // batch is told apart by its first character, before that can happen.
    let batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if batch {
        return Err(if is_json() { BATCH } else { MALFORMED });
    }
    match serde_json::from_slice::<async_graphql::Request>(body) {
        Ok(gql) => Ok(gql),
        Err(e) if !e.is_data() => Err(MALFORMED),
        // A member of the wrong type (or given twice) stops serde before it
        // has read the rest of the text: read it once more to tell text that
        // is not JSON at all from JSON of another shape, as a client fixing
        // its body needs to know which it sent.
        Err(_) if is_json() => Err(NOT_A_REQUEST),
        Err(_) => Err(MALFORMED),
    }
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let started = Instant::now();
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && req.query_string().is_empty() {
        if state.settings.environment == Environment::Production {
            return HttpResponse::NotFound().finish();
        }
        return super::console::graphiql(&req);
    }
    let media = Media::negotiate(&req);
    let gql = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(r) => r,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "malformed query string",
                code::BAD_USER_INPUT,
            )
        }
    };
    handle(&req, gql, &state, media, started, Method::Get).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    /// A `multipart/form-data` POST carrying a file.
    Upload,
}

/// Everything after the body was read: checks, then execution.
async fn handle(
    req: &HttpRequest,
    mut gql: async_graphql::Request,
    state: &AppState,
    media: Media,
    started: Instant,
    method: Method,
) -> HttpResponse {
    let rid = request_id(req);
    if holds_nul(&gql) {
        return error_response(
            StatusCode::BAD_REQUEST,
            "text must not contain NUL characters",
            code::BAD_USER_INPUT,
        );
    }
    let credentials = credentials(req, state);
    let response = match prepare(&mut gql, state, credentials) {
        Err(err) => {
            // A miss is the protocol's first step for every new document,
            // not a client mistake: it stays out of the error counts.
            let counted = err.message != crate::graphql::documents::NOT_FOUND_MESSAGE;
            let response = async_graphql::Response::from_errors(vec![err]);
            if counted {
                finish_errors(response, &rid, &state.metrics, None)
            } else {
                response
            }
        }
        Ok(_) if method == Method::Upload && !upload::only_the_upload_mutation(&mut gql) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "a file may be sent with addClaimEvidence only, alone in a mutation",
                code::BAD_USER_INPUT,
            )
        }
        Ok(Prepared {
            operation: Operation::Mutation,
            ..
        }) if method == Method::Get => {
            return error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "mutations must be sent with POST",
                code::BAD_USER_INPUT,
            )
        }
        Ok(prepared) => {
            let operation = prepared.operation;
            let deadline = started + state.settings.request_timeout;
            // Execution needs only the parsed document; the text stays here
            // to place the errors execution raises.
            let query = std::mem::take(&mut gql.query);
            let response = execute(req, gql, state, credentials, prepared, &rid, deadline).await;
            if operation == Operation::Mutation {
                // Its events are committed: number and publish them now
                // rather than at the next poll.
                state.hub.wake();
            }
            finish_errors(response, &rid, &state.metrics, Some(&query))
        }
    };
    write(response, media)
}

/// What the request would run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Query,
    /// A mutation or subscription: GET refuses those, and their loaders must
    /// not cache.
    Mutation,
}

/// A request that passed the checks: what it runs, and how its document is
/// validated.
struct Prepared {
    operation: Operation,
    validation: Validation,
}

/// The checks before execution, each linear in the request's size (see
/// `graphql::limits`): the text's nesting, then the parsed document (from
/// the caller's cache or parsed now) and its limits. Every refusal carries
/// its code.
fn prepare(
    gql: &mut async_graphql::Request,
    state: &AppState,
    credentials: Credentials,
) -> Result<Prepared, ServerError> {
    let coded = |err: AppError| refusal(&err).errors.remove(0);
    limits::check_text(&gql.query).map_err(coded)?;
    let attached = state
        .documents
        .attach(gql, credentials.signed_by())
        .map_err(coded)?;
    let operation_name = gql.operation_name.clone();
    // The parsed document borrows the request: its variables are read
    // beside it, and put back before it runs.
    let variables = std::mem::take(&mut gql.variables);
    let doc = gql.parsed_query().map_err(|mut err| {
        // A syntax error: the parser's message and position are the client's.
        err.extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", code::BAD_USER_INPUT);
        err
    })?;
    limits::check_document(doc).map_err(coded)?;
    let mutation = doc.operations.iter().any(|(name, op)| {
        let selected = match (&operation_name, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected && op.node.ty != OperationType::Query
    });
    let validation = Validation::choose(
        attached.validated,
        doc,
        operation_name.as_deref(),
        &variables,
    );
    gql.variables = variables;
    Ok(Prepared {
        operation: if mutation {
            Operation::Mutation
        } else {
            Operation::Query
        },
        validation,
    })
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

/// Authenticates and executes a checked request; everything from the
/// request's arrival counts against the timeout. A query's loaders keep what
/// they load; a document validated before runs in the fast-mode schema.
async fn execute(
    req: &HttpRequest,
    gql: async_graphql::Request,
    state: &AppState,
    credentials: Credentials,
    prepared: Prepared,
    rid: &RequestId,
    deadline: Instant,
) -> async_graphql::Response {
    let client = ClientAddr::of(req);
    let span = tracing::info_span!(
        "graphql_operation",
        operation = gql.operation_name.as_deref().unwrap_or("anonymous")
    );
    // Dropping the execution on timeout drops any open transaction, which
    // rolls it back: a timed-out mutation changes nothing.
    let execution = async {
        let Ok(_admitted) = state.executions.acquire().await else {
            return refusal(&AppError::internal("the execution gate is closed"));
        };
        let auth = match authenticate(credentials, state).await {
            Ok(auth) => auth,
            Err(err) => return refusal(&err),
        };
        let gql = RequestScope {
            auth,
            request_id: rid.clone(),
            client,
            loaders: Loaders::new(&state.db, prepared.operation == Operation::Query),
        }
        .attach(gql);
        let reused = matches!(prepared.validation, Validation::AlreadyDone);
        state.metrics.observe_validation(reused);
        let schema = if reused {
            &state.validated_schema
        } else {
            &state.schema
        };
        let response = schema.execute(gql).await;
        prepared.validation.record(&response);
        response
    }
    .instrument(span);
    match tokio::time::timeout_at(deadline.into(), execution).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_read_as_one_request_or_refused_with_what_was_wrong() {
        for (body, refused) in [
            (r#"not json"#, Some(MALFORMED)),
            (r#"{"query": "{ a }""#, Some(MALFORMED)),
            (r#"{"query": "{ a }"} {"#, Some(MALFORMED)),
            (r#"{"query": 1, oops}"#, Some(MALFORMED)),
            (r#"[{"query": "{ a }"}"#, Some(MALFORMED)),
            (r#"[{"query": "{ a }"}]"#, Some(BATCH)),
            (r#"[]"#, Some(BATCH)),
            (" \n [\"{ a }\"]", Some(BATCH)),
            (r#""{ a }""#, Some(NOT_A_REQUEST)),
            (r#"null"#, Some(NOT_A_REQUEST)),
            (r#"{"query": 1}"#, Some(NOT_A_REQUEST)),
            (r#"{"query": "{ a }", "variables": 3}"#, Some(NOT_A_REQUEST)),
            // Two values for one member: which one a proxy in front acted on
            // is unknown, so neither is run.
            (
                r#"{"query": "{ a }", "query": "{ b }"}"#,
                Some(NOT_A_REQUEST),
            ),
            (r#"[1e400]"#, Some(MALFORMED)),
            (r#"{"query": 1, "x": 1e400}"#, Some(MALFORMED)),
            (r#"{}"#, None),
            // A member Refund Desk does not read is skipped unchecked, as
            // serde skips any unknown member.
            (r#"{"query": "{ a }", "x": 1e400}"#, None),
            (r#"{"query": "{ a }", "unknown": true}"#, None),
        ] {
            assert_eq!(parse_body(body.as_bytes()).err(), refused, "{body}");
        }
    }

    #[test]
    fn a_body_keeps_its_variables_operation_and_extensions() {
        let body = br#"{"query": "query Q($id: ID!) { claim(id: $id) { id } }",
            "operationName": "Q", "variables": {"id": "c-1", "n": [1, 2.5, null]},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}}"#;
        let gql = parse_body(body).unwrap();
        assert_eq!(gql.query, "query Q($id: ID!) { claim(id: $id) { id } }");
        assert_eq!(gql.operation_name.as_deref(), Some("Q"));
        assert_eq!(
            gql.variables.into_value().into_json().unwrap(),
            serde_json::json!({"id": "c-1", "n": [1, 2.5, null]})
        );
        assert_eq!(
            gql.extensions
                .get("persistedQuery")
                .map(|v| v.clone().into_json().unwrap()),
            Some(serde_json::json!({"version": 1, "sha256Hash": "ab"}))
        );
    }
}
