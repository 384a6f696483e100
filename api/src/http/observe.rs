//! The middleware every request passes: a request id, a tracing span and the
//! access metrics.

use std::time::Instant;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpMessage, HttpRequest};
use tracing::Instrument;

use super::AppState;
use crate::graphql::context::RequestId;

const REQUEST_ID: &str = "x-request-id";

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
    let in_flight = metrics.as_ref().map(|m| m.foreground.enter());
    let call = srv.call(req).instrument(span.clone());
    async move {
        let _in_flight = in_flight;
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

/// The request id the middleware gave this request.
pub fn request_id(req: &HttpRequest) -> RequestId {
    req.extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(|| RequestId(uuid::Uuid::now_v7().to_string()))
}
