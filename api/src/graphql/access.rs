//! Who may read each object type, in one place (DESIGN.md's roles table).
//!
//! Every field that returns one of these types, at the root or nested in
//! another type, is guarded with [`reads`] of that type: reaching a claim
//! through `Order.claims` needs the same role as the root `claims` query.
//! Types not listed here (money, page info, report buckets) are parts of the
//! object that holds them. `tests/tests/access.rs` walks the whole schema by
//! introspection, as each role, and compares every object-typed field with
//! the roles table.

use async_graphql::Context;

use super::context::principal;
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::Role;

/// True when the caller sees email addresses and phone numbers unmasked.
pub fn sees_contact_details(ctx: &Context<'_>) -> bool {
    principal(ctx).is_ok_and(|p| p.has_any(roles::CONTACT_DETAIL_READERS))
}

/// An object type with its own readers.
pub trait Readable {
    const READERS: &'static [Role];
}

/// The guard of every field that returns a `T`.
pub fn reads<T: Readable>() -> RoleGuard {
    RoleGuard::any(T::READERS)
}

macro_rules! readable {
    ($($ty:path => $readers:expr;)*) => {
        $(impl Readable for $ty {
            const READERS: &'static [Role] = $readers;
        })*
    };
}

readable! {
    super::orders::Order => roles::ORDER_READERS;
    super::customers::Customer => roles::ORDER_READERS;
    super::customers::CustomerContact => roles::ORDER_READERS;
    super::activations::Activation => roles::ORDER_READERS;
    super::activations::ActivationCredentials => roles::CREDENTIAL_READERS;
    super::claims::Claim => roles::CLAIM_READERS;
    super::claims::Evidence => roles::CLAIM_READERS;
    super::claims::ClaimEvent => roles::CLAIM_READERS;
    super::payouts::Payout => roles::CLAIM_READERS;
    super::chargebacks::Chargeback => roles::CLAIM_READERS;
    super::policy::EligibilityAssessment => roles::CLAIM_READERS;
    super::audit::AuditEntry => roles::AUDIT_READERS;
    super::report::RefundReport => roles::REPORTERS;
    super::staff::Staff => &Role::ALL;
    super::events::Event => roles::EVENT_READERS;
    super::webhooks::WebhookEndpoint => roles::ADMIN;
    super::webhooks::WebhookDelivery => roles::ADMIN;
    super::inbound::InboundMessage => roles::ADMIN;
    super::inbound::ProductPlan => roles::PLAN_READERS;
    super::policy::PolicyVersion => &Role::ALL;
}
