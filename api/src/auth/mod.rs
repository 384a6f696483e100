//! Authentication (passwords, JWTs) and authorization (role guards).

pub mod guard;
pub mod jwt;
pub mod password;

use uuid::Uuid;

use crate::domain::{Role, RoleSet};
use crate::error::{AppError, AppResult};

pub use guard::RoleGuard;

/// The authenticated staff member behind a request, loaded fresh from the
/// database for every request (so deactivation and role changes bite at once).
#[derive(Clone, Debug)]
pub struct Principal {
    pub staff_id: Uuid,
    pub roles: RoleSet,
}

impl Principal {
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.any_of(roles)
    }
}

/// What the request's `Authorization` header amounted to.
#[derive(Clone, Debug)]
pub enum AuthState {
    /// No token was sent.
    Anonymous,
    /// A token was sent but is not acceptable (bad signature, expired, revoked…).
    Rejected,
    Staff(Principal),
}

impl AuthState {
    /// The principal, or UNAUTHENTICATED.
    pub fn principal(&self) -> AppResult<&Principal> {
        match self {
            AuthState::Staff(p) => Ok(p),
            AuthState::Anonymous | AuthState::Rejected => Err(AppError::Unauthenticated),
        }
    }
}
