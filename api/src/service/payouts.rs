//! Payouts: the money going back to the customer.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use entity::{order, payout};

use super::{new_id, now};
use crate::domain::enums::{PaymentMethod, PayoutStatus};
use crate::domain::period::add_business_days;
use crate::domain::policy::PolicyRules;
use crate::error::AppResult;

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
        .ok_or_else(|| crate::error::AppError::internal("payout vanished after insert"))
}

/// Payouts of many claims, oldest first.
pub async fn of_claims<C: ConnectionTrait>(
    conn: &C,
    claim_ids: &[Uuid],
) -> AppResult<Vec<payout::Model>> {
    Ok(payout::Entity::find()
        .filter(payout::Column::ClaimId.is_in(claim_ids.iter().copied()))
        .order_by_asc(payout::Column::Id)
        .all(conn)
        .await?)
}

/// Payouts of many orders, oldest first.
pub async fn of_orders<C: ConnectionTrait>(
    conn: &C,
    order_ids: &[Uuid],
) -> AppResult<Vec<payout::Model>> {
    Ok(payout::Entity::find()
        .filter(payout::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(payout::Column::Id)
        .all(conn)
        .await?)
}
