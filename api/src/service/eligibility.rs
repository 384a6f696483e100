//! Gathers the facts the eligibility engine needs about an order.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use entity::{activation, chargeback, order};

use super::orders::money_of;
use crate::domain::enums::parse_stored;
use crate::domain::enums::{ActivationStatus, ChargebackStatus, ClaimReason, OrderStatus};
use crate::domain::policy::{assess, Assessment, ClaimFacts, PolicyRules};
use crate::error::AppResult;

/// The engine's facts for `order` and a claim of `reason` at `at`, plus the
/// refundable amount (never below zero).
pub async fn facts_for<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    reason: ClaimReason,
    at: DateTime<Utc>,
) -> AppResult<(ClaimFacts, i64)> {
    let money = money_of(conn, &[order.id])
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    // Negative when chargebacks overlap settled payouts (it then counts as 0);
    // the total is at most the amount ceiling, so only that side can leave i64.
    let raw_refundable = i64::try_from(
        (i128::from(order.total_minor) - money.committed_payouts - money.committed_chargebacks)
            .max(i128::from(i64::MIN)),
    )
    .unwrap_or(i64::MIN);
    let chargebacks = chargeback::Entity::find()
        .filter(chargeback::Column::OrderId.eq(order.id))
        .filter(chargeback::Column::Status.is_in([
            ChargebackStatus::Open.as_str(),
            ChargebackStatus::Lost.as_str(),
        ]))
        .count(conn)
        .await?;
    let activation = activation::Entity::find()
        .filter(activation::Column::OrderId.eq(order.id))
        .one(conn)
        .await?;
    let duplicate = if reason == ClaimReason::DuplicatePayment {
        order::Entity::find()
            .filter(order::Column::CustomerId.eq(order.customer_id))
            .filter(order::Column::Id.ne(order.id))
            .filter(order::Column::PlanMonths.eq(order.plan_months))
            .filter(order::Column::Devices.eq(order.devices))
            .filter(order::Column::Status.is_in([
                OrderStatus::Paid.as_str(),
                OrderStatus::PartiallyRefunded.as_str(),
            ]))
            .filter(order::Column::PlacedAt.gte(order.placed_at - Duration::hours(24)))
            .filter(order::Column::PlacedAt.lte(order.placed_at + Duration::hours(24)))
            .count(conn)
            .await?
            > 0
    } else {
        false
    };
    let facts = ClaimFacts {
        order_status: parse_stored(&order.status)?,
        refundable_minor: raw_refundable,
        has_open_or_lost_chargeback: chargebacks > 0,
        delivered_at: activation.as_ref().and_then(|a| a.delivered_at),
        activation_terminated: activation
            .as_ref()
            .is_some_and(|a| a.status == ActivationStatus::Terminated.as_str()),
        plan_months: u32::try_from(order.plan_months).unwrap_or(0),
        reason,
        claim_time: at,
        duplicate_paid_order_within_24h: duplicate,
    };
    Ok((facts, raw_refundable.max(0)))
}

/// Assesses a claim of `reason` on `order` at `at` under `policy`.
pub async fn assess_order<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    reason: ClaimReason,
    at: DateTime<Utc>,
    policy: &PolicyRules,
) -> AppResult<(Assessment, i64)> {
    let (facts, refundable) = facts_for(conn, order, reason, at).await?;
    Ok((assess(&facts, policy), refundable))
}
