//! Webhook endpoints (ADMIN): created with a secret shown once, stored
//! encrypted under `CREDENTIALS_KEY` (bound to the endpoint's id), rotated
//! with a 24-hour overlap, disabled automatically after 5 days of failures.

use crate::service::db::Db;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use entity::webhook_endpoint;

use super::address::{self, TargetPolicy};
use super::signing;
use crate::domain::enums::EventType;
use crate::error::{AppError, AppResult};
use crate::secrets::CredentialCipher;
use crate::service::db::{begin_write, lock_by_id};
use crate::service::text::optional_text;
use crate::service::{audit, new_id, now, RequestContext};

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

/// A validated endpoint as given by an admin.
pub struct EndpointInput {
    pub url: url::Url,
    pub description: Option<String>,
    pub event_types: Vec<EventType>,
    pub enabled: bool,
}

impl EndpointInput {
    /// Checks the URL (scheme, and its addresses when private ones are
    /// refused), the description and the event types.
    pub async fn parse(
        url: &str,
        description: Option<String>,
        event_types: Vec<EventType>,
        enabled: Option<bool>,
        policy: TargetPolicy,
    ) -> AppResult<Self> {
        let url = address::parse_url(url, policy)?;
        address::check_resolved(&url, policy).await?;
        let mut event_types = event_types;
        event_types.sort_by_key(|t| t.as_str());
        event_types.dedup();
        Ok(EndpointInput {
            url,
            description: optional_text(description, "description", 500)?,
            event_types,
            enabled: enabled.unwrap_or(true),
        })
    }

    fn stored_types(&self) -> String {
        self.event_types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The event types an endpoint receives; empty means every type.
pub fn event_types(model: &webhook_endpoint::Model) -> AppResult<Vec<EventType>> {
    model
        .event_types
        .split(',')
        .filter(|s| !s.is_empty())
        .map(crate::domain::enums::parse_stored)
        .collect()
}

/// True when the endpoint receives events of `kind`.
pub fn wants(model: &webhook_endpoint::Model, kind: &str) -> bool {
    model.event_types.is_empty() || model.event_types.split(',').any(|t| t == kind)
}

fn seal(cipher: &CredentialCipher, secret: &str, id: Uuid) -> AppResult<String> {
    cipher
        .encrypt(secret.as_bytes(), id)
        .map_err(AppError::internal)
}

/// The keys that sign now, newest first: the current secret, and the
/// previous one until its overlap ends.
pub fn signing_keys(
    cipher: &CredentialCipher,
    model: &webhook_endpoint::Model,
    at: DateTime<Utc>,
) -> AppResult<Vec<Vec<u8>>> {
    let open = |sealed: &str| -> AppResult<Vec<u8>> {
        let secret = cipher
            .decrypt(sealed, model.id)
            .map_err(AppError::internal)?;
        let secret = String::from_utf8(secret).map_err(AppError::internal)?;
        signing::key_of(&secret)
            .ok_or_else(|| AppError::internal("a stored webhook secret is malformed"))
    };
    let mut keys = vec![open(&model.secret)?];
    if let (Some(previous), Some(until)) = (&model.previous_secret, model.previous_secret_until) {
        if at < until {
            keys.push(open(previous)?);
        }
    }
    Ok(keys)
}

pub async fn list<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find()
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(conn)
        .await?)
}

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> AppResult<Option<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find_by_id(id).one(conn).await?)
}

/// Creates an endpoint; returns it with its secret (shown this once).
pub async fn create(
    db: &Db,
    ctx: &RequestContext,
    cipher: &CredentialCipher,
    input: EndpointInput,
) -> AppResult<(webhook_endpoint::Model, String)> {
    let id = new_id();
    let secret = signing::new_secret();
    let at = now();
    let txn = begin_write(db).await?;
    let model = webhook_endpoint::ActiveModel {
        id: Set(id),
        url: Set(input.url.to_string()),
        description: Set(input.description.clone()),
        event_types: Set(input.stored_types()),
        enabled: Set(input.enabled),
        disabled_reason: Set(None),
        secret: Set(seal(cipher, &secret, id)?),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        failing_since: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        ctx,
        "webhook.create",
        "webhook_endpoint",
        id,
        json!({ "url": model.url, "eventTypes": model.event_types, "enabled": model.enabled }),
    )
    .await?;
    txn.commit().await?;
    Ok((model, secret))
}

/// Replaces an endpoint's settings; enabling it again clears the reason it
/// was disabled and its failure streak.
pub async fn update(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
    input: EndpointInput,
) -> AppResult<webhook_endpoint::Model> {
    let txn = begin_write(db).await?;
    let current = lock_by_id::<webhook_endpoint::Entity, _>(&txn, id, "webhook endpoint").await?;
    let mut model = current.clone().into_active_model();
    model.url = Set(input.url.to_string());
    model.description = Set(input.description.clone());
    model.event_types = Set(input.stored_types());
    model.enabled = Set(input.enabled);
    if input.enabled && !current.enabled {
        // Enabled again: a fresh start for the automatic disabling.
        model.disabled_reason = Set(None);
        model.failing_since = Set(None);
    }
    model.updated_at = Set(now());
    let saved = model.update(&txn).await?;
    audit::record(
        &txn,
        ctx,
        "webhook.update",
        "webhook_endpoint",
        id,
        json!({ "url": saved.url, "eventTypes": saved.event_types, "enabled": saved.enabled, "before": { "url": current.url, "enabled": current.enabled } }),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes an endpoint with its deliveries.
pub async fn delete(db: &Db, ctx: &RequestContext, id: Uuid) -> AppResult<()> {
    let txn = begin_write(db).await?;
    let current = lock_by_id::<webhook_endpoint::Entity, _>(&txn, id, "webhook endpoint").await?;
    // Deliveries go first: not every backend cascades (SQLite needs its
    // foreign keys on, and the delete must not depend on it).
    entity::webhook_delivery::Entity::delete_many()
        .filter(entity::webhook_delivery::Column::EndpointId.eq(id))
        .exec(&txn)
        .await?;
    webhook_endpoint::Entity::delete_by_id(id)
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        ctx,
        "webhook.delete",
        "webhook_endpoint",
        id,
        json!({ "url": current.url }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A new secret; the previous one keeps signing beside it for
/// [`ROTATION_OVERLAP_HOURS`].
pub async fn rotate(
    db: &Db,
    ctx: &RequestContext,
    cipher: &CredentialCipher,
    id: Uuid,
) -> AppResult<(webhook_endpoint::Model, String)> {
    let secret = signing::new_secret();
    let txn = begin_write(db).await?;
    let current = lock_by_id::<webhook_endpoint::Entity, _>(&txn, id, "webhook endpoint").await?;
    let at = now();
    let until = at + Duration::hours(ROTATION_OVERLAP_HOURS);
    let mut model = current.clone().into_active_model();
    model.previous_secret = Set(Some(current.secret.clone()));
    model.previous_secret_until = Set(Some(until));
    model.secret = Set(seal(cipher, &secret, id)?);
    model.updated_at = Set(at);
    let saved = model.update(&txn).await?;
    audit::record(
        &txn,
        ctx,
        "webhook.rotate_secret",
        "webhook_endpoint",
        id,
        json!({ "previousSignsUntil": until }),
    )
    .await?;
    txn.commit().await?;
    Ok((saved, secret))
}
