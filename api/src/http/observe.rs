//! What every request passes: `tracing-actix-web`'s logger with our root
//! span ([`RequestSpan`]: the request id, the route, the status, and one
//! access-log line per request), then [`observe`]: the id echoed back, the
//! access metrics, and the count of requests in flight.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpMessage, HttpRequest};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

use super::AppState;
use crate::graphql::context::RequestId;

const REQUEST_ID: &str = "x-request-id";

/// Accepts a client's request id when it is short and plain; otherwise uses
/// the UUIDv7 `TracingLogger` made for the request (its `uuid_v7` feature),
/// rather than drawing random bits a second time.
fn request_id_for(req: &ServiceRequest) -> Arc<str> {
    let chosen = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if let Some(id) = chosen {
        return Arc::from(id);
    }
    let made = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| **id);
    made_id(made)
}

/// A request id the server makes: `TracingLogger`'s UUID when there is one,
/// else a new UUIDv7.
fn made_id(made: Option<uuid::Uuid>) -> Arc<str> {
    let id = made.unwrap_or_else(uuid::Uuid::now_v7);
    Arc::from(
        &*id.hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    )
}

/// The request's route pattern (`/graphql`, `/evidence/{id}/file`), worked
/// out once by [`RequestSpan`] for the span and the metrics alike.
struct Route(Arc<str>);

/// The route pattern the request matched, or `unmatched`.
fn route_of(req: &ServiceRequest) -> Arc<str> {
    req.match_pattern()
        .map_or_else(|| "unmatched".into(), Arc::from)
}

/// The root span of a request, for `TracingLogger`: it also gives the
/// request its id (ours, which a client may choose, rather than the crate's),
/// and ends with the access-log line.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(req: &ServiceRequest) -> Span {
        let request_id = request_id_for(req);
        let route = route_of(req);
        {
            let mut extensions = req.extensions_mut();
            extensions.insert(RequestId(request_id.clone()));
            extensions.insert(Route(route.clone()));
        }
        // `otel.*` name and kind the span where traces are exported
        // (`telemetry.rs`).
        let span = tracing::info_span!(
            "http_request",
            "otel.name" = %format_args!("{} {route}", req.method()),
            "otel.kind" = "server",
            "http.method" = %req.method(),
            "http.route" = %route,
            request_id = %request_id,
            "http.status_code" = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        crate::telemetry::adopt_remote_parent(&span, req.headers());
        span
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        match outcome {
            Ok(res) => {
                span.record("http.status_code", res.status().as_u16());
                tracing::info!(parent: &span, "request served");
            }
            Err(err) => {
                let status = err.as_response_error().status_code().as_u16();
                span.record("http.status_code", status);
                tracing::warn!(parent: &span, error = %err, "request failed");
            }
        }
    }
}

/// Echoes the request id, counts the request in flight, and records the
/// access metrics and the latency on the request's span.
pub fn observe<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + 'static
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
{
    let request_id = request_id(req.request()).0;
    let route = req
        .extensions()
        .get::<Route>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| route_of(&req));
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let started = Instant::now();
    let in_flight = metrics.as_ref().map(|m| m.foreground.enter());
    let call = srv.call(req);
    async move {
        let _in_flight = in_flight;
        let res = call.await;
        let elapsed = started.elapsed();
        // Recorded before a failure returns, so its access line has it too.
        Span::current().record("latency_ms", elapsed.as_secs_f64() * 1000.0);
        let mut res = res?;
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            res.headers_mut()
                .insert(header::HeaderName::from_static(REQUEST_ID), v);
        }
        if let Some(m) = metrics {
            m.observe_request(&route, res.status().as_str(), elapsed);
        }
        Ok(res)
    }
}

/// The request id [`RequestSpan`] gave this request.
pub fn request_id(req: &HttpRequest) -> RequestId {
    req.extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(|| RequestId(made_id(None)))
}
