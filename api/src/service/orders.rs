//! Orders: idempotent ingest from the storefront, payment, listing.

use std::collections::HashMap;

use crate::service::db::Db;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult,
    IntoActiveModel, QueryFilter, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use entity::{chargeback, customer, order, payout};

use super::db::{begin_write, lock_by_id, WriteTxn};
use super::events;
use super::page::{fetch_page, SortOrder};
use super::sql::{sum_parts, wide};
use super::{audit, customers, new_id, now, RequestContext};
use crate::domain::enums::{EventType, OrderStatus, PaymentMethod};
use crate::domain::page::{Page, PageRequest};
use crate::domain::{Devices, Email, Money, Phone, PlanMonths};
use crate::error::{AppError, AppResult};

/// How far ahead of our clock a client timestamp may be (clock skew).
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// A validated order from the storefront.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub number: String,
    pub customer_email: Email,
    pub customer_name: Option<String>,
    pub customer_phone: Option<Phone>,
    pub plan_months: PlanMonths,
    pub devices: Devices,
    pub total: Money,
    pub payment_method: PaymentMethod,
    pub payment_reference: Option<String>,
    pub placed_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// Refuses timestamps ahead of our clock (beyond skew).
pub fn not_in_future(t: DateTime<Utc>, field: &str) -> AppResult<()> {
    if t > chrono::Utc::now() + CLOCK_SKEW {
        return Err(AppError::bad_input(format!(
            "{field} must not be in the future"
        )));
    }
    Ok(())
}

impl NewOrder {
    /// Checks the cross-field rules (each field is already a validated type).
    pub fn validate(&self) -> AppResult<()> {
        if self.number.is_empty()
            || self.number.chars().count() > 64
            || self
                .number
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(AppError::bad_input(
                "number must be 1 to 64 characters without spaces",
            ));
        }
        if !self.total.is_positive() {
            return Err(AppError::bad_input("total must be greater than zero"));
        }
        not_in_future(self.placed_at, "placedAt")?;
        if let Some(paid) = self.paid_at {
            not_in_future(paid, "paidAt")?;
            if paid < self.placed_at {
                return Err(AppError::bad_input("paidAt must not be before placedAt"));
            }
        }
        Ok(())
    }

    /// True when `existing` records this same order (a storefront retry). A
    /// retry of the original request still matches after the order was paid.
    fn matches(&self, existing: &order::Model, existing_email: &str) -> bool {
        existing.number == self.number
            && existing_email == self.customer_email.as_str()
            && existing.plan_months == self.plan_months.get() as i32
            && existing.devices == self.devices.get() as i32
            && existing.total_minor == self.total.minor()
            && existing.currency == self.total.currency().code()
            && existing.payment_method == self.payment_method.as_str()
            && existing.placed_at == self.placed_at
            && (self.payment_reference.is_none()
                || existing.payment_reference == self.payment_reference)
            && (self.paid_at.is_none() || existing.paid_at == self.paid_at)
    }
}

pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<Option<order::Model>> {
    Ok(order::Entity::find_by_id(id).one(conn).await?)
}

pub async fn find_by_number<C: ConnectionTrait>(
    conn: &C,
    number: &str,
) -> AppResult<Option<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::Number.eq(number.trim()))
        .one(conn)
        .await?)
}

/// Returns the existing order when `new` repeats it, CONFLICT when the number
/// is taken by different data.
async fn existing_same<C: ConnectionTrait>(
    conn: &C,
    new: &NewOrder,
) -> AppResult<Option<order::Model>> {
    let Some(existing) = find_by_number(conn, &new.number).await? else {
        return Ok(None);
    };
    let email = customers::find(conn, existing.customer_id)
        .await?
        .map(|c| c.email)
        .unwrap_or_default();
    if new.matches(&existing, &email) {
        Ok(Some(existing))
    } else {
        Err(AppError::Conflict(format!(
            "order {} already exists with different data",
            new.number
        )))
    }
}

/// Creates the order (and its customer), or returns the same order again when
/// the storefront retries. Restricted customers are refused.
#[tracing::instrument(skip(db, new), fields(number = %new.number))]
pub async fn create(db: &Db, ctx: &RequestContext, new: NewOrder) -> AppResult<order::Model> {
    new.validate()?;
    if let Some(existing) = existing_same(db, &new).await? {
        return Ok(existing);
    }
    let txn = begin_write(db).await?;
    match insert_in(&txn, ctx, &new).await? {
        Some(stored) => {
            txn.commit().await?;
            Ok(stored)
        }
        None => {
            // A concurrent request won the race for this number.
            txn.rollback().await?;
            existing_same(db, &new)
                .await?
                .ok_or_else(|| AppError::Conflict("the order number was taken concurrently".into()))
        }
    }
}

/// Inserts a new order (and upserts its customer) with its audit entry and
/// events, in the caller's transaction. `None` when the number was taken
/// by a concurrent writer (the caller decides: compare, retry, refuse).
pub async fn insert_in(
    txn: &WriteTxn,
    ctx: &RequestContext,
    new: &NewOrder,
) -> AppResult<Option<order::Model>> {
    let customer = customers::upsert_for_order(
        txn,
        &new.customer_email,
        new.customer_name.as_deref(),
        new.customer_phone.as_ref(),
    )
    .await?;
    let at = now();
    let status = if new.paid_at.is_some() {
        OrderStatus::Paid
    } else {
        OrderStatus::Pending
    };
    let id = new_id();
    let model = order::ActiveModel {
        id: Set(id),
        number: Set(new.number.clone()),
        customer_id: Set(customer.id),
        plan_months: Set(new.plan_months.get() as i32),
        devices: Set(new.devices.get() as i32),
        total_minor: Set(new.total.minor()),
        currency: Set(new.total.currency().code().to_string()),
        payment_method: Set(new.payment_method.as_str().to_string()),
        payment_reference: Set(new.payment_reference.clone()),
        status: Set(status.as_str().to_string()),
        placed_at: Set(new.placed_at),
        paid_at: Set(new.paid_at),
        created_at: Set(at),
        updated_at: Set(at),
        lock_version: Set(1),
    };
    order::Entity::insert(model)
        .on_conflict_do_nothing_on([order::Column::Number])
        .exec_without_returning(txn)
        .await?;
    // Whether the row is ours is read back by its number: backends report a
    // skipped insert differently (MySQL counts "found" rows as affected).
    let stored = find_by_number(txn, &new.number).await?;
    let Some(stored) = stored.filter(|o| o.id == id) else {
        return Ok(None);
    };
    audit::record(
        txn,
        ctx,
        "order.create",
        "order",
        id,
        json!({ "number": new.number, "customerId": customer.id, "total": new.total.minor(), "currency": new.total.currency().code() }),
    )
    .await?;
    events::record(txn, ctx, EventType::OrderCreated, &stored).await?;
    if stored.paid_at.is_some() {
        events::record(txn, ctx, EventType::OrderPaid, &stored).await?;
    }
    Ok(Some(stored))
}

/// Locks the order row for the rest of the transaction (money-affecting
/// changes serialize on it, across processes).
pub async fn lock<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<order::Model> {
    lock_by_id::<order::Entity, _>(conn, id, "order").await
}

/// Sets the order's status (the caller holds its lock and writes the audit entry).
pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    current: &order::Model,
    status: OrderStatus,
) -> AppResult<()> {
    let mut model = current.clone().into_active_model();
    model.status = Set(status.as_str().to_string());
    model.lock_version = Set(current.lock_version + 1);
    model.updated_at = Set(now());
    model.update(conn).await?;
    Ok(())
}

/// PENDING → PAID.
#[tracing::instrument(skip(db))]
pub async fn mark_paid(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    paid_at: DateTime<Utc>,
    payment_reference: Option<String>,
) -> AppResult<order::Model> {
    let txn = begin_write(db).await?;
    let current = lock(&txn, id).await?;
    let model = mark_paid_in(&txn, ctx, current, paid_at, payment_reference).await?;
    txn.commit().await?;
    Ok(model)
}

/// PENDING → PAID on an order the caller has locked, in its transaction.
pub async fn mark_paid_in(
    txn: &WriteTxn,
    ctx: &RequestContext,
    current: order::Model,
    paid_at: DateTime<Utc>,
    payment_reference: Option<String>,
) -> AppResult<order::Model> {
    not_in_future(paid_at, "paidAt")?;
    if current.status != OrderStatus::Pending.as_str() {
        return Err(AppError::InvalidTransition(format!(
            "only PENDING orders can be marked paid (this one is {})",
            current.status
        )));
    }
    if paid_at < current.placed_at {
        return Err(AppError::bad_input("paidAt must not be before placedAt"));
    }
    let id = current.id;
    let version = current.lock_version;
    let mut model = current.into_active_model();
    model.status = Set(OrderStatus::Paid.as_str().to_string());
    model.paid_at = Set(Some(paid_at));
    if payment_reference.is_some() {
        model.payment_reference = Set(payment_reference);
    }
    model.lock_version = Set(version + 1);
    model.updated_at = Set(now());
    let model = model.update(txn).await?;
    audit::record(
        txn,
        ctx,
        "order.mark_paid",
        "order",
        id,
        json!({ "paidAt": paid_at }),
    )
    .await?;
    events::record(txn, ctx, EventType::OrderPaid, &model).await?;
    Ok(model)
}

/// PENDING → CANCELLED (the storefront cancelled or the payment failed), on
/// an order the caller has locked.
pub async fn cancel_in(
    txn: &WriteTxn,
    ctx: &RequestContext,
    current: &order::Model,
    cause: &str,
) -> AppResult<()> {
    if current.status != OrderStatus::Pending.as_str() {
        return Err(AppError::InvalidTransition(format!(
            "only PENDING orders can be cancelled (this one is {})",
            current.status
        )));
    }
    set_status(txn, current, OrderStatus::Cancelled).await?;
    audit::record(
        txn,
        ctx,
        "order.cancel",
        "order",
        current.id,
        json!({ "from": current.status, "to": "CANCELLED", "cause": cause }),
    )
    .await?;
    Ok(())
}

/// Filters of the `orders` query, validated.
#[derive(Clone, Debug, Default)]
pub struct OrderQuery {
    pub status: Vec<OrderStatus>,
    pub customer_email: Option<Email>,
    pub number: Option<String>,
    pub placed_from: Option<DateTime<Utc>>,
    pub placed_to: Option<DateTime<Utc>>,
    pub customer_id: Option<Uuid>,
}

/// Newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &OrderQuery,
    page: &PageRequest,
) -> AppResult<Page<order::Model>> {
    let mut q = order::Entity::find();
    if !filter.status.is_empty() {
        q = q.filter(order::Column::Status.is_in(filter.status.iter().map(|s| s.as_str())));
    }
    if let Some(email) = &filter.customer_email {
        q = q.filter(
            order::Column::CustomerId.in_subquery(
                Query::select()
                    .column(customer::Column::Id)
                    .from(customer::Entity)
                    .and_where(customer::Column::Email.eq(email.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(id) = filter.customer_id {
        q = q.filter(order::Column::CustomerId.eq(id));
    }
    if let Some(n) = &filter.number {
        q = q.filter(order::Column::Number.eq(n.trim()));
    }
    if let Some(t) = filter.placed_from {
        q = q.filter(order::Column::PlacedAt.gte(t));
    }
    if let Some(t) = filter.placed_to {
        q = q.filter(order::Column::PlacedAt.lt(t));
    }
    Ok(fetch_page(conn, q, order::Column::Id, SortOrder::NewestFirst, page).await?)
}

/// Money already spoken for on an order, by kind. Sums are `i128`: an
/// order may have any number of chargebacks, each up to the amount ceiling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderMoney {
    /// SETTLED payouts.
    pub settled: i128,
    /// Payouts not FAILED/CANCELLED.
    pub committed_payouts: i128,
    /// Chargebacks OPEN or LOST.
    pub committed_chargebacks: i128,
}

impl OrderMoney {
    /// total − committed payouts − committed chargebacks, never below zero
    /// (and so never above the total: it always fits in `i64`).
    pub fn refundable(&self, total: i64) -> i64 {
        let left = i128::from(total) - self.committed_payouts - self.committed_chargebacks;
        i64::try_from(left.clamp(0, i128::from(total.max(0)))).unwrap_or(0)
    }
}

#[derive(FromQueryResult)]
struct SumRow {
    order_id: Uuid,
    /// `P` for payouts, `C` for chargebacks.
    kind: String,
    status: String,
    /// The sum's two parts (`sql::sum_parts`).
    high: i64,
    low: i64,
}

/// The money figures of many orders in one statement: payout and chargeback
/// sums per order and status, glued with UNION ALL.
pub async fn money_of<C: ConnectionTrait>(
    conn: &C,
    order_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, OrderMoney>> {
    use sea_orm::sea_query::{Expr, UnionType};
    let backend = conn.get_database_backend();
    let mut out: HashMap<Uuid, OrderMoney> = order_ids
        .iter()
        .map(|id| (*id, OrderMoney::default()))
        .collect();
    let (high, low) = sum_parts(backend, "amount_minor");
    let mut sums = Query::select()
        .column(payout::Column::OrderId)
        .expr_as(Expr::val("P"), "kind")
        .column(payout::Column::Status)
        .expr_as(high.clone(), "high")
        .expr_as(low.clone(), "low")
        .from(payout::Entity)
        .and_where(payout::Column::OrderId.is_in(order_ids.iter().copied()))
        .group_by_col(payout::Column::OrderId)
        .group_by_col(payout::Column::Status)
        .to_owned();
    let chargebacks = Query::select()
        .column(chargeback::Column::OrderId)
        .expr_as(Expr::val("C"), "kind")
        .column(chargeback::Column::Status)
        .expr_as(high, "high")
        .expr_as(low, "low")
        .from(chargeback::Entity)
        .and_where(chargeback::Column::OrderId.is_in(order_ids.iter().copied()))
        .group_by_col(chargeback::Column::OrderId)
        .group_by_col(chargeback::Column::Status)
        .to_owned();
    sums.union(UnionType::All, chargebacks);
    let rows = SumRow::find_by_statement(backend.build(&sums))
        .all(conn)
        .await?;
    for row in rows {
        let m = out.entry(row.order_id).or_default();
        let amount = wide(row.high, row.low);
        match (row.kind.as_str(), row.status.as_str()) {
            ("P", "SETTLED") => {
                m.settled += amount;
                m.committed_payouts += amount;
            }
            ("P", "FAILED" | "CANCELLED") => {}
            ("P", _) => m.committed_payouts += amount,
            ("C", "OPEN" | "LOST") => m.committed_chargebacks += amount,
            _ => {}
        }
    }
    Ok(out)
}

/// The first page (newest first) of the orders of many customers, in two
/// queries whatever the number of customers: a window function numbers each
/// customer's orders, and one GROUP BY counts them.
pub async fn first_pages_of_customers<C: ConnectionTrait>(
    conn: &C,
    customer_ids: &[Uuid],
    size: usize,
) -> AppResult<HashMap<Uuid, Page<order::Model>>> {
    use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
    let backend = conn.get_database_backend();
    let inner = Query::select()
        .column(Asterisk)
        .expr_as(
            Expr::cust("ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY id DESC)"),
            Alias::new("rn"),
        )
        .from(order::Entity)
        .and_where(Expr::col(order::Column::CustomerId).is_in(customer_ids.iter().copied()))
        .to_owned();
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("numbered"))
        .and_where(Expr::col(Alias::new("rn")).lte(size as i64 + 1))
        .order_by(Alias::new("rn"), sea_orm::Order::Asc)
        .to_owned();
    let rows = order::Entity::find()
        .from_raw_sql(backend.build(&outer))
        .all(conn)
        .await?;
    let counts: Vec<(Uuid, i64)> = order::Entity::find()
        .select_only()
        .column(order::Column::CustomerId)
        .column_as(Expr::col(order::Column::Id).count(), "n")
        .filter(order::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .group_by(order::Column::CustomerId)
        .into_tuple()
        .all(conn)
        .await?;
    let mut pages: HashMap<Uuid, Page<order::Model>> = customer_ids
        .iter()
        .map(|id| {
            (
                *id,
                Page {
                    items: Vec::new(),
                    has_next: false,
                    has_previous: false,
                    total: 0,
                },
            )
        })
        .collect();
    for (id, n) in counts {
        if let Some(p) = pages.get_mut(&id) {
            p.total = u64::try_from(n).unwrap_or(0);
        }
    }
    for row in rows {
        if let Some(p) = pages.get_mut(&row.customer_id) {
            if p.items.len() < size {
                p.items.push(row);
            } else {
                p.has_next = true;
            }
        }
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refundable_subtracts_commitments_and_never_goes_negative() {
        let cases = [
            (1000, OrderMoney::default(), 1000),
            (
                1000,
                OrderMoney {
                    settled: 300,
                    committed_payouts: 500,
                    committed_chargebacks: 0,
                },
                500,
            ),
            (
                1000,
                OrderMoney {
                    settled: 0,
                    committed_payouts: 0,
                    committed_chargebacks: 1000,
                },
                0,
            ),
            (
                1000,
                OrderMoney {
                    settled: 600,
                    committed_payouts: 600,
                    committed_chargebacks: 1000,
                },
                0,
            ),
        ];
        for (total, money, want) in cases {
            assert_eq!(money.refundable(total), want, "{money:?}");
        }
    }
}
