//! Orders: the storefront's ingest and the staff's view.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, ID};

use entity::order;

use super::access::reads;
use super::activations::Activation;
use super::chargebacks::Chargeback;
use super::claims::Claim;
use super::connection::{connection_from, PageConnection};
use super::context::{db, page_request, parse_id, request_context};
use super::customers::Customer;
use super::eager::Eager;
use super::loaders::{
    load, load_list, ActivationByOrderLoader, ChargebacksByOrderLoader, ClaimsByOrderLoader,
    CustomerLoader, OrderMoneyLoader, PayoutsByOrderLoader,
};
use super::money::{money, money_sum, MoneyInput, MoneyObject};
use super::payouts::Payout;
use super::scalars::Timestamp;
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::enums::{parse_stored, OrderStatus, PaymentMethod};
use crate::domain::{Devices, Email, Money, Phone, PlanMonths};
use crate::error::{AppError, AppResult};
use crate::service::claim_list::Joined;
use crate::service::orders::{NewOrder, OrderQuery};
use crate::service::text::exact_filter;
use crate::service::text::optional_text;
use crate::service::{self, truncate_micros};

/// An order. Reached from a claims page row, it shares what the row read
/// beside its claim, for its customer and activation (see `Claim`).
pub struct Order(pub order::Model, Option<Arc<Joined>>);

impl Order {
    pub fn new(model: order::Model) -> Self {
        Order(model, None)
    }

    /// The order of a claims page row, with what the row read beside it.
    pub fn joined(model: order::Model, row: Arc<Joined>) -> Self {
        Order(model, Some(row))
    }
}

#[Object]
impl Order {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The storefront's order number, unique.
    async fn number(&self) -> &str {
        &self.0.number
    }
    #[graphql(guard = "reads::<Customer>()")]
    async fn customer(&self, ctx: &Context<'_>) -> Result<Eager<Customer>> {
        let joined = self.1.as_ref().and_then(|j| j.customer.as_ref());
        if let Some(c) = joined.filter(|c| c.id == self.0.customer_id) {
            return Ok(Eager(Customer(c.clone())));
        }
        load::<CustomerLoader>(ctx, self.0.customer_id)
            .await?
            .map(|c| Eager(Customer(c)))
            .ok_or_else(|| AppError::internal("order without customer").into())
    }
    async fn plan_months(&self) -> i32 {
        self.0.plan_months
    }
    async fn devices(&self) -> i32 {
        self.0.devices
    }
    async fn total(&self) -> Result<MoneyObject> {
        Ok(money(self.0.total_minor, &self.0.currency)?)
    }
    /// Sum of SETTLED payouts.
    async fn refunded_total(&self, ctx: &Context<'_>) -> Result<MoneyObject> {
        let m = load::<OrderMoneyLoader>(ctx, self.0.id)
            .await?
            .unwrap_or_default();
        Ok(money_sum(m.settled, &self.0.currency)?)
    }
    /// total − payouts not FAILED/CANCELLED − chargebacks OPEN or LOST (never below zero).
    async fn refundable(&self, ctx: &Context<'_>) -> Result<MoneyObject> {
        let m = load::<OrderMoneyLoader>(ctx, self.0.id)
            .await?
            .unwrap_or_default();
        Ok(money(m.refundable(self.0.total_minor), &self.0.currency)?)
    }
    async fn payment_method(&self) -> Result<PaymentMethod> {
        Ok(parse_stored(&self.0.payment_method)?)
    }
    async fn payment_reference(&self) -> Option<&str> {
        self.0.payment_reference.as_deref()
    }
    async fn status(&self) -> Result<OrderStatus> {
        Ok(parse_stored(&self.0.status)?)
    }
    async fn placed_at(&self) -> Timestamp {
        self.0.placed_at.into()
    }
    async fn paid_at(&self) -> Option<Timestamp> {
        self.0.paid_at.map(Timestamp)
    }
    #[graphql(guard = "reads::<Claim>()")]
    async fn claims(&self, ctx: &Context<'_>) -> Result<Vec<Claim>> {
        load_list::<ClaimsByOrderLoader, _, _>(ctx, self.0.id, Claim::new).await
    }
    #[graphql(guard = "reads::<Payout>()")]
    async fn payouts(&self, ctx: &Context<'_>) -> Result<Vec<Payout>> {
        load_list::<PayoutsByOrderLoader, _, _>(ctx, self.0.id, Payout).await
    }
    #[graphql(guard = "reads::<Chargeback>()")]
    async fn chargebacks(&self, ctx: &Context<'_>) -> Result<Vec<Chargeback>> {
        load_list::<ChargebacksByOrderLoader, _, _>(ctx, self.0.id, Chargeback).await
    }
    #[graphql(guard = "reads::<Activation>()")]
    async fn activation(&self, ctx: &Context<'_>) -> Result<Option<Eager<Activation>>> {
        let joined = self.1.as_ref().and_then(|j| j.activation.as_ref());
        let found = match joined {
            Some(read) if read.as_ref().is_none_or(|a| a.order_id == self.0.id) => read.clone(),
            _ => load::<ActivationByOrderLoader>(ctx, self.0.id)
                .await?
                .flatten(),
        };
        Ok(found.map(|a| Eager(Activation::new(a, self.0.plan_months))))
    }
}

#[derive(InputObject, Default)]
pub struct OrderFilter {
    status: Option<Vec<OrderStatus>>,
    customer_email: Option<String>,
    number: Option<String>,
    placed_from: Option<Timestamp>,
    placed_to: Option<Timestamp>,
}

impl TryFrom<OrderFilter> for OrderQuery {
    type Error = AppError;

    fn try_from(f: OrderFilter) -> AppResult<Self> {
        Ok(OrderQuery {
            status: f.status.unwrap_or_default(),
            customer_email: f
                .customer_email
                .map(|e| Email::parse(&e).map_err(|e| AppError::bad_input(e.to_string())))
                .transpose()?,
            number: exact_filter(f.number, "number")?,
            placed_from: f.placed_from.map(|t| t.0),
            placed_to: f.placed_to.map(|t| t.0),
            customer_id: None,
        })
    }
}

#[derive(Default)]
pub struct OrderQueryRoot;

#[Object]
impl OrderQueryRoot {
    #[graphql(guard = "reads::<Order>()")]
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
        let id = parse_id(&id)?;
        Ok(service::orders::find(db(ctx), id).await?.map(Order::new))
    }

    #[graphql(guard = "reads::<Order>()")]
    async fn order_by_number(&self, ctx: &Context<'_>, number: String) -> Result<Option<Order>> {
        Ok(service::orders::find_by_number(db(ctx), &number)
            .await?
            .map(Order::new))
    }

    /// Newest first.
    #[graphql(guard = "reads::<Order>()")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OrderFilter>,
    ) -> Result<PageConnection<Order>> {
        let (page, cursors) = page_request(ctx, first, after, last, before)?;
        let filter = OrderQuery::try_from(filter.unwrap_or_default())?;
        let rows = service::orders::list(db(ctx), &filter, &page).await?;
        Ok(connection_from(&cursors, rows, |o| o.id, Order::new))
    }
}

#[derive(InputObject)]
pub struct CreateOrderInput {
    number: String,
    customer_email: String,
    customer_name: Option<String>,
    customer_phone: Option<String>,
    plan_months: i32,
    devices: i32,
    total: MoneyInput,
    payment_method: PaymentMethod,
    payment_reference: Option<String>,
    placed_at: Timestamp,
    /// null = PENDING
    paid_at: Option<Timestamp>,
}

impl TryFrom<CreateOrderInput> for NewOrder {
    type Error = AppError;

    fn try_from(i: CreateOrderInput) -> AppResult<Self> {
        let bad = |e: &dyn std::fmt::Display| AppError::bad_input(e.to_string());
        Ok(NewOrder {
            number: i.number.trim().to_string(),
            customer_email: Email::parse(&i.customer_email).map_err(|e| bad(&e))?,
            customer_name: optional_text(i.customer_name, "customerName", 200)?,
            customer_phone: i
                .customer_phone
                .filter(|p| !p.trim().is_empty())
                .map(|p| Phone::parse(&p).map_err(|e| bad(&e)))
                .transpose()?,
            plan_months: PlanMonths::parse(i.plan_months).map_err(|e| bad(&e))?,
            devices: Devices::parse(i.devices).map_err(|e| bad(&e))?,
            total: Money::try_from(i.total)?,
            payment_method: i.payment_method,
            payment_reference: optional_text(i.payment_reference, "paymentReference", 255)?,
            placed_at: i.placed_at.0,
            paid_at: i.paid_at.map(|t| t.0),
        })
    }
}

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Idempotent by number: the same order again returns it; other data → CONFLICT.
    #[graphql(guard = "RoleGuard::any(roles::ORDER_WRITERS)")]
    async fn create_order(&self, ctx: &Context<'_>, input: CreateOrderInput) -> Result<Order> {
        let new = NewOrder::try_from(input)?;
        Ok(Order::new(
            service::orders::create(db(ctx), &request_context(ctx), new).await?,
        ))
    }

    /// PENDING → PAID.
    #[graphql(guard = "RoleGuard::any(roles::ORDER_WRITERS)")]
    async fn mark_order_paid(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        paid_at: Timestamp,
        payment_reference: Option<String>,
    ) -> Result<Order> {
        let id = parse_id(&order_id)?;
        let reference = optional_text(payment_reference, "paymentReference", 255)?;
        let model = service::orders::mark_paid(
            db(ctx),
            &request_context(ctx),
            id,
            truncate_micros(paid_at.0),
            reference,
        )
        .await?;
        Ok(Order::new(model))
    }
}
