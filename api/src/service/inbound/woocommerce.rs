//! WooCommerce `order.created` / `order.updated`: the REST API's order JSON
//! becomes an order (DESIGN.md, "Inbound integrations", for the mapping).
//!
//! Money is never rewritten silently: an order that arrives again with
//! another total, currency, customer or plan needs an ADMIN. Only two
//! changes are applied: PENDING here and paid there → PAID; PENDING here
//! and cancelled or failed there → CANCELLED.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{attention, parse_json, plans, Failure, Handled, Processing};
use crate::domain::enums::{OrderStatus, PaymentMethod};
use crate::domain::{Devices, Email, Money, Phone, PlanMonths};
use crate::service::db::WriteTxn;
use crate::service::orders::{self, NewOrder};
use crate::service::text::optional_text;
use crate::service::{customers, in_time_range, truncate_micros, RequestContext, TIME_RANGE};

/// The fields of the order object Refund Desk reads; the rest (dozens) are
/// ignored.
#[derive(Debug, Deserialize)]
struct WcOrder {
    number: Value,
    status: String,
    currency: String,
    total: String,
    date_created_gmt: Option<String>,
    date_paid_gmt: Option<String>,
    #[serde(default)]
    payment_method: String,
    transaction_id: Option<String>,
    billing: WcBilling,
    #[serde(default)]
    line_items: Vec<WcLineItem>,
}

#[derive(Debug, Deserialize)]
struct WcBilling {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    email: String,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WcLineItem {
    #[serde(default)]
    name: String,
    sku: Option<String>,
}

/// DESIGN.md's mapping of WooCommerce payment gateway ids.
pub fn payment_method(gateway: &str) -> PaymentMethod {
    let g = gateway.trim().to_ascii_lowercase();
    if g.starts_with("stripe") || g == "woocommerce_payments" || g.contains("card") {
        PaymentMethod::Card
    } else if g == "ppcp-gateway" || g.starts_with("paypal") {
        PaymentMethod::Paypal
    } else if g == "bacs" {
        PaymentMethod::BankTransfer
    } else if ["crypto", "coinbase", "btcpay", "nowpayments"]
        .iter()
        .any(|k| g.contains(k))
    {
        PaymentMethod::Crypto
    } else {
        PaymentMethod::Other
    }
}

/// WooCommerce writes `*_gmt` dates without a zone ("2026-11-20T14:03:11");
/// an explicit offset is accepted too.
pub fn parse_gmt(field: &str, raw: &str) -> Processing<DateTime<Utc>> {
    let raw = raw.trim();
    let t = match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => match NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f") {
            Ok(t) => t.and_utc(),
            Err(_) => return attention(format!("{field} {raw:?} is not a date")),
        },
    };
    if !in_time_range(t) {
        return attention(format!("{field} {raw:?} is not {TIME_RANGE}"));
    }
    Ok(truncate_micros(t))
}

fn number_of(v: &Value) -> Processing<String> {
    match v {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => attention("number is neither a string nor a number"),
    }
}

/// Cancelled or failed at the storefront.
fn cancelled(status: &str) -> bool {
    matches!(status, "cancelled" | "failed")
}

async fn to_new_order(txn: &WriteTxn, o: &WcOrder) -> Processing<NewOrder> {
    let bad = |e: &dyn std::fmt::Display| Failure::Attention(e.to_string());
    let number = number_of(&o.number)?;
    let item = o
        .line_items
        .first()
        .ok_or_else(|| Failure::Attention("the order has no line items".into()))?;
    let sku = item.sku.as_deref().unwrap_or("").trim();
    if sku.is_empty() {
        return attention(format!("the line item {:?} has no SKU", item.name));
    }
    let Some(plan) = plans::find(txn, sku).await? else {
        return attention(format!(
            "unknown SKU {sku:?}: add it with upsertProductPlan, then replay this message"
        ));
    };
    let total = Money::parse(&o.total, &o.currency.to_ascii_uppercase())
        .map_err(|e| Failure::Attention(format!("total {:?} {}: {e}", o.total, o.currency)))?;
    let name = format!(
        "{} {}",
        o.billing.first_name.trim(),
        o.billing.last_name.trim()
    );
    // A phone not in international form cannot be stored as one; the
    // storefront does not enforce it, so it is left out rather than
    // holding the order back.
    let phone = o
        .billing
        .phone
        .as_deref()
        .and_then(|p| Phone::parse(p).ok());
    let placed_at = parse_gmt(
        "date_created_gmt",
        o.date_created_gmt
            .as_deref()
            .ok_or_else(|| Failure::Attention("date_created_gmt is missing".into()))?,
    )?;
    let paid_at = o
        .date_paid_gmt
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| parse_gmt("date_paid_gmt", d))
        .transpose()?;
    let new = NewOrder {
        number,
        customer_email: Email::parse(&o.billing.email).map_err(|e| bad(&e))?,
        customer_name: optional_text(Some(name), "billing name", 200)?,
        customer_phone: phone,
        plan_months: PlanMonths::parse(plan.plan_months).map_err(|e| bad(&e))?,
        devices: Devices::parse(plan.devices).map_err(|e| bad(&e))?,
        total,
        payment_method: payment_method(&o.payment_method),
        payment_reference: optional_text(o.transaction_id.clone(), "transaction_id", 255)?,
        placed_at,
        paid_at,
    };
    new.validate()?;
    Ok(new)
}

/// Acts on one message of `topic`.
pub async fn handle(
    txn: &WriteTxn,
    ctx: &RequestContext,
    topic: &str,
    body: &[u8],
) -> Processing<Handled> {
    if !matches!(topic, "order.created" | "order.updated") {
        return Ok(Handled::Ignored);
    }
    let wc: WcOrder = parse_json(body, "a WooCommerce order")?;
    let new = to_new_order(txn, &wc).await?;
    let Some(existing) = orders::find_by_number(txn, &new.number).await? else {
        let Some(created) = orders::insert_in(txn, ctx, &new).await? else {
            // Another message created this number meanwhile: run again,
            // as a change to that order.
            return Err(Failure::Retry);
        };
        if created.paid_at.is_none() && cancelled(&wc.status) {
            orders::cancel_in(txn, ctx, &created, &format!("woocommerce: {}", wc.status)).await?;
        }
        return Ok(Handled::Processed {
            subject: created.id,
        });
    };
    let current = orders::lock(txn, existing.id).await?;
    let email = customers::find(txn, current.customer_id)
        .await?
        .map(|c| c.email)
        .unwrap_or_default();
    let same = current.total_minor == new.total.minor()
        && current.currency == new.total.currency().code()
        && email == new.customer_email.as_str()
        && current.plan_months == new.plan_months.get() as i32
        && current.devices == new.devices.get() as i32;
    if !same {
        return attention(format!(
            "order changed after ingest: order {} differs here in total, currency, customer or plan; money is never rewritten silently",
            new.number
        ));
    }
    let pending = current.status == OrderStatus::Pending.as_str();
    let subject = current.id;
    if pending && new.paid_at.is_some() {
        let paid_at = new.paid_at.unwrap_or(new.placed_at);
        orders::mark_paid_in(txn, ctx, current, paid_at, new.payment_reference.clone()).await?;
    } else if pending && cancelled(&wc.status) {
        orders::cancel_in(txn, ctx, &current, &format!("woocommerce: {}", wc.status)).await?;
    } else if !pending && cancelled(&wc.status) && current.status != OrderStatus::Cancelled.as_str()
    {
        return attention(format!(
            "order changed after ingest: the storefront says {} but order {} is {} here; refunds go through a claim",
            wc.status, new.number, current.status
        ));
    }
    Ok(Handled::Processed { subject })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_gateways_map_as_the_design_says() {
        let cases = [
            ("stripe", PaymentMethod::Card),
            ("stripe_cc", PaymentMethod::Card),
            ("woocommerce_payments", PaymentMethod::Card),
            ("authorize_net_credit_card", PaymentMethod::Card),
            ("ppcp-gateway", PaymentMethod::Paypal),
            ("paypal", PaymentMethod::Paypal),
            ("paypal_express", PaymentMethod::Paypal),
            ("bacs", PaymentMethod::BankTransfer),
            ("coinbase_commerce", PaymentMethod::Crypto),
            ("btcpay", PaymentMethod::Crypto),
            ("nowpayments", PaymentMethod::Crypto),
            ("my_crypto_gateway", PaymentMethod::Crypto),
            ("cod", PaymentMethod::Other),
            ("cheque", PaymentMethod::Other),
            ("", PaymentMethod::Other),
            ("  STRIPE  ", PaymentMethod::Card),
        ];
        for (gateway, expected) in cases {
            assert_eq!(payment_method(gateway), expected, "{gateway:?}");
        }
    }

    #[test]
    fn gmt_dates_are_read_with_or_without_a_zone() {
        let expected = "2026-11-20T14:03:11Z".parse::<DateTime<Utc>>().unwrap();
        for raw in [
            "2026-11-20T14:03:11",
            "2026-11-20T14:03:11Z",
            "2026-11-20T15:03:11+01:00",
            " 2026-11-20T14:03:11.000 ",
        ] {
            assert_eq!(parse_gmt("d", raw).unwrap(), expected, "{raw}");
        }
        let later = "2040-01-01T00:00:00.1234567";
        assert_eq!(
            parse_gmt("d", later).unwrap(),
            "2040-01-01T00:00:00.123456Z"
                .parse::<DateTime<Utc>>()
                .unwrap(),
            "kept to the microsecond, like every stored date-time"
        );
        for raw in [
            "",
            "20/11/2026",
            "2026-13-01T00:00:00",
            "yesterday",
            "1969-12-31T23:59:59",
            "3000-01-01T00:00:00",
            "9999-12-31T23:59:59Z",
        ] {
            assert!(
                matches!(parse_gmt("d", raw), Err(Failure::Attention(_))),
                "{raw}"
            );
        }
    }
}
