//! Chargebacks reported by the bank (ADMIN, FINANCE record and resolve).

use async_graphql::{Context, InputObject, Object, Result, ID};

use entity::chargeback;

use super::access::reads;
use super::connection::{connection_from, PageConnection};
use super::context::{db, page_request, parse_id, request_context};
use super::loaders::{load, OrderLoader};
use super::money::{money, MoneyInput, MoneyObject};
use super::orders::Order;
use super::scalars::Timestamp;
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::enums::{parse_stored, ChargebackAction, ChargebackStatus};
use crate::domain::Money;
use crate::error::AppError;
use crate::service::chargebacks::{self as svc, NewChargeback};

pub struct Chargeback(pub chargeback::Model);

#[Object]
impl Chargeback {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    #[graphql(guard = "reads::<Order>()")]
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        load::<OrderLoader>(ctx, self.0.order_id)
            .await?
            .map(Order::new)
            .ok_or_else(|| AppError::internal("chargeback without order").into())
    }
    async fn amount(&self) -> Result<MoneyObject> {
        Ok(money(self.0.amount_minor, &self.0.currency)?)
    }
    async fn reason_code(&self) -> &str {
        &self.0.reason_code
    }
    /// Unique per chargeback.
    async fn provider_reference(&self) -> &str {
        &self.0.provider_reference
    }
    async fn opened_at(&self) -> Timestamp {
        self.0.opened_at.into()
    }
    /// A claim or logged contact of this customer existed before openedAt.
    async fn prior_contact(&self) -> bool {
        self.0.prior_contact
    }
    async fn action_taken(&self) -> Result<ChargebackAction> {
        Ok(parse_stored(&self.0.action_taken)?)
    }
    /// SENT/SETTLED payouts + chargebacks exceed the order total.
    async fn overlaps_refund(&self) -> bool {
        self.0.overlaps_refund
    }
    async fn status(&self) -> Result<ChargebackStatus> {
        Ok(parse_stored(&self.0.status)?)
    }
    async fn resolved_at(&self) -> Option<Timestamp> {
        self.0.resolved_at.map(Timestamp)
    }
}

#[derive(InputObject)]
pub struct RecordChargebackInput {
    order_id: ID,
    amount: MoneyInput,
    reason_code: String,
    provider_reference: String,
    opened_at: Timestamp,
}

#[derive(Default)]
pub struct ChargebackQuery;

#[Object]
impl ChargebackQuery {
    /// Newest first.
    #[graphql(guard = "reads::<Chargeback>()")]
    async fn chargebacks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<ChargebackStatus>>,
    ) -> Result<PageConnection<Chargeback>> {
        let (page, cursors) = page_request(ctx, first, after, None, None)?;
        let rows = svc::list(db(ctx), &status.unwrap_or_default(), &page).await?;
        Ok(connection_from(&cursors, rows, |c| c.id, Chargeback))
    }
}

#[derive(Default)]
pub struct ChargebackMutation;

#[Object]
impl ChargebackMutation {
    /// Records a chargeback; the same providerReference again returns it.
    #[graphql(guard = "RoleGuard::any(roles::MONEY)")]
    async fn record_chargeback(
        &self,
        ctx: &Context<'_>,
        input: RecordChargebackInput,
    ) -> Result<Chargeback> {
        let new = NewChargeback {
            order_id: parse_id(&input.order_id)?,
            amount: Money::try_from(input.amount)?,
            reason_code: input.reason_code,
            provider_reference: input.provider_reference,
            opened_at: input.opened_at.0,
        };
        Ok(Chargeback(
            svc::record(db(ctx), &request_context(ctx), new).await?,
        ))
    }

    /// OPEN → WON or LOST.
    #[graphql(guard = "RoleGuard::any(roles::MONEY)")]
    async fn resolve_chargeback(
        &self,
        ctx: &Context<'_>,
        chargeback_id: ID,
        outcome: ChargebackStatus,
    ) -> Result<Chargeback> {
        let id = parse_id(&chargeback_id)?;
        Ok(Chargeback(
            svc::resolve(db(ctx), &request_context(ctx), id, outcome).await?,
        ))
    }
}
