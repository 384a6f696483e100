//! How GraphQL answers are written: the media type the client accepts, the
//! status that goes with it, a contract code on every error, internal
//! messages hidden.
//!
//! Errors fail closed. An error keeps the code it was raised with; one
//! without a code is classified by where it arose, never by its wording:
//! - without a `path`, it was raised before execution (parsing, validation,
//!   choosing the operation): the client's, BAD_USER_INPUT;
//! - with a path and located at an argument of that field (async-graphql
//!   locates a coercion error at the argument's value, e.g. an `Int`
//!   variable beyond 32 bits): the client's too;
//! - with a path and located at the field itself, it came out of a resolver
//!   (or anything else) that did not say what went wrong: INTERNAL_SERVER_ERROR
//!   with the generic message, its text logged. So is anything else.
//!
//! Our own pre-execution checks (`graphql::limits`, the document cache) and
//! input scalars raise coded errors, so nothing depends on async-graphql's
//! messages.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use async_graphql::{ErrorExtensionValues, ServerError, Value};
use serde_json::json;

use crate::error::{code, AppError};
use crate::graphql::context::RequestId;
use crate::metrics::Metrics;

/// The GraphQL-over-HTTP response media type.
pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The media type a GraphQL response is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    /// `application/json`: always 200 once the request was read, the legacy
    /// behaviour every existing client expects.
    Json,
    /// `application/graphql-response+json`: a request that could not be
    /// executed (parse, validation, variables) is a 4xx without `data`.
    GraphqlResponse,
}

impl Media {
    /// `application/graphql-response+json` when the client accepts it at
    /// least as much as `application/json`, else `application/json`.
    pub fn negotiate(req: &HttpRequest) -> Media {
        let Some(accept) = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
        else {
            return Media::Json;
        };
        let (mut graphql, mut json) = (None::<f32>, None::<f32>);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                GRAPHQL_RESPONSE => graphql = Some(graphql.map_or(q, |g| g.max(q))),
                "application/json" | "application/*" | "*/*" => {
                    json = Some(json.map_or(q, |j| j.max(q)))
                }
                _ => {}
            }
        }
        match graphql {
            Some(g) if g > 0.0 && g >= json.unwrap_or(0.0) => Media::GraphqlResponse,
            _ => Media::Json,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        }
    }
}

/// A GraphQL-shaped error body for refusals before the request is parsed
/// (wrong content type, malformed or oversized body).
pub fn error_response(status: StatusCode, message: &str, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

/// A response holding only the error, for refusals found before execution.
pub fn refusal(err: &AppError) -> async_graphql::Response {
    let error = async_graphql::ErrorExtensions::extend(err);
    async_graphql::Response::from_errors(vec![error.into_server_error(Default::default())])
}

/// True when the request never reached execution: no data, and every error
/// raised before any resolver (none has a path).
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// Writes a finished response (see [`finish_errors`]) in `media`.
pub fn write(response: async_graphql::Response, media: Media) -> HttpResponse {
    let request_error = is_request_error(&response);
    let status = match media {
        Media::Json => StatusCode::OK,
        Media::GraphqlResponse if !request_error => StatusCode::OK,
        Media::GraphqlResponse => {
            let internal = response.errors.iter().any(|e| {
                e.extensions.as_ref().and_then(|x| x.get("code"))
                    == Some(&Value::from(code::INTERNAL_SERVER_ERROR))
            });
            if internal {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            }
        }
    };
    // The spec's request errors have no `data` entry at all; JSON clients
    // have always had `data: null` and keep it.
    let body = Body {
        data: (!(request_error && media == Media::GraphqlResponse)).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => HttpResponse::build(status)
            .content_type(media.content_type())
            .body(bytes),
        Err(e) => {
            // Only a value that cannot be JSON gets here (a map keyed by
            // something other than strings): a bug, not the client's.
            tracing::error!(error = %e, "a GraphQL response could not be written as JSON");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// A response's JSON body, written straight from async-graphql's values.
/// `data` keeps the order the query selected its fields in (the spec's
/// ordered response map).
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, Value>,
}

/// Gives every error a contract code, hides internal messages behind the
/// request id, and drops locations async-graphql could not place (line 0).
/// `query` is the executed document's text, which locates errors raised
/// during execution (see the module's documentation).
pub fn finish_errors(
    mut response: async_graphql::Response,
    rid: &RequestId,
    metrics: &Metrics,
    query: Option<&str>,
) -> async_graphql::Response {
    for err in &mut response.errors {
        let code = classify(err, query);
        let is_timeout = err
            .extensions
            .as_ref()
            .and_then(|e| e.get("reason"))
            .is_some_and(|r| *r == Value::from("TIMEOUT"));
        if code == code::INTERNAL_SERVER_ERROR && !is_timeout {
            if !has_code(err) {
                // A coded internal error was logged with its cause where it
                // was raised (`AppError::extend`); this one was not.
                tracing::error!(
                    cause = %err.message,
                    path = ?err.path,
                    "a resolver failed without an error code"
                );
            }
            err.message = format!("Internal server error (request id {})", rid.0);
        }
        err.locations.retain(|pos| pos.line > 0);
        metrics.observe_error(code);
        err.extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", code);
    }
    response
}

fn has_code(err: &ServerError) -> bool {
    err.extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .is_some()
}

/// The code an error carries; without one, the code its origin implies (see
/// the module's documentation).
fn classify(err: &ServerError, query: Option<&str>) -> &'static str {
    match err.extensions.as_ref().and_then(|e| e.get("code")) {
        Some(Value::String(c)) => ALL_CODES
            .iter()
            .find(|k| **k == c.as_str())
            .copied()
            .unwrap_or(code::INTERNAL_SERVER_ERROR),
        Some(_) => code::INTERNAL_SERVER_ERROR,
        None if err.path.is_empty() => code::BAD_USER_INPUT,
        None if query.is_some_and(|q| raised_at_an_argument(err, q)) => code::BAD_USER_INPUT,
        None => code::INTERNAL_SERVER_ERROR,
    }
}

/// True when an execution error is located at one of its field's arguments
/// rather than at the field: async-graphql places a resolver's (or a
/// guard's) error at the field, which starts with the response key the path
/// ends in, and an argument's coercion error at the argument's value (a
/// `$variable` or a literal), or at line 0 for a missing argument.
fn raised_at_an_argument(err: &ServerError, query: &str) -> bool {
    let Some(key) = err.path.iter().rev().find_map(|s| match s {
        async_graphql::PathSegment::Field(name) => Some(name.as_str()),
        async_graphql::PathSegment::Index(_) => None,
    }) else {
        return false;
    };
    let Some(pos) = err.locations.first() else {
        return false;
    };
    if pos.line == 0 {
        return true;
    }
    let Some(at) = offset_of(query, pos.line, pos.column) else {
        return false;
    };
    let rest = &query[at..];
    let at_field = rest.starts_with(key)
        && !rest[key.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    !at_field
}

/// The byte offset of a parser position (1-based line and column in
/// characters; a line ends at `\n`, and `\r` starts its column again, as
/// async-graphql's parser counts them).
fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let (mut l, mut c) = (1, 1);
    for (i, ch) in text.char_indices() {
        if (l, c) == (line, column) {
            return Some(i);
        }
        match ch {
            '\n' => {
                l += 1;
                c = 1;
            }
            '\r' => c = 1,
            _ => c += 1,
        }
    }
    None
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

/// An error of a plain HTTP endpoint (exports, evidence downloads) as the
/// GraphQL-shaped body the `/graphql` endpoint uses before execution: its
/// status from its code, internal causes logged and hidden behind the
/// request id.
pub fn app_error_response(
    req: &HttpRequest,
    metrics: &Metrics,
    err: &AppError,
    what: &str,
) -> HttpResponse {
    let status = match err.code() {
        code::UNAUTHENTICATED => StatusCode::UNAUTHORIZED,
        code::FORBIDDEN => StatusCode::FORBIDDEN,
        code::BAD_USER_INPUT => StatusCode::BAD_REQUEST,
        code::NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(cause = %err.describe(), "{what} failed");
        format!(
            "Internal server error (request id {})",
            super::observe::request_id(req).0
        )
    } else {
        err.message()
    };
    metrics.observe_error(err.code());
    let mut res = error_response(status, &message, err.code());
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    struct Query;

    #[Object]
    impl Query {
        /// Fails the way a careless resolver would: no code, a detail that
        /// must stay on the server.
        async fn careless(&self) -> async_graphql::Result<i32> {
            Err(async_graphql::Error::new(
                "connection to 10.0.0.5 refused: password for admin",
            ))
        }
        async fn fine(&self) -> i32 {
            1
        }
        async fn echo(&self, n: i32) -> i32 {
            n
        }
    }

    async fn run(query: &str) -> async_graphql::Response {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let response = schema.execute(query).await;
        finish_errors(
            response,
            &RequestId("rid-1".into()),
            &Metrics::default(),
            Some(query),
        )
    }

    async fn body_of(response: async_graphql::Response, media: Media) -> (StatusCode, String) {
        let written = write(response, media);
        let status = written.status();
        let bytes = actix_web::body::to_bytes(written.into_body())
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_body_lists_fields_in_the_order_the_query_selected_them() {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let response = schema.execute("{ fine b: echo(n: 2) a: echo(n: 1) }").await;
        let (status, body) = body_of(response, Media::Json).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, r#"{"data":{"fine":1,"b":2,"a":1}}"#);
    }

    #[tokio::test]
    async fn a_request_error_has_no_data_only_in_the_graphql_response_media() {
        for (media, status, data) in [
            (Media::Json, StatusCode::OK, Some(serde_json::Value::Null)),
            (Media::GraphqlResponse, StatusCode::BAD_REQUEST, None),
        ] {
            let (got, body) = body_of(run("{ nope }").await, media).await;
            assert_eq!(got, status, "{media:?}");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body.get("data").cloned(), data, "{media:?}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
            assert!(body.get("extensions").is_none(), "{body}");
        }
        // A field error keeps `data` in both, beside its error.
        for media in [Media::Json, Media::GraphqlResponse] {
            let (got, body) = body_of(run("{ fine careless }").await, media).await;
            assert_eq!(got, StatusCode::OK);
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["data"]["fine"], 1, "{body}");
            assert_eq!(body["errors"][0]["path"], serde_json::json!(["careless"]));
        }
    }

    #[tokio::test]
    async fn an_uncoded_resolver_error_reaches_the_client_as_a_generic_internal_error() {
        let response = run("{ fine careless }").await;
        let err = &response.errors[0];
        assert_eq!(err.message, "Internal server error (request id rid-1)");
        assert_eq!(
            err.extensions.as_ref().unwrap().get("code"),
            Some(&Value::from("INTERNAL_SERVER_ERROR"))
        );
        let body = serde_json::to_string(&response).unwrap();
        assert!(!body.contains("10.0.0.5"), "{body}");
    }

    #[tokio::test]
    async fn errors_before_execution_are_the_clients_and_never_at_line_zero() {
        for query in ["{ fine", "{ nope }", "query Q { fine } query R { fine }"] {
            let response = run(query).await;
            assert!(is_request_error(&response), "{query}");
            for err in &response.errors {
                assert_eq!(
                    err.extensions.as_ref().unwrap().get("code"),
                    Some(&Value::from("BAD_USER_INPUT")),
                    "{query}: {}",
                    err.message
                );
                assert!(err.locations.iter().all(|p| p.line > 0), "{query}");
            }
        }
        // A field error is not a request error.
        assert!(!is_request_error(&run("{ careless }").await));
    }

    #[tokio::test]
    async fn an_argument_that_does_not_coerce_is_the_clients_fault() {
        // async-graphql validates Int literals as any 64-bit number and
        // refuses them beyond 32 bits only while executing the field.
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        for (query, vars) in [
            ("{ echo(n: 2147483648) }", serde_json::json!({})),
            (
                "query($n: Int!) {\r\n  a: echo(n: $n) }",
                serde_json::json!({ "n": 2147483648i64 }),
            ),
        ] {
            let req = async_graphql::Request::new(query)
                .variables(async_graphql::Variables::from_json(vars));
            let response = finish_errors(
                schema.execute(req).await,
                &RequestId("rid-1".into()),
                &Metrics::default(),
                Some(query),
            );
            let err = &response.errors[0];
            assert!(!err.path.is_empty(), "{query}: raised while executing");
            assert_eq!(
                err.extensions.as_ref().unwrap().get("code"),
                Some(&Value::from("BAD_USER_INPUT")),
                "{query}: {}",
                err.message
            );
        }
        // The same field failing in its resolver is internal.
        let response = run("{ a: careless }").await;
        assert_eq!(
            response.errors[0].extensions.as_ref().unwrap().get("code"),
            Some(&Value::from("INTERNAL_SERVER_ERROR"))
        );
    }

    #[test]
    fn positions_map_to_offsets_as_the_parser_counts_them() {
        let text = "a\r\nbé c\nd";
        assert_eq!(offset_of(text, 1, 1), Some(0));
        assert_eq!(offset_of(text, 2, 1), Some(3));
        assert_eq!(offset_of(text, 2, 4), Some(7));
        assert_eq!(offset_of(text, 3, 1), Some(9));
        assert_eq!(offset_of(text, 9, 1), None);
    }

    #[test]
    fn unknown_codes_and_unplaced_errors_fail_closed() {
        let mut err = ServerError::new("x", None);
        err.path = vec![async_graphql::PathSegment::Field("f".into())];
        assert_eq!(classify(&err, Some("{ f }")), code::INTERNAL_SERVER_ERROR);
        let mut ext = ErrorExtensionValues::default();
        ext.set("code", "SOMETHING_ELSE");
        err.extensions = Some(ext);
        assert_eq!(classify(&err, Some("{ f }")), code::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn the_response_media_type_follows_accept() {
        let cases = [
            (None, Media::Json),
            (Some("*/*"), Media::Json),
            (Some("application/json"), Media::Json),
            (Some(GRAPHQL_RESPONSE), Media::GraphqlResponse),
            (
                Some("application/graphql-response+json, application/json;q=0.9"),
                Media::GraphqlResponse,
            ),
            (
                Some("application/graphql-response+json;q=0.5, application/json"),
                Media::Json,
            ),
            (Some("application/graphql-response+json;q=0"), Media::Json),
            (Some("text/html"), Media::Json),
        ];
        for (accept, want) in cases {
            let mut req = TestRequest::default();
            if let Some(a) = accept {
                req = req.insert_header((header::ACCEPT, a));
            }
            assert_eq!(Media::negotiate(&req.to_http_request()), want, "{accept:?}");
        }
    }
}
