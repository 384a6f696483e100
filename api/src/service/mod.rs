//! All database work. Every write runs in one explicit transaction together
//! with its audit entry, so a failure leaves no trace.

pub mod activations;
pub mod approval;
pub mod audit;
pub mod chargebacks;
pub mod claim_list;
pub mod claims;
pub mod contacts;
pub mod customers;
pub mod db;
pub mod demo;
pub mod eligibility;
pub mod events;
pub mod evidence;
pub mod exports;
pub mod faults;
pub mod idempotency;
pub mod inbound;
pub mod orders;
pub mod page;
pub mod payouts;
pub mod policy;
pub mod report;
pub mod seed;
pub mod sql;
pub mod staff;
pub mod text;
pub mod throttle;
pub mod webhooks;

use uuid::Uuid;

/// Who is acting and under which request, for audit entries and events.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub actor: Option<Uuid>,
    pub request_id: Option<String>,
    /// Who caused the change: staff, an integration, or the system.
    pub source: events::Source,
    /// Shared by the events this context writes: one change.
    pub change_id: Uuid,
    /// Only tests set this (see `faults`).
    pub faults: Option<std::sync::Arc<faults::FaultPlan>>,
}

impl Default for RequestContext {
    fn default() -> Self {
        RequestContext {
            actor: None,
            request_id: None,
            source: events::Source::System,
            change_id: new_id(),
            faults: None,
        }
    }
}

impl RequestContext {
    /// Work done by the system itself (CLI, migrations, demo seeding).
    pub fn system() -> Self {
        RequestContext::default()
    }

    /// A staff member's request.
    pub fn staff(actor: Uuid, request_id: Option<String>) -> Self {
        RequestContext {
            actor: Some(actor),
            request_id,
            source: events::Source::Staff,
            ..RequestContext::default()
        }
    }

    /// A point inside a write transaction where a test may inject a fault.
    pub async fn fault_point(&self, point: &str) -> crate::error::AppResult<()> {
        match &self.faults {
            Some(plan) => plan.reach(point).await,
            None => Ok(()),
        }
    }
}

/// A new id: v7, so ids sort by creation time (cursors rely on it).
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// The current time at the precision every backend stores (microseconds), so a
/// value read back equals the value written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    truncate_micros(chrono::Utc::now())
}

pub fn truncate_micros(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// The date-times accepted from outside, as a sentence for error messages.
pub const TIME_RANGE: &str = "between 1970-01-01T00:00:00Z and 2999-12-31T23:59:59Z";

/// True when `t` lies in [`TIME_RANGE`]. Every backend stores up to
/// 9999-12-31; ending a thousand years from now keeps the date arithmetic
/// (windows, business days) far from chrono's and the databases' limits,
/// and no refund needs a later date.
pub fn in_time_range(t: chrono::DateTime<chrono::Utc>) -> bool {
    /// 3000-01-01T00:00:00Z, the first instant refused.
    const END: i64 = 32_503_680_000;
    (0..END).contains(&t.timestamp())
}
