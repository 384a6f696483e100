//! Request bodies, read up to a limit; an oversized body gets the same JSON
//! error shape as every other refusal.

use actix_web::http::{header, StatusCode};
use actix_web::web::{self, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::response::error_response;
use crate::error::code;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The 413 answer for a body over `limit` bytes.
pub fn too_large(limit: usize) -> HttpResponse {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is larger than {limit} bytes"),
        code::BAD_USER_INPUT,
    )
}

/// The body's length as the client declares it (`Content-Length`).
pub fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Reads the whole body, or answers 413 (before reading anything when the
/// declared length is already too large) or 400 for a broken stream.
pub async fn read(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, HttpResponse> {
    let too_large = || too_large(limit);
    let declared = declared_length(req);
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            error_response(
                StatusCode::BAD_REQUEST,
                "the body could not be read",
                code::BAD_USER_INPUT,
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
