//! `POST /integrations/woocommerce` and `POST /integrations/stripe`.
//!
//! Who may send: anyone on the network can reach these, so nothing is
//! believed before the signature over the raw bytes is checked (401, nothing
//! stored). Worst values and their answers: an unconfigured secret → 404;
//! a body over 1 MiB → 413 before it is read; a signature over other bytes,
//! a replayed Stripe timestamp older than 300 s → 401; a body that is not
//! JSON, a missing delivery id or topic → 400; a JSON of the wrong shape or
//! a business problem → 200 and the message stored NEEDS_ATTENTION; a
//! database failure → 500 and nothing stored (the sender retries).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use super::body;
use super::observe::request_id;
use super::response::error_response;
use super::AppState;
use crate::domain::enums::IntegrationSource;
use crate::error::code;
use crate::service::inbound::signatures::{self, StripeRefusal};
use crate::service::inbound::{self, Message, Receipt};
use crate::service::RequestContext;

/// Longest delivery id, event id or topic kept (the columns' widths).
const MAX_ID_CHARS: usize = 255;
const MAX_TOPIC_CHARS: usize = 128;

fn refuse(status: StatusCode, message: &str) -> HttpResponse {
    let code = match status {
        StatusCode::NOT_FOUND => code::NOT_FOUND,
        StatusCode::UNAUTHORIZED => code::UNAUTHENTICATED,
        _ => code::BAD_USER_INPUT,
    };
    error_response(status, message, code)
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A printable identifier of at most `max` characters, or why not.
fn identifier(raw: Option<&str>, what: &str, max: usize) -> Result<String, String> {
    let v = raw.map(str::trim).unwrap_or("");
    if v.is_empty() || v.chars().count() > max || v.chars().any(|c| c.is_control()) {
        return Err(format!("{what} must be 1 to {max} printable characters"));
    }
    Ok(v.to_string())
}

/// The delivery or event id and the topic of a message, or why not.
fn id_and_topic(
    id: Option<&str>,
    topic: Option<&str>,
    names: [&str; 2],
) -> Result<(String, String), String> {
    Ok((
        identifier(id, names[0], MAX_ID_CHARS)?,
        identifier(topic, names[1], MAX_TOPIC_CHARS)?,
    ))
}

/// WooCommerce's ping when a hook is saved: `webhook_id=<n>`, unsigned.
fn is_ping(req: &HttpRequest, body: &[u8]) -> bool {
    let form = header(req, "content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let Some(id) = body.strip_prefix(b"webhook_id=") else {
        return false;
    };
    form && !id.is_empty() && id.len() <= 20 && id.iter().all(u8::is_ascii_digit)
}

async fn store(req: &HttpRequest, state: &AppState, msg: Message) -> HttpResponse {
    let rid = request_id(req);
    let ctx = RequestContext {
        request_id: Some(rid.0.to_string()),
        faults: state.settings.faults.clone(),
        ..RequestContext::system()
    };
    match inbound::receive(&state.db, &ctx, &msg).await {
        Ok(receipt) => {
            state.hub.wake();
            let (row, duplicate) = match receipt {
                Receipt::Stored(row) => (row, false),
                Receipt::Duplicate(row) => (row, true),
            };
            state
                .metrics
                .observe_inbound(msg.source.as_str(), &row.status, duplicate);
            HttpResponse::Ok().json(json!({
                "id": row.id,
                "status": row.status,
                "duplicate": duplicate,
            }))
        }
        Err(e) => {
            tracing::error!(cause = %e.describe(), source = msg.source.as_str(), "inbound message not stored");
            state.metrics.observe_error(code::INTERNAL_SERVER_ERROR);
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Internal server error (request id {})", rid.0),
                code::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

pub async fn woocommerce(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(secret) = state.settings.integrations.woocommerce.as_ref() else {
        return refuse(StatusCode::NOT_FOUND, "WooCommerce is not configured");
    };
    let body = match body::read(&req, payload, body::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let signature = header(&req, "x-wc-webhook-signature");
    if signature.is_none() && is_ping(&req, &body) {
        return HttpResponse::Ok().json(json!({ "ping": true }));
    }
    let valid = signature.is_some_and(|s| {
        signatures::woocommerce_valid(secret.expose_secret().as_bytes(), &body, s)
    });
    if !valid {
        tracing::warn!("WooCommerce webhook refused: missing or wrong signature");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "missing or wrong X-WC-Webhook-Signature",
        );
    }
    let (external_id, topic) = match id_and_topic(
        header(&req, "x-wc-webhook-delivery-id"),
        header(&req, "x-wc-webhook-topic"),
        ["X-WC-Webhook-Delivery-ID", "X-WC-Webhook-Topic"],
    ) {
        Ok(v) => v,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, &why),
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        return refuse(StatusCode::BAD_REQUEST, "the body is not JSON");
    }
    let msg = Message {
        source: IntegrationSource::Woocommerce,
        external_id,
        topic,
        body: body.to_vec(),
    };
    store(&req, &state, msg).await
}

pub async fn stripe(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(secret) = state.settings.integrations.stripe.as_ref() else {
        return refuse(StatusCode::NOT_FOUND, "Stripe is not configured");
    };
    let body = match body::read(&req, payload, body::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let checked = header(&req, "stripe-signature").map_or(Err(StripeRefusal::Malformed), |h| {
        signatures::stripe_check(
            secret.expose_secret().as_bytes(),
            &body,
            h,
            chrono::Utc::now().timestamp(),
        )
    });
    if let Err(why) = checked {
        tracing::warn!(?why, "Stripe webhook refused");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "missing, wrong or expired Stripe-Signature",
        );
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let (external_id, topic) = match id_and_topic(
        event.get("id").and_then(Value::as_str),
        event.get("type").and_then(Value::as_str),
        ["the event's id", "the event's type"],
    ) {
        Ok(v) => v,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, &why),
    };
    let msg = Message {
        source: IntegrationSource::Stripe,
        external_id,
        topic,
        body: body.to_vec(),
    };
    store(&req, &state, msg).await
}
