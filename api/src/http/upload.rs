//! `POST /graphql` as `multipart/form-data` (the GraphQL multipart request
//! spec), for `addClaimEvidence` with one file, and nothing else.
//!
//! Who may send: anyone who can reach the port; the token is checked as for
//! any request, after the body is read. Worst values and answers: a body
//! beyond the file limit plus 1 MiB → 413 before it is read (or as soon as
//! it grows past that); parts in another order, another part, a second
//! file, a map pointing anywhere but `variables.input.file`, a file part
//! without a file name → 400; a file one byte over `EVIDENCE_MAX_BYTES` or
//! of the wrong type → BAD_USER_INPUT from the mutation; a multipart body
//! for a query or another mutation → 400. A cross-site form can post
//! multipart, but it cannot add the Bearer token, which is the only
//! credential.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::parser::types::{OperationType, Selection};
use async_graphql::UploadValue;
use futures_util::StreamExt;

use super::body::{declared_length, too_large};
use super::response::error_response;
use crate::error::code;

/// Where the one file of an upload must go.
pub const FILE_PATH: &str = "variables.input.file";
/// The one mutation that takes a file.
pub const UPLOAD_FIELD: &str = "addClaimEvidence";
/// Room for the `operations` and `map` parts beside the file.
const OVERHEAD: usize = 1 << 20;

fn bad(message: &str) -> HttpResponse {
    error_response(StatusCode::BAD_REQUEST, message, code::BAD_USER_INPUT)
}

/// True for a `multipart/form-data` content type.
pub fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Reads the three parts in the spec's order (`operations`, `map`, the
/// file) into a request whose `variables.input.file` is the upload. The file
/// may be one byte over `max_file` so the mutation can say it is too large.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    max_file: usize,
) -> Result<async_graphql::Request, HttpResponse> {
    let limit = max_file + 1 + OVERHEAD;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return Err(bad("a multipart body needs its boundary"));
    };
    if declared_length(req).is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    // multer needs a `Send` stream and actix's payload is not one: a task on
    // this worker forwards the chunks, a few at a time (nothing is buffered
    // beyond the channel and the part being read).
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(4);
    actix_web::rt::spawn(async move {
        let mut payload = payload;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit as u64)
            .for_field("operations", OVERHEAD as u64)
            .for_field("map", 64 * 1024)
            .per_field(max_file as u64 + 1),
    );
    let mut parts = multer::Multipart::with_constraints(stream, boundary, constraints);
    let refused = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } => too_large(limit),
        multer::Error::FieldSizeExceeded { field_name, .. } => bad(&format!(
            "the part {:?} is too large (a file may have at most {max_file} bytes)",
            field_name.unwrap_or_default()
        )),
        other => bad(&format!("malformed multipart body: {other}")),
    };

    let next =
        |name: &str| format!("expected the part {name:?} next (operations, map, then one file)");
    let Some(field) = parts.next_field().await.map_err(refused)? else {
        return Err(bad(&next("operations")));
    };
    if field.name() != Some("operations") {
        return Err(bad(&next("operations")));
    }
    let operations = field.bytes().await.map_err(refused)?;
    let mut request: async_graphql::Request = serde_json::from_slice(&operations)
        .map_err(|_| bad("operations must be one GraphQL request object (no batches)"))?;

    let Some(field) = parts.next_field().await.map_err(refused)? else {
        return Err(bad(&next("map")));
    };
    if field.name() != Some("map") {
        return Err(bad(&next("map")));
    }
    let map: HashMap<String, Vec<String>> =
        serde_json::from_slice(&field.bytes().await.map_err(refused)?)
            .map_err(|_| bad("map must be a JSON object of part names to paths"))?;
    let file_part = match map.iter().next() {
        Some((name, paths)) if map.len() == 1 && paths.len() == 1 && paths[0] == FILE_PATH => {
            name.clone()
        }
        _ => {
            return Err(bad(&format!(
                "map must send exactly one file, to {FILE_PATH}"
            )))
        }
    };

    let Some(field) = parts.next_field().await.map_err(refused)? else {
        return Err(bad("the file part is missing"));
    };
    if field.name() != Some(file_part.as_str()) {
        return Err(bad(&format!("expected the file part {file_part:?}")));
    }
    let Some(filename) = field.file_name().map(str::to_string) else {
        return Err(bad("the file part has no file name"));
    };
    let client_type = field.content_type().map(|m| m.to_string());
    // Spooled to an unnamed temporary file (gone when closed), so ten
    // uploads at once cost ten buffers, not ten files in memory.
    let content = match spool(field).await {
        Ok(file) => file,
        Err(Spool::Multipart(e)) => return Err(refused(e)),
        Err(Spool::Io(e)) => {
            tracing::error!(cause = %e, "could not spool an upload to a temporary file");
            return Err(error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error: the upload could not be received",
                code::INTERNAL_SERVER_ERROR,
            ));
        }
    };
    if parts.next_field().await.map_err(refused)?.is_some() {
        return Err(bad("one file per request"));
    }

    // The path must exist (`"file": null`), or the upload would be dropped.
    let has_slot = request
        .variables
        .get("input")
        .and_then(|v| match v {
            async_graphql::Value::Object(o) => Some(o.contains_key("file")),
            _ => None,
        })
        .unwrap_or(false);
    if !has_slot {
        return Err(bad(&format!("operations must hold {FILE_PATH}: null")));
    }
    request.set_upload(
        FILE_PATH,
        UploadValue {
            filename,
            content_type: client_type,
            content,
        },
    );
    Ok(request)
}

enum Spool {
    Multipart(multer::Error),
    Io(std::io::Error),
}

async fn spool(mut field: multer::Field<'static>) -> Result<std::fs::File, Spool> {
    use tokio::io::AsyncWriteExt;
    let temp = tempfile::tempfile().map_err(Spool::Io)?;
    let mut file = tokio::fs::File::from_std(temp);
    while let Some(chunk) = field.chunk().await.map_err(Spool::Multipart)? {
        file.write_all(&chunk).await.map_err(Spool::Io)?;
    }
    file.flush().await.map_err(Spool::Io)?;
    let mut file = file.into_std().await;
    std::io::Seek::rewind(&mut file).map_err(Spool::Io)?;
    Ok(file)
}

/// True when the request runs exactly `addClaimEvidence`, alone, as a
/// mutation: the only operation a file may come with.
pub fn only_the_upload_mutation(request: &mut async_graphql::Request) -> bool {
    let wanted = request.operation_name.clone();
    let Ok(doc) = request.parsed_query() else {
        return false;
    };
    let mut selected = doc
        .operations
        .iter()
        .filter(|(name, _)| match (&wanted, name) {
            (Some(w), Some(n)) => w == n.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        });
    let (Some((_, op)), None) = (selected.next(), selected.next()) else {
        return false;
    };
    if op.node.ty != OperationType::Mutation {
        return false;
    }
    let items = &op.node.selection_set.node.items;
    matches!(
        items.as_slice(),
        [item] if matches!(&item.node, Selection::Field(f) if f.node.name.node == UPLOAD_FIELD)
    )
}
