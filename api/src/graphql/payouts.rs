//! Payouts (read side; the money mutations come with the payouts issue).

use async_graphql::{Context, Object, Result, ID};
use chrono::NaiveDate;

use entity::payout;

use super::claims::Claim;
use super::loaders::{load, ClaimLoader, OrderLoader};
use super::money::{money, MoneyObject};
use super::orders::Order;
use super::scalars::Timestamp;
use crate::domain::enums::{parse_stored, PaymentMethod, PayoutStatus};
use crate::error::AppError;

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
    async fn claim(&self, ctx: &Context<'_>) -> Result<Claim> {
        load::<ClaimLoader>(ctx, self.0.claim_id)
            .await?
            .map(Claim)
            .ok_or_else(|| AppError::internal("payout without claim").into())
    }
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        load::<OrderLoader>(ctx, self.0.order_id)
            .await?
            .map(Order)
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
    async fn expected_earliest(&self) -> NaiveDate {
        self.0.expected_earliest
    }
    /// initiatedAt + payoutBusinessDaysMax business days.
    async fn expected_latest(&self) -> NaiveDate {
        self.0.expected_latest
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
