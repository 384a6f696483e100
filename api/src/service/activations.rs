//! Activations: the access details sent to the customer. Once delivered the
//! service counts as used; the credentials are secrets.

use crate::service::db::Db;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use entity::{activation, order};

use super::db::{begin_write, duplicate_is_conflict, lock_by_id};
use super::events;
use super::orders::not_in_future;
use super::{audit, new_id, now, RequestContext};
use crate::domain::enums::{ActivationStatus, DeliveryChannel, EventType, OrderStatus};
use crate::domain::period::add_months;
use crate::domain::{Email, Phone};
use crate::error::{AppError, AppResult};
use crate::secrets::CredentialCipher;

/// The secret access details, as encrypted at rest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub username: Option<String>,
    pub password: Option<String>,
    pub activation_code: Option<String>,
    pub server_url: Option<String>,
}

impl Credentials {
    pub fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.password.is_none()
            && self.activation_code.is_none()
            && self.server_url.is_none()
    }
}

/// A validated request to record an activation.
pub struct NewActivation {
    pub order_id: Uuid,
    pub channel: DeliveryChannel,
    pub destination: String,
    pub credentials: Credentials,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Checks the destination against the channel: an email address for EMAIL, an
/// E.164 phone number for WHATSAPP, any short text otherwise. Returns it normalised.
pub fn parse_destination(channel: DeliveryChannel, raw: &str) -> AppResult<String> {
    match channel {
        DeliveryChannel::Email => Email::parse(raw)
            .map(|e| e.as_str().to_string())
            .map_err(|_| AppError::bad_input("destination must be an email address for EMAIL delivery")),
        DeliveryChannel::Whatsapp => Phone::parse(raw)
            .map(|p| p.as_str().to_string())
            .map_err(|_| AppError::bad_input("destination must be an E.164 phone number (+4915112345678) for WHATSAPP delivery")),
        DeliveryChannel::Other => {
            let v = raw.trim();
            if v.is_empty() || v.chars().count() > 255 || v.chars().any(char::is_control) {
                Err(AppError::bad_input("destination must be 1 to 255 characters"))
            } else {
                Ok(v.to_string())
            }
        }
    }
}

/// The status a client sees: EXPIRED is derived from the clock, never stored.
pub fn effective_status(
    model: &activation::Model,
    plan_months: i32,
    now: DateTime<Utc>,
) -> AppResult<ActivationStatus> {
    let stored: ActivationStatus = crate::domain::enums::parse_stored(&model.status)?;
    if stored == ActivationStatus::Active && expires_at(model, plan_months).is_some_and(|e| now > e)
    {
        return Ok(ActivationStatus::Expired);
    }
    Ok(stored)
}

/// deliveredAt + planMonths calendar months (end-of-month clamped).
pub fn expires_at(model: &activation::Model, plan_months: i32) -> Option<DateTime<Utc>> {
    model
        .delivered_at
        .map(|d| add_months(d, u32::try_from(plan_months).unwrap_or(0)))
}

pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<Option<activation::Model>> {
    Ok(activation::Entity::find_by_id(id).one(conn).await?)
}

/// Records the activation of a PAID order (one per order).
#[tracing::instrument(skip(db, cipher, new), fields(order_id = %new.order_id))]
pub async fn record(
    db: &Db,
    cipher: &CredentialCipher,
    ctx: &RequestContext,
    new: NewActivation,
) -> AppResult<activation::Model> {
    if let Some(t) = new.delivered_at {
        not_in_future(t, "deliveredAt")?;
    }
    let txn = begin_write(db).await?;
    let order = super::orders::lock(&txn, new.order_id).await?;
    if order.status != OrderStatus::Paid.as_str() {
        return Err(AppError::InvalidTransition(format!(
            "activations are recorded for PAID orders only (this one is {})",
            order.status
        )));
    }
    if let Some(t) = new.delivered_at {
        if t < order.placed_at {
            return Err(AppError::bad_input(
                "deliveredAt must not be before the order was placed",
            ));
        }
    }
    let exists = activation::Entity::find()
        .filter(activation::Column::OrderId.eq(order.id))
        .one(&txn)
        .await?;
    if exists.is_some() {
        return Err(AppError::Conflict(
            "the order already has an activation".into(),
        ));
    }
    let id = new_id();
    let ciphertext = if new.credentials.is_empty() {
        None
    } else {
        let plain = serde_json::to_vec(&new.credentials).map_err(AppError::internal)?;
        Some(cipher.encrypt(&plain, id).map_err(AppError::internal)?)
    };
    let status = if new.delivered_at.is_some() {
        ActivationStatus::Active
    } else {
        ActivationStatus::PendingDelivery
    };
    let at = now();
    let model = activation::ActiveModel {
        id: Set(id),
        order_id: Set(order.id),
        channel: Set(new.channel.as_str().to_string()),
        destination: Set(new.destination),
        credentials_ciphertext: Set(ciphertext),
        status: Set(status.as_str().to_string()),
        delivered_at: Set(new.delivered_at),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let model = model
        .insert(&txn)
        .await
        .map_err(duplicate_is_conflict("the order already has an activation"))?;
    audit::record(
        &txn,
        ctx,
        "activation.record",
        "activation",
        id,
        json!({ "orderId": order.id, "channel": model.channel, "deliveredAt": model.delivered_at }),
    )
    .await?;
    if model.delivered_at.is_some() {
        events::record(&txn, ctx, EventType::ActivationDelivered, &model).await?;
    }
    txn.commit().await?;
    Ok(model)
}

/// Sets deliveredAt once; it can never move or be cleared afterwards. Sending
/// the same time again is a harmless retry.
#[tracing::instrument(skip(db))]
pub async fn mark_delivered(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    delivered_at: DateTime<Utc>,
) -> AppResult<activation::Model> {
    not_in_future(delivered_at, "deliveredAt")?;
    let txn = begin_write(db).await?;
    let current = lock_by_id::<activation::Entity, _>(&txn, id, "activation").await?;
    match current.delivered_at {
        Some(existing) if existing == delivered_at => return Ok(current),
        Some(_) => {
            return Err(AppError::InvalidTransition(
                "the activation was already delivered; deliveredAt cannot change".into(),
            ))
        }
        None => {}
    }
    let order = order::Entity::find_by_id(current.order_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    if delivered_at < order.placed_at {
        return Err(AppError::bad_input(
            "deliveredAt must not be before the order was placed",
        ));
    }
    let was_pending = current.status == ActivationStatus::PendingDelivery.as_str();
    let mut model = current.into_active_model();
    model.delivered_at = Set(Some(delivered_at));
    // A suspended or terminated activation stays so; only a pending one goes live.
    if was_pending {
        model.status = Set(ActivationStatus::Active.as_str().to_string());
    }
    model.updated_at = Set(now());
    let model = model.update(&txn).await?;
    audit::record(
        &txn,
        ctx,
        "activation.deliver",
        "activation",
        id,
        json!({ "deliveredAt": delivered_at }),
    )
    .await?;
    events::record(&txn, ctx, EventType::ActivationDelivered, &model).await?;
    txn.commit().await?;
    Ok(model)
}

/// Decrypts the credentials and writes the `activation.credentials.viewed`
/// audit entry first: no entry, no secret.
pub async fn read_credentials(
    db: &Db,
    cipher: &CredentialCipher,
    ctx: &RequestContext,
    model: &activation::Model,
) -> AppResult<Option<Credentials>> {
    let Some(stored) = &model.credentials_ciphertext else {
        return Ok(None);
    };
    let plain = cipher
        .decrypt(stored, model.id)
        .map_err(AppError::internal)?;
    let creds: Credentials = serde_json::from_slice(&plain).map_err(AppError::internal)?;
    let txn = begin_write(db).await?;
    audit::record(
        &txn,
        ctx,
        "activation.credentials.viewed",
        "activation",
        model.id,
        json!({ "orderId": model.order_id }),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(creds))
}
