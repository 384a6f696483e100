//! Role guards declared next to each GraphQL field.

use async_graphql::{Context, Guard};

use crate::domain::Role;
use crate::error::AppError;

/// Admits an authenticated staff member holding at least one of the roles
/// (or any authenticated staff member for [`RoleGuard::authenticated`]).
pub struct RoleGuard {
    allowed: Option<&'static [Role]>,
}

impl RoleGuard {
    pub fn any(allowed: &'static [Role]) -> Self {
        RoleGuard {
            allowed: Some(allowed),
        }
    }

    pub fn authenticated() -> Self {
        RoleGuard { allowed: None }
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let principal = crate::graphql::context::principal(ctx)?;
        match self.allowed {
            Some(allowed) if !principal.has_any(allowed) => Err(AppError::Forbidden.into()),
            _ => Ok(()),
        }
    }
}

/// Role sets of DESIGN.md's roles table, named by what they may do.
pub mod roles {
    use crate::domain::Role::{self, *};

    pub const ADMIN: &[Role] = &[Admin];
    pub const AUDIT_READERS: &[Role] = &[Admin, Analyst];
    pub const ORDER_READERS: &[Role] = &[
        Admin,
        RefundManager,
        Finance,
        SupportAgent,
        Analyst,
        Integration,
    ];
    pub const CLAIM_READERS: &[Role] = &[Admin, RefundManager, Finance, SupportAgent, Analyst];
    pub const ORDER_WRITERS: &[Role] = &[Admin, SupportAgent, Integration];
    pub const CLAIM_HANDLERS: &[Role] = &[Admin, RefundManager, SupportAgent];
    pub const DECIDERS: &[Role] = &[Admin, RefundManager];
    pub const MONEY: &[Role] = &[Admin, Finance];
    pub const REPORTERS: &[Role] = &[Admin, RefundManager, Finance, Analyst];
    pub const CREDENTIAL_READERS: &[Role] = &[Admin, SupportAgent];
    pub const EVENT_READERS: &[Role] = &[Admin, Integration];
    /// Who reads the SKU → plan table: the storefront maps its products.
    pub const PLAN_READERS: &[Role] = &[Admin, Integration];
    /// Who sees customers' email addresses and phone numbers in full:
    /// everyone who may read customers except ANALYST. Every field and
    /// export that can hold an email or a phone masks it for the others.
    pub const CONTACT_DETAIL_READERS: &[Role] =
        &[Admin, RefundManager, Finance, SupportAgent, Integration];
}
