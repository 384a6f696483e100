//! Who is calling: the bearer token read without SQL, then checked against
//! the staff row.

use actix_web::http::header;
use actix_web::HttpRequest;

use super::AppState;
use crate::auth::AuthState;
use crate::error::AppError;
use crate::service;

/// What the `Authorization` header says, read without SQL: no header, a
/// token that does not verify, or a signed token's staff id and version.
#[derive(Clone, Copy)]
pub(crate) enum Credentials {
    Absent,
    Invalid,
    Signed { staff_id: uuid::Uuid, version: i32 },
}

impl Credentials {
    /// The staff id of a signed token (not yet checked against the database).
    pub(crate) fn signed_by(self) -> Option<uuid::Uuid> {
        match self {
            Credentials::Signed { staff_id, .. } => Some(staff_id),
            Credentials::Absent | Credentials::Invalid => None,
        }
    }
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
