//! Customer contacts: the record of "the customer talked to us first", which
//! decides what a chargeback triggers.

use crate::service::db::Db;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;
use uuid::Uuid;

use entity::{customer, customer_contact, order};

use super::db::begin_write;
use super::orders::not_in_future;
use super::{audit, new_id, now, RequestContext};
use crate::domain::enums::ContactChannel;
use crate::error::{AppError, AppResult};

/// Longest contact summary accepted.
pub const MAX_SUMMARY: usize = 5_000;

pub struct NewContact {
    pub customer_id: Uuid,
    pub order_id: Option<Uuid>,
    pub channel: ContactChannel,
    pub summary: String,
    pub contacted_at: Option<DateTime<Utc>>,
}

#[tracing::instrument(skip(db, new), fields(customer_id = %new.customer_id))]
pub async fn log(
    db: &Db,
    ctx: &RequestContext,
    new: NewContact,
) -> AppResult<customer_contact::Model> {
    let summary = super::text::required_text_up_to(&new.summary, "summary", MAX_SUMMARY)?;
    let contacted_at = new.contacted_at.unwrap_or_else(now);
    not_in_future(contacted_at, "contactedAt")?;
    let txn = begin_write(db).await?;
    customer::Entity::find_by_id(new.customer_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("customer"))?;
    if let Some(order_id) = new.order_id {
        let order = order::Entity::find_by_id(order_id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound("order"))?;
        if order.customer_id != new.customer_id {
            return Err(AppError::bad_input("the order belongs to another customer"));
        }
    }
    let model = customer_contact::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(new.customer_id),
        order_id: Set(new.order_id),
        channel: Set(new.channel.as_str().to_string()),
        summary: Set(summary.to_string()),
        contacted_at: Set(contacted_at),
        logged_by: Set(ctx.actor),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        ctx,
        "contact.log",
        "customer",
        new.customer_id,
        json!({ "contactId": model.id, "channel": model.channel, "orderId": model.order_id }),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}
