//! Chargebacks: facts reported by the bank. Recording one never fails for
//! money reasons; without prior contact it triggers the policy's action.

use crate::service::db::Db;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use entity::{activation, chargeback, customer, customer_contact, order, payout, refund_claim};

use super::db::{begin_write, is_unique_violation, WriteTxn};
use super::orders::{money_of, not_in_future};
use super::page::{fetch_page, SortOrder};
use super::text::required_line_up_to;
use super::{audit, claims, events, new_id, now, orders, policy, RequestContext};
use crate::domain::claim::ClaimAction;
use crate::domain::enums::{
    parse_stored, ActivationStatus, ChargebackAction, ChargebackStatus, EventType, OrderStatus,
    PayoutStatus, RejectionReason,
};
use crate::domain::page::{Page, PageRequest};
use crate::domain::Money;
use crate::error::{AppError, AppResult};

/// The restriction reason set on customers who charge back without contacting us.
pub const RESTRICTION_REASON: &str = "CHARGEBACK_WITHOUT_PRIOR_CONTACT";

/// A validated chargeback report.
#[derive(Clone, Debug)]
pub struct NewChargeback {
    pub order_id: Uuid,
    pub amount: Money,
    pub reason_code: String,
    pub provider_reference: String,
    pub opened_at: DateTime<Utc>,
}

impl NewChargeback {
    fn validate(&self) -> AppResult<()> {
        if !self.amount.is_positive() {
            return Err(AppError::bad_input("amount must be greater than zero"));
        }
        required_line_up_to(&self.reason_code, "reasonCode", 64)?;
        required_line_up_to(&self.provider_reference, "providerReference", 255)?;
        not_in_future(self.opened_at, "openedAt")
    }

    fn matches(&self, existing: &chargeback::Model) -> bool {
        existing.order_id == self.order_id
            && existing.amount_minor == self.amount.minor()
            && existing.currency == self.amount.currency().code()
            && existing.reason_code == self.reason_code.trim()
            && existing.opened_at == self.opened_at
    }
}

async fn by_reference<C: ConnectionTrait>(
    conn: &C,
    new: &NewChargeback,
) -> AppResult<Option<chargeback::Model>> {
    let found = chargeback::Entity::find()
        .filter(chargeback::Column::ProviderReference.eq(new.provider_reference.trim()))
        .one(conn)
        .await?;
    match found {
        Some(existing) if new.matches(&existing) => Ok(Some(existing)),
        Some(_) => Err(AppError::Conflict(
            "this providerReference was already recorded with different data".into(),
        )),
        None => Ok(None),
    }
}

/// A claim or logged contact of the customer before `opened_at`.
async fn prior_contact<C: ConnectionTrait>(
    conn: &C,
    customer_id: Uuid,
    opened_at: DateTime<Utc>,
) -> AppResult<bool> {
    let claims = refund_claim::Entity::find()
        .filter(refund_claim::Column::CustomerId.eq(customer_id))
        .filter(refund_claim::Column::SubmittedAt.lt(opened_at))
        .count(conn)
        .await?;
    if claims > 0 {
        return Ok(true);
    }
    let contacts = customer_contact::Entity::find()
        .filter(customer_contact::Column::CustomerId.eq(customer_id))
        .filter(customer_contact::Column::ContactedAt.lt(opened_at))
        .count(conn)
        .await?;
    Ok(contacts > 0)
}

#[tracing::instrument(skip(db, new), fields(order_id = %new.order_id))]
pub async fn record(
    db: &Db,
    ctx: &RequestContext,
    new: NewChargeback,
) -> AppResult<chargeback::Model> {
    // Bad input is refused before a reference is looked up (and again in
    // `record_in`, which inbound messages call directly).
    new.validate()?;
    if let Some(existing) = by_reference(db, &new).await? {
        return Ok(existing);
    }
    let txn = begin_write(db).await?;
    match record_in(&txn, ctx, &new).await? {
        Some(saved) => {
            txn.commit().await?;
            Ok(saved)
        }
        None => {
            drop(txn);
            by_reference(db, &new).await?.ok_or_else(|| {
                AppError::Conflict("the providerReference was recorded concurrently".into())
            })
        }
    }
}

/// Records the chargeback and its effects in the caller's transaction, or
/// returns the one already recorded under the same reference. `None` when a
/// concurrent writer took the reference (the transaction is then spent: the
/// caller rolls back and reads the winner's).
pub async fn record_in(
    txn: &WriteTxn,
    ctx: &RequestContext,
    new: &NewChargeback,
) -> AppResult<Option<chargeback::Model>> {
    new.validate()?;
    let order = orders::lock(txn, new.order_id).await?;
    if new.amount.currency().code() != order.currency {
        return Err(AppError::bad_input(format!(
            "amount must be in {}",
            order.currency
        )));
    }
    if let Some(existing) = by_reference(txn, new).await? {
        return Ok(Some(existing));
    }
    let prior = prior_contact(txn, order.customer_id, new.opened_at).await?;
    let rules = policy::rules_of(&policy::in_force_at(txn, now()).await?)?;
    let action = if prior {
        ChargebackAction::None
    } else {
        rules.chargeback_action
    };
    let id = new_id();
    let at = now();
    let model = chargeback::ActiveModel {
        id: Set(id),
        order_id: Set(order.id),
        amount_minor: Set(new.amount.minor()),
        currency: Set(order.currency.clone()),
        reason_code: Set(new.reason_code.trim().to_string()),
        provider_reference: Set(new.provider_reference.trim().to_string()),
        opened_at: Set(new.opened_at),
        prior_contact: Set(prior),
        action_taken: Set(action.as_str().to_string()),
        overlaps_refund: Set(false),
        status: Set(ChargebackStatus::Open.as_str().to_string()),
        resolved_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    if let Err(e) = chargeback::Entity::insert(model)
        .exec_without_returning(txn)
        .await
    {
        if is_unique_violation(&e) {
            return Ok(None);
        }
        return Err(e.into());
    }
    ctx.fault_point("chargeback.record").await?;
    audit::record(
        txn,
        ctx,
        "chargeback.record",
        "chargeback",
        id,
        json!({ "orderId": order.id, "amount": new.amount.minor(), "priorContact": prior, "action": action.as_str() }),
    )
    .await?;
    if !prior {
        apply_action(txn, ctx, &order, action).await?;
    }
    cancel_excess_pending_payouts(txn, ctx, &order).await?;
    let overlaps = overlaps_refund(txn, &order).await?;
    let mut saved = chargeback::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal("chargeback vanished after insert"))?;
    if overlaps {
        let mut m = saved.clone().into_active_model();
        m.overlaps_refund = Set(true);
        saved = m.update(txn).await?;
    }
    // Last, so its data holds `overlapsRefund` as committed.
    events::record(txn, ctx, EventType::ChargebackOpened, &saved).await?;
    Ok(Some(saved))
}

/// Without prior contact: suspend or terminate the activation, restrict the
/// customer, reject the order's open claims.
async fn apply_action(
    txn: &WriteTxn,
    ctx: &RequestContext,
    order: &order::Model,
    action: ChargebackAction,
) -> AppResult<()> {
    let target = match action {
        ChargebackAction::Suspend => Some(ActivationStatus::Suspended),
        ChargebackAction::Terminate => Some(ActivationStatus::Terminated),
        ChargebackAction::None => None,
    };
    if let Some(target) = target {
        let found = activation::Entity::find()
            .filter(activation::Column::OrderId.eq(order.id))
            .one(txn)
            .await?;
        // A terminated activation stays terminated; a later WON never revives it.
        if let Some(a) = found.filter(|a| {
            a.status != ActivationStatus::Terminated.as_str() && a.status != target.as_str()
        }) {
            let from = a.status.clone();
            let mut m = a.clone().into_active_model();
            m.status = Set(target.as_str().to_string());
            m.updated_at = Set(now());
            m.update(txn).await?;
            audit::record(
                txn,
                ctx,
                "activation.status",
                "activation",
                a.id,
                json!({ "from": from, "to": target.as_str(), "cause": "chargeback" }),
            )
            .await?;
        }
    }
    let customer = customer::Entity::find_by_id(order.customer_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("customer"))?;
    if !customer.restricted {
        let mut m = customer.clone().into_active_model();
        m.restricted = Set(true);
        m.restriction_reason = Set(Some(RESTRICTION_REASON.to_string()));
        m.updated_at = Set(now());
        let restricted = m.update(txn).await?;
        events::record(txn, ctx, EventType::CustomerRestricted, &restricted).await?;
        audit::record(
            txn,
            ctx,
            "customer.restrict",
            "customer",
            customer.id,
            json!({ "reason": RESTRICTION_REASON }),
        )
        .await?;
    }
    let open = refund_claim::Entity::find()
        .filter(refund_claim::Column::OpenOrderId.eq(order.id))
        .all(txn)
        .await?;
    for claim in open {
        let to = claims::transition(&claim, ClaimAction::Reject)?;
        let mut m = claim.clone().into_active_model();
        m.status = Set(to.as_str().to_string());
        m.rejection_reason = Set(Some(RejectionReason::ChargebackOpened.as_str().to_string()));
        m.decision_note = Set(Some("chargeback opened without prior contact".into()));
        m.decided_at = Set(Some(now()));
        m.decided_by = Set(ctx.actor);
        m.open_order_id = Set(None);
        m.version = Set(claim.version + 1);
        m.updated_at = Set(now());
        let rejected = m.update(txn).await?;
        events::record(txn, ctx, EventType::ClaimRejected, &rejected).await?;
        claims::record_event(
            txn,
            claim.id,
            "rejected",
            ctx.actor,
            Some("chargeback opened".into()),
        )
        .await?;
        audit::record(txn, ctx, "claim.reject", "claim", claim.id, json!({ "reason": RejectionReason::ChargebackOpened.as_str(), "from": claim.status, "to": to.as_str() })).await?;
    }
    Ok(())
}

/// Cancels PENDING payouts, newest first, while the order's commitments
/// exceed its total (the money invariant).
async fn cancel_excess_pending_payouts(
    txn: &WriteTxn,
    ctx: &RequestContext,
    order: &order::Model,
) -> AppResult<()> {
    let money = money_of(txn, &[order.id])
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    let mut excess =
        money.committed_payouts + money.committed_chargebacks - i128::from(order.total_minor);
    if excess <= 0 {
        return Ok(());
    }
    let pending = payout::Entity::find()
        .filter(payout::Column::OrderId.eq(order.id))
        .filter(payout::Column::Status.eq(PayoutStatus::Pending.as_str()))
        .order_by_desc(payout::Column::Id)
        .all(txn)
        .await?;
    for p in pending {
        if excess <= 0 {
            break;
        }
        excess -= i128::from(p.amount_minor);
        let mut m = p.clone().into_active_model();
        m.status = Set(PayoutStatus::Cancelled.as_str().to_string());
        m.failure_reason = Set(Some("cancelled: a chargeback covers this amount".into()));
        m.updated_at = Set(now());
        let cancelled = m.update(txn).await?;
        events::record(txn, ctx, EventType::PayoutCancelled, &cancelled).await?;
        claims::record_event(
            txn,
            p.claim_id,
            "payout_cancelled",
            ctx.actor,
            Some("chargeback".into()),
        )
        .await?;
        audit::record(
            txn,
            ctx,
            "payout.cancel",
            "payout",
            p.id,
            json!({ "cause": "chargeback" }),
        )
        .await?;
    }
    Ok(())
}

/// SENT/SETTLED payouts plus OPEN/LOST chargebacks exceed the total.
async fn overlaps_refund<C: ConnectionTrait>(conn: &C, order: &order::Model) -> AppResult<bool> {
    let paid_out: i128 = payout::Entity::find()
        .filter(payout::Column::OrderId.eq(order.id))
        .filter(
            payout::Column::Status
                .is_in([PayoutStatus::Sent.as_str(), PayoutStatus::Settled.as_str()]),
        )
        .all(conn)
        .await?
        .iter()
        .map(|p| i128::from(p.amount_minor))
        .sum();
    let money = money_of(conn, &[order.id])
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    Ok(paid_out + money.committed_chargebacks > i128::from(order.total_minor))
}

/// OPEN → WON (frees the amount) or LOST (keeps it counted; the order is
/// CHARGED_BACK when nothing is left refundable).
pub async fn resolve(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    outcome: ChargebackStatus,
) -> AppResult<chargeback::Model> {
    if outcome == ChargebackStatus::Open {
        return Err(AppError::bad_input("outcome must be WON or LOST"));
    }
    let txn = begin_write(db).await?;
    let saved = resolve_in(&txn, ctx, id, outcome).await?;
    txn.commit().await?;
    Ok(saved)
}

/// [`resolve`] in the caller's transaction.
pub async fn resolve_in(
    txn: &WriteTxn,
    ctx: &RequestContext,
    id: Uuid,
    outcome: ChargebackStatus,
) -> AppResult<chargeback::Model> {
    if outcome == ChargebackStatus::Open {
        return Err(AppError::bad_input("outcome must be WON or LOST"));
    }
    let order_id = chargeback::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("chargeback"))?
        .order_id;
    let order = orders::lock(txn, order_id).await?;
    let current = chargeback::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("chargeback"))?;
    if current.status != ChargebackStatus::Open.as_str() {
        return Err(AppError::InvalidTransition(format!(
            "the chargeback is already {}",
            current.status
        )));
    }
    let mut m = current.clone().into_active_model();
    m.status = Set(outcome.as_str().to_string());
    m.resolved_at = Set(Some(now()));
    m.updated_at = Set(now());
    let saved = m.update(txn).await?;
    ctx.fault_point("chargeback.resolve").await?;
    events::record(txn, ctx, EventType::ChargebackResolved, &saved).await?;
    audit::record(
        txn,
        ctx,
        "chargeback.resolve",
        "chargeback",
        id,
        json!({ "outcome": outcome.as_str() }),
    )
    .await?;
    if outcome == ChargebackStatus::Lost {
        let money = money_of(txn, &[order.id])
            .await?
            .remove(&order.id)
            .unwrap_or_default();
        let status: OrderStatus = parse_stored(&order.status)?;
        if money.refundable(order.total_minor) == 0 && status != OrderStatus::ChargedBack {
            orders::set_status(txn, &order, OrderStatus::ChargedBack).await?;
            audit::record(
                txn,
                ctx,
                "order.status",
                "order",
                order.id,
                json!({ "from": order.status, "to": "CHARGED_BACK" }),
            )
            .await?;
        }
    }
    Ok(saved)
}

/// Newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    status: &[ChargebackStatus],
    page: &PageRequest,
) -> AppResult<Page<chargeback::Model>> {
    let mut q = chargeback::Entity::find();
    if !status.is_empty() {
        q = q.filter(chargeback::Column::Status.is_in(status.iter().map(|s| s.as_str())));
    }
    Ok(fetch_page(
        conn,
        q,
        chargeback::Column::Id,
        SortOrder::NewestFirst,
        page,
    )
    .await?)
}
