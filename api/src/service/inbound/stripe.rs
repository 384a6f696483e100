//! Stripe events: disputes become chargebacks (the same rules and events
//! as `recordChargeback`), and refund updates settle or fail the payout
//! whose `externalReference` is the refund's id.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use entity::{chargeback, order, payout};

use super::{attention, parse_json, Failure, Handled, Processing};
use crate::domain::enums::{ChargebackStatus, PayoutStatus};
use crate::domain::money::MAX_MINOR;
use crate::domain::{Currency, Money};
use crate::service::chargebacks::{self, NewChargeback};
use crate::service::db::WriteTxn;
use crate::service::payouts;
use crate::service::{in_time_range, RequestContext, TIME_RANGE};

/// The part of a Stripe Event every topic shares.
#[derive(Debug, Deserialize)]
struct Event<T> {
    data: EventData<T>,
}

#[derive(Debug, Deserialize)]
struct EventData<T> {
    object: T,
}

/// The fields of a Dispute that Refund Desk reads.
#[derive(Debug, Deserialize)]
struct Dispute {
    id: String,
    amount: i64,
    currency: String,
    #[serde(default)]
    reason: String,
    charge: Option<String>,
    payment_intent: Option<String>,
    created: i64,
    #[serde(default)]
    status: String,
}

/// The fields of a Refund that Refund Desk reads.
#[derive(Debug, Deserialize)]
struct Refund {
    id: String,
    status: String,
    failure_reason: Option<String>,
}

fn object_of<T: DeserializeOwned>(body: &[u8], what: &str) -> Processing<T> {
    parse_json::<Event<T>>(body, &format!("a Stripe event of a {what}")).map(|e| e.data.object)
}

/// Acts on one event of `topic`.
pub async fn handle(
    txn: &WriteTxn,
    ctx: &RequestContext,
    topic: &str,
    body: &[u8],
) -> Processing<Handled> {
    match topic {
        "charge.dispute.created" => dispute_created(txn, ctx, object_of(body, "Dispute")?).await,
        "charge.dispute.closed" => dispute_closed(txn, ctx, object_of(body, "Dispute")?).await,
        "refund.updated" | "charge.refund.updated" => {
            refund_updated(txn, ctx, object_of(body, "Refund")?).await
        }
        _ => Ok(Handled::Ignored),
    }
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn dispute_created(txn: &WriteTxn, ctx: &RequestContext, d: Dispute) -> Processing<Handled> {
    if !(1..=MAX_MINOR).contains(&d.amount) {
        return attention(format!(
            "dispute {}: amount {} is not between 1 and {MAX_MINOR} minor units",
            d.id, d.amount
        ));
    }
    let currency = Currency::parse(&d.currency)
        .map_err(|e| Failure::Attention(format!("dispute {}: {e}", d.id)))?;
    let references: Vec<&str> = [present(&d.charge), present(&d.payment_intent)]
        .into_iter()
        .flatten()
        .collect();
    if references.is_empty() {
        return attention(format!(
            "dispute {} names neither a charge nor a payment intent",
            d.id
        ));
    }
    let Some(order) = order::Entity::find()
        .filter(order::Column::PaymentReference.is_in(references.clone()))
        .order_by_asc(order::Column::Id)
        .one(txn)
        .await?
    else {
        return attention(format!(
            "no order has paymentReference {}",
            references.join(" or ")
        ));
    };
    let opened_at = DateTime::<Utc>::from_timestamp(d.created, 0)
        .filter(|t| in_time_range(*t))
        .ok_or_else(|| {
            Failure::Attention(format!(
                "dispute {}: created {} is not a time {TIME_RANGE}",
                d.id, d.created
            ))
        })?;
    let new = NewChargeback {
        order_id: order.id,
        amount: Money::from_minor(d.amount, currency),
        reason_code: if d.reason.trim().is_empty() {
            "unknown".into()
        } else {
            d.reason.clone()
        },
        provider_reference: d.id.clone(),
        opened_at,
    };
    match chargebacks::record_in(txn, ctx, &new).await? {
        Some(saved) => Ok(Handled::Processed { subject: saved.id }),
        // Recorded concurrently (by finance, or another delivery): the
        // next run finds it and checks it is the same.
        None => Err(Failure::Retry),
    }
}

async fn dispute_closed(txn: &WriteTxn, ctx: &RequestContext, d: Dispute) -> Processing<Handled> {
    let outcome = match d.status.as_str() {
        "won" => ChargebackStatus::Won,
        "lost" => ChargebackStatus::Lost,
        _ => return Ok(Handled::Ignored),
    };
    let Some(found) = chargeback::Entity::find()
        .filter(chargeback::Column::ProviderReference.eq(d.id.trim()))
        .one(txn)
        .await?
    else {
        return attention(format!("no chargeback has providerReference {}", d.id));
    };
    if found.status == outcome.as_str() {
        return Ok(Handled::Processed { subject: found.id });
    }
    let saved = chargebacks::resolve_in(txn, ctx, found.id, outcome).await?;
    Ok(Handled::Processed { subject: saved.id })
}

async fn refund_updated(txn: &WriteTxn, ctx: &RequestContext, r: Refund) -> Processing<Handled> {
    let settle = match r.status.as_str() {
        "succeeded" => true,
        "failed" | "canceled" => false,
        // pending, requires_action: nothing to do yet.
        _ => return Ok(Handled::Ignored),
    };
    let Some(found) = payout::Entity::find()
        .filter(payout::Column::ExternalReference.eq(r.id.trim()))
        .one(txn)
        .await?
    else {
        return attention(format!("no payout has externalReference {}", r.id));
    };
    let target = if settle {
        PayoutStatus::Settled
    } else {
        PayoutStatus::Failed
    };
    if found.status == target.as_str() {
        return Ok(Handled::Processed { subject: found.id });
    }
    if found.status != PayoutStatus::Sent.as_str() {
        return attention(format!(
            "payout {} is {}: only a SENT payout is settled or failed by its refund",
            found.id, found.status
        ));
    }
    let saved = if settle {
        payouts::mark_settled_in(txn, ctx, found.id, None).await?
    } else {
        let reason = present(&r.failure_reason).unwrap_or(r.status.as_str());
        payouts::mark_failed_in(txn, ctx, found.id, &format!("stripe: {reason}")).await?
    };
    Ok(Handled::Processed { subject: saved.id })
}
