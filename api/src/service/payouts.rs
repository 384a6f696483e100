//! Payouts: the money going back to the customer.

use crate::service::db::Db;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use entity::{order, payout};

use super::db::{begin_write, is_unique_violation, lock_by_id, WriteTxn};
use super::page::{fetch_page, SortOrder};
use super::text::{required_text, required_text_up_to};
use super::{audit, claims, events, idempotency, new_id, now, RequestContext};
use crate::domain::claim::ClaimAction;
use crate::domain::enums::{
    parse_stored, ClaimStatus, EventType, OrderStatus, PaymentMethod, PayoutStatus,
};
use crate::domain::page::{Page, PageRequest};
use crate::domain::period::add_business_days;
use crate::domain::policy::PolicyRules;
use crate::error::{AppError, AppResult};

/// The expected arrival window: initiatedAt's date (UTC) + min/max business days.
pub fn expected_window(
    initiated_at: DateTime<Utc>,
    policy: &PolicyRules,
) -> (chrono::NaiveDate, chrono::NaiveDate) {
    let day = initiated_at.date_naive();
    (
        add_business_days(day, policy.payout_business_days_min),
        add_business_days(day, policy.payout_business_days_max),
    )
}

/// Creates a PENDING payout. The caller holds the order's lock and has
/// checked that `amount` fits within the order's refundable amount (the
/// money invariant).
pub async fn create_pending<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    claim_id: Uuid,
    amount_minor: i64,
    method: PaymentMethod,
    policy: &PolicyRules,
    retry_of: Option<Uuid>,
) -> AppResult<payout::Model> {
    let at = now();
    let id = new_id();
    let (earliest, latest) = expected_window(at, policy);
    let model = payout::ActiveModel {
        id: Set(id),
        claim_id: Set(claim_id),
        order_id: Set(order.id),
        amount_minor: Set(amount_minor),
        currency: Set(order.currency.clone()),
        method: Set(method.as_str().to_string()),
        same_method_as_order: Set(method.as_str() == order.payment_method),
        status: Set(PayoutStatus::Pending.as_str().to_string()),
        external_reference: Set(None),
        initiated_at: Set(at),
        expected_earliest: Set(earliest),
        expected_latest: Set(latest),
        settled_at: Set(None),
        failure_reason: Set(None),
        retry_of_id: Set(retry_of),
        created_at: Set(at),
        updated_at: Set(at),
    };
    payout::Entity::insert(model)
        .exec_without_returning(conn)
        .await?;
    payout::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal("payout vanished after insert"))
}

/// Locks the payout's order, then the payout (the order lock first, always:
/// it serializes every change to the order's money).
pub async fn lock_with_order<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> AppResult<(order::Model, payout::Model)> {
    let order_id = payout::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("payout"))?
        .order_id;
    let order = super::orders::lock(conn, order_id).await?;
    let payout = lock_by_id::<payout::Entity, _>(conn, id, "payout").await?;
    Ok((order, payout))
}

fn status_of(p: &payout::Model) -> AppResult<PayoutStatus> {
    parse_stored(&p.status)
}

fn invalid(p: &payout::Model, what: &str) -> AppError {
    AppError::InvalidTransition(format!("a {} payout cannot be {what}", p.status))
}

/// Saves a payout change with its claim timeline entry, audit entry and
/// outbox event.
#[allow(clippy::too_many_arguments)]
async fn save_change(
    txn: &WriteTxn,
    ctx: &RequestContext,
    current: &payout::Model,
    mut model: payout::ActiveModel,
    kind: EventType,
    event: &str,
    action: &str,
    details: serde_json::Value,
) -> AppResult<payout::Model> {
    model.updated_at = Set(now());
    let saved = model.update(txn).await?;
    ctx.fault_point(action).await?;
    claims::record_event(txn, current.claim_id, event, ctx.actor, None).await?;
    audit::record(txn, ctx, action, "payout", current.id, details).await?;
    events::record(txn, ctx, kind, &saved).await?;
    Ok(saved)
}

/// PENDING → SENT with the provider's reference.
pub async fn mark_sent(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    reference: &str,
) -> AppResult<payout::Model> {
    let reference = required_text_up_to(reference, "externalReference", 255)?;
    let txn = begin_write(db).await?;
    let (_, current) = lock_with_order(&txn, id).await?;
    if status_of(&current)? != PayoutStatus::Pending {
        return Err(invalid(&current, "marked sent"));
    }
    let mut model = current.clone().into_active_model();
    model.status = Set(PayoutStatus::Sent.as_str().to_string());
    model.external_reference = Set(Some(reference.to_string()));
    let saved = save_change(
        &txn,
        ctx,
        &current,
        model,
        EventType::PayoutSent,
        "payout_sent",
        "payout.mark_sent",
        json!({ "externalReference": reference }),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// PENDING | SENT → FAILED with a reason.
pub async fn mark_failed(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    reason: &str,
) -> AppResult<payout::Model> {
    let txn = begin_write(db).await?;
    let saved = mark_failed_in(&txn, ctx, id, reason).await?;
    txn.commit().await?;
    Ok(saved)
}

/// [`mark_failed`] in the caller's transaction.
pub async fn mark_failed_in(
    txn: &WriteTxn,
    ctx: &RequestContext,
    id: Uuid,
    reason: &str,
) -> AppResult<payout::Model> {
    let reason = required_text(reason, "reason")?;
    let (_, current) = lock_with_order(txn, id).await?;
    if !matches!(
        status_of(&current)?,
        PayoutStatus::Pending | PayoutStatus::Sent
    ) {
        return Err(invalid(&current, "marked failed"));
    }
    let mut model = current.clone().into_active_model();
    model.status = Set(PayoutStatus::Failed.as_str().to_string());
    model.failure_reason = Set(Some(reason.clone()));
    save_change(
        txn,
        ctx,
        &current,
        model,
        EventType::PayoutFailed,
        "payout_failed",
        "payout.mark_failed",
        json!({ "reason": reason }),
    )
    .await
}

/// SENT → SETTLED. When the claim's settled payouts reach its approved
/// amount the claim becomes REFUNDED; the order becomes REFUNDED when nothing
/// is left refundable, else PARTIALLY_REFUNDED.
pub async fn mark_settled(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    settled_at: Option<DateTime<Utc>>,
) -> AppResult<payout::Model> {
    let txn = begin_write(db).await?;
    let saved = mark_settled_in(&txn, ctx, id, settled_at).await?;
    txn.commit().await?;
    Ok(saved)
}

/// [`mark_settled`] in the caller's transaction.
pub async fn mark_settled_in(
    txn: &WriteTxn,
    ctx: &RequestContext,
    id: Uuid,
    settled_at: Option<DateTime<Utc>>,
) -> AppResult<payout::Model> {
    let settled_at = settled_at.unwrap_or_else(now);
    super::orders::not_in_future(settled_at, "settledAt")?;
    let (order, current) = lock_with_order(txn, id).await?;
    if status_of(&current)? != PayoutStatus::Sent {
        return Err(invalid(&current, "settled (only SENT payouts settle)"));
    }
    if settled_at < current.initiated_at {
        return Err(AppError::bad_input(
            "settledAt must not be before the payout was initiated",
        ));
    }
    let mut model = current.clone().into_active_model();
    model.status = Set(PayoutStatus::Settled.as_str().to_string());
    model.settled_at = Set(Some(settled_at));
    model.updated_at = Set(now());
    let saved = model.update(txn).await?;
    ctx.fault_point("payout.mark_settled").await?;
    claims::record_event(txn, current.claim_id, "payout_settled", ctx.actor, None).await?;
    audit::record(
        txn,
        ctx,
        "payout.mark_settled",
        "payout",
        id,
        json!({ "settledAt": settled_at }),
    )
    .await?;
    events::record(txn, ctx, EventType::PayoutSettled, &saved).await?;
    settle_claim_and_order(txn, ctx, &order, current.claim_id).await?;
    Ok(saved)
}

/// Moves the claim to REFUNDED once settled payouts reach its approved
/// amount, and the order to PARTIALLY_REFUNDED / REFUNDED.
async fn settle_claim_and_order(
    txn: &WriteTxn,
    ctx: &RequestContext,
    order: &order::Model,
    claim_id: Uuid,
) -> AppResult<()> {
    let claim = claims::lock(txn, claim_id).await?;
    let settled: i64 = super::page::children_of::<payout::Entity, _>(
        txn,
        payout::Column::ClaimId,
        &[claim_id],
        payout::Column::Id,
    )
    .await?
    .iter()
    .filter(|p| p.status == PayoutStatus::Settled.as_str())
    .map(|p| p.amount_minor)
    .sum();
    if claim.status == ClaimStatus::Approved.as_str()
        && claim.approved_minor.is_some_and(|a| settled >= a)
    {
        let to = claims::transition(&claim, ClaimAction::MarkRefunded)?;
        let mut model = claim.clone().into_active_model();
        model.status = Set(to.as_str().to_string());
        model.version = Set(claim.version + 1);
        model.updated_at = Set(now());
        let refunded = model.update(txn).await?;
        events::record(txn, ctx, EventType::ClaimRefunded, &refunded).await?;
        claims::record_event(txn, claim.id, "refunded", ctx.actor, None).await?;
        audit::record(
            txn,
            ctx,
            "claim.refunded",
            "claim",
            claim.id,
            json!({ "settled": settled }),
        )
        .await?;
    }
    let money = super::orders::money_of(txn, &[order.id])
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    let status = if money.refundable(order.total_minor) == 0 {
        OrderStatus::Refunded
    } else {
        OrderStatus::PartiallyRefunded
    };
    if order.status != status.as_str() {
        super::orders::set_status(txn, order, status).await?;
        audit::record(
            txn,
            ctx,
            "order.status",
            "order",
            order.id,
            json!({ "from": order.status, "to": status.as_str() }),
        )
        .await?;
    }
    Ok(())
}

/// A FAILED payout is retried once, as a new PENDING payout for the same
/// amount; another method than the order's needs a note.
pub async fn retry(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    method: Option<PaymentMethod>,
    note: Option<String>,
    idempotency_key: Option<String>,
) -> AppResult<payout::Model> {
    const OPERATION: &str = "retryPayout";
    let actor = ctx.actor.ok_or(AppError::Unauthenticated)?;
    if let Some(key) = &idempotency_key {
        idempotency::validate_key(key)?;
    }
    let note = note
        .filter(|n| !n.trim().is_empty())
        .map(|n| required_text(&n, "note"))
        .transpose()?;
    let fingerprint =
        idempotency::fingerprint(&json!([id, method.map(|m| m.as_str()), note]).to_string());
    let txn = begin_write(db).await?;
    let (order, failed) = lock_with_order(&txn, id).await?;
    if let Some(key) = &idempotency_key {
        if let Some(previous) =
            idempotency::replay(&txn, actor, OPERATION, key, &fingerprint).await?
        {
            let previous = Uuid::parse_str(&previous).map_err(AppError::internal)?;
            let found = payout::Entity::find_by_id(previous).one(&txn).await?;
            txn.commit().await?;
            return found.ok_or(AppError::NotFound("payout"));
        }
    }
    if status_of(&failed)? != PayoutStatus::Failed {
        return Err(invalid(&failed, "retried (only FAILED payouts are)"));
    }
    let already = payout::Entity::find()
        .filter(payout::Column::RetryOfId.eq(failed.id))
        .one(&txn)
        .await?;
    if already.is_some() {
        return Err(AppError::InvalidTransition(
            "this failed payout was already retried".into(),
        ));
    }
    let order_method: PaymentMethod = parse_stored(&order.payment_method)?;
    let method = method.unwrap_or(order_method);
    if method != order_method && note.is_none() {
        return Err(AppError::bad_input(
            "a note is required to pay back by another method than the order's",
        ));
    }
    let claim = claims::lock(&txn, failed.claim_id).await?;
    if claim.status != ClaimStatus::Approved.as_str() {
        return Err(AppError::InvalidTransition(format!(
            "the claim is {}; only APPROVED claims get payouts",
            claim.status
        )));
    }
    // The money invariant: the new payout must fit in what is refundable now.
    let money = super::orders::money_of(&txn, &[order.id])
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    if failed.amount_minor > money.refundable(order.total_minor) {
        return Err(AppError::RefundLimitExceeded(
            "the order no longer has enough refundable to retry this payout".into(),
        ));
    }
    let rules =
        super::policy::rules_of(&super::policy::by_version(&txn, claim.policy_version).await?)?;
    let created = match create_pending(
        &txn,
        &order,
        claim.id,
        failed.amount_minor,
        method,
        &rules,
        Some(failed.id),
    )
    .await
    {
        Ok(p) => p,
        Err(AppError::Internal(e))
            if e.downcast_ref::<DbErr>().is_some_and(is_unique_violation) =>
        {
            return Err(AppError::InvalidTransition(
                "this failed payout was already retried".into(),
            ))
        }
        Err(e) => return Err(e),
    };
    ctx.fault_point("payout.retry").await?;
    if let Some(key) = &idempotency_key {
        idempotency::remember(
            &txn,
            actor,
            OPERATION,
            key,
            &fingerprint,
            &created.id.to_string(),
        )
        .await?;
    }
    claims::record_event(&txn, claim.id, "payout_retried", ctx.actor, note.clone()).await?;
    audit::record(
        &txn,
        ctx,
        "payout.retry",
        "payout",
        created.id,
        json!({ "retryOf": failed.id, "method": method.as_str(), "note": note }),
    )
    .await?;
    events::record(&txn, ctx, EventType::PayoutCreated, &created).await?;
    txn.commit().await?;
    Ok(created)
}

/// Filters of the `payouts` query.
#[derive(Clone, Debug, Default)]
pub struct PayoutQuery {
    pub status: Vec<PayoutStatus>,
    pub overdue_only: bool,
    pub initiated_from: Option<DateTime<Utc>>,
    pub initiated_to: Option<DateTime<Utc>>,
}

/// Newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &PayoutQuery,
    page: &PageRequest,
) -> AppResult<Page<payout::Model>> {
    let mut q = payout::Entity::find();
    if !filter.status.is_empty() {
        q = q.filter(payout::Column::Status.is_in(filter.status.iter().map(|s| s.as_str())));
    }
    if filter.overdue_only {
        q = q
            .filter(
                payout::Column::Status
                    .is_in([PayoutStatus::Pending.as_str(), PayoutStatus::Sent.as_str()]),
            )
            .filter(payout::Column::ExpectedLatest.lt(Utc::now().date_naive()));
    }
    if let Some(t) = filter.initiated_from {
        q = q.filter(payout::Column::InitiatedAt.gte(t));
    }
    if let Some(t) = filter.initiated_to {
        q = q.filter(payout::Column::InitiatedAt.lt(t));
    }
    Ok(fetch_page(conn, q, payout::Column::Id, SortOrder::NewestFirst, page).await?)
}
