//! Payouts (read side; the money mutations come with the payouts issue).

use async_graphql::{Context, Object, Result, ID};
use chrono::NaiveDate;

use entity::payout;

use super::access::reads;
use super::claims::Claim;
use super::connection::{connection_from, PageConnection};
use super::context::{db, page_request, parse_id, request_context};
use super::loaders::{load, ClaimLoader, OrderLoader};
use super::money::{money, MoneyObject};
use super::orders::Order;
use super::scalars::{Date, Timestamp};
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::enums::{parse_stored, PaymentMethod, PayoutStatus};
use crate::error::AppError;
use crate::service::payouts as svc;

pub struct Payout(pub payout::Model);

impl Payout {
    /// Not finished and past its latest expected date (UTC).
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        !matches!(self.0.status.as_str(), "SETTLED" | "FAILED" | "CANCELLED")
            && today > self.0.expected_latest
    }
}

#[Object]
impl Payout {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    #[graphql(guard = "reads::<Claim>()")]
    async fn claim(&self, ctx: &Context<'_>) -> Result<Claim> {
        load::<ClaimLoader>(ctx, self.0.claim_id)
            .await?
            .map(Claim::new)
            .ok_or_else(|| AppError::internal("payout without claim").into())
    }
    #[graphql(guard = "reads::<Order>()")]
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        load::<OrderLoader>(ctx, self.0.order_id)
            .await?
            .map(Order::new)
            .ok_or_else(|| AppError::internal("payout without order").into())
    }
    async fn amount(&self) -> Result<MoneyObject> {
        Ok(money(self.0.amount_minor, &self.0.currency)?)
    }
    async fn method(&self) -> Result<PaymentMethod> {
        Ok(parse_stored(&self.0.method)?)
    }
    async fn same_method_as_order(&self) -> bool {
        self.0.same_method_as_order
    }
    async fn status(&self) -> Result<PayoutStatus> {
        Ok(parse_stored(&self.0.status)?)
    }
    async fn external_reference(&self) -> Option<&str> {
        self.0.external_reference.as_deref()
    }
    async fn initiated_at(&self) -> Timestamp {
        self.0.initiated_at.into()
    }
    /// initiatedAt + payoutBusinessDaysMin business days (Mon–Fri).
    async fn expected_earliest(&self) -> Date {
        Date(self.0.expected_earliest)
    }
    /// initiatedAt + payoutBusinessDaysMax business days.
    async fn expected_latest(&self) -> Date {
        Date(self.0.expected_latest)
    }
    /// Not SETTLED/FAILED/CANCELLED and today (UTC) is after expectedLatest.
    async fn overdue(&self) -> bool {
        self.is_overdue(chrono::Utc::now().date_naive())
    }
    async fn settled_at(&self) -> Option<Timestamp> {
        self.0.settled_at.map(Timestamp)
    }
    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }
}

#[derive(async_graphql::InputObject, Default)]
pub struct PayoutFilter {
    status: Option<Vec<PayoutStatus>>,
    overdue_only: Option<bool>,
    initiated_from: Option<Timestamp>,
    initiated_to: Option<Timestamp>,
}

#[derive(Default)]
pub struct PayoutQueryRoot;

#[Object]
impl PayoutQueryRoot {
    /// Newest first.
    #[graphql(guard = "reads::<Payout>()")]
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<PayoutFilter>,
    ) -> Result<PageConnection<Payout>> {
        let (page, cursors) = page_request(ctx, first, after, None, None)?;
        let f = filter.unwrap_or_default();
        let query = svc::PayoutQuery {
            status: f.status.unwrap_or_default(),
            overdue_only: f.overdue_only.unwrap_or(false),
            initiated_from: f.initiated_from.map(|t| t.0),
            initiated_to: f.initiated_to.map(|t| t.0),
        };
        let rows = svc::list(db(ctx), &query, &page).await?;
        Ok(connection_from(&cursors, rows, |p| p.id, Payout))
    }
}

#[derive(Default)]
pub struct PayoutMutation;

#[Object]
impl PayoutMutation {
    /// PENDING → SENT.
    #[graphql(guard = "RoleGuard::any(roles::MONEY)")]
    async fn mark_payout_sent(
        &self,
        ctx: &Context<'_>,
        payout_id: ID,
        external_reference: String,
    ) -> Result<Payout> {
        let id = parse_id(&payout_id)?;
        Ok(Payout(
            svc::mark_sent(db(ctx), &request_context(ctx), id, &external_reference).await?,
        ))
    }

    /// SENT → SETTLED (settledAt defaults to now, never in the future).
    #[graphql(guard = "RoleGuard::any(roles::MONEY)")]
    async fn mark_payout_settled(
        &self,
        ctx: &Context<'_>,
        payout_id: ID,
        settled_at: Option<Timestamp>,
    ) -> Result<Payout> {
        let id = parse_id(&payout_id)?;
        Ok(Payout(
            svc::mark_settled(db(ctx), &request_context(ctx), id, settled_at.map(|t| t.0)).await?,
        ))
    }

    /// PENDING | SENT → FAILED.
    #[graphql(guard = "RoleGuard::any(roles::MONEY)")]
    async fn mark_payout_failed(
        &self,
        ctx: &Context<'_>,
        payout_id: ID,
        reason: String,
    ) -> Result<Payout> {
        let id = parse_id(&payout_id)?;
        Ok(Payout(
            svc::mark_failed(db(ctx), &request_context(ctx), id, &reason).await?,
        ))
    }

    /// A new PENDING payout for a FAILED one (once); another method needs a note.
    #[graphql(guard = "RoleGuard::any(roles::MONEY)")]
    async fn retry_payout(
        &self,
        ctx: &Context<'_>,
        payout_id: ID,
        method: Option<PaymentMethod>,
        note: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<Payout> {
        let id = parse_id(&payout_id)?;
        Ok(Payout(
            svc::retry(
                db(ctx),
                &request_context(ctx),
                id,
                method,
                note,
                idempotency_key,
            )
            .await?,
        ))
    }
}
