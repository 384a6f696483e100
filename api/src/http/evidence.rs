//! `GET /evidence/{evidenceId}/file`: an evidence file, to the roles that
//! read claims except ANALYST, audited, streamed from the store.
//!
//! Who may ask: any holder of a token. Worst cases and answers: no or a bad
//! token → 401; ANALYST, INTEGRATION → 403; an id that is not one, or
//! evidence without a file → 404. The file is uploaded by whoever could add
//! evidence, so a browser must never treat it as a page of this origin: it
//! is always an attachment, with the type detected at upload, `nosniff`
//! and a sandboxing CSP.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sea_orm::EntityTrait;
use serde_json::json;

use entity::claim_evidence;

use super::response::app_error_response;
use super::{authenticate, credentials, AppState};
use crate::auth::guard::roles;
use crate::auth::{AuthState, Principal};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::service::db::begin_write;
use crate::service::{audit, RequestContext};

async fn authorize(req: &HttpRequest, state: &AppState) -> AppResult<Principal> {
    match authenticate(credentials(req, state), state).await? {
        // Contact details and screenshots of them are not for analysts.
        AuthState::Staff(p) if p.has_any(roles::CLAIM_READERS) && !only_analyst(&p) => Ok(p),
        AuthState::Staff(_) => Err(AppError::Forbidden),
        AuthState::Anonymous | AuthState::Rejected => Err(AppError::Unauthenticated),
    }
}

/// ANALYST and no other role that reads claims.
fn only_analyst(p: &Principal) -> bool {
    let others: Vec<Role> = roles::CLAIM_READERS
        .iter()
        .copied()
        .filter(|r| *r != Role::Analyst)
        .collect();
    !p.has_any(&others)
}

/// `attachment; filename="…"; filename*=UTF-8''…`: the plain name with
/// anything outside printable ASCII replaced, and the exact one encoded.
fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub async fn download(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        let principal = authorize(&req, &state).await?;
        let id = uuid::Uuid::parse_str(&path).map_err(|_| AppError::NotFound("evidence file"))?;
        let row = claim_evidence::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound("evidence file"))?;
        let (Some(sha256), Some(name), Some(content_type)) = (
            row.sha256.clone(),
            row.file_name.clone(),
            row.content_type.clone(),
        ) else {
            return Err(AppError::NotFound("evidence file"));
        };
        let stream = state.evidence.store.get(&sha256).await?;
        let ctx = RequestContext::staff(
            principal.staff_id,
            Some(super::observe::request_id(&req).0.to_string()),
        );
        let txn = begin_write(&state.db).await?;
        audit::record(
            &txn,
            &ctx,
            "evidence.file.viewed",
            "evidence",
            id,
            json!({ "claimId": row.claim_id, "sha256": sha256, "fileName": name }),
        )
        .await?;
        txn.commit().await?;
        Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, content_type))
            .insert_header((header::CONTENT_DISPOSITION, disposition(&name)))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header((header::ETAG, format!("\"{sha256}\"")))
            .streaming(stream))
    };
    match result.await {
        Ok(res) => res,
        Err(err) => app_error_response(&req, &state.metrics, &err, "evidence download"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_quote_nothing_a_header_could_break_on() {
        assert_eq!(
            disposition("screen shot.png"),
            "attachment; filename=\"screen shot.png\"; filename*=UTF-8''screen%20shot.png"
        );
        let d = disposition("Snímek \"x\".png");
        assert!(
            d.starts_with("attachment; filename=\"Sn_mek _x_.png\""),
            "{d}"
        );
        assert!(
            d.ends_with("filename*=UTF-8''Sn%C3%ADmek%20%22x%22.png"),
            "{d}"
        );
    }
}
