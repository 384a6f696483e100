//! Idempotency keys: the same key and input replays the first result; the
//! same key with other input is a CONFLICT. Keys are per staff member and
//! operation, kept at least 24 hours (rows are never deleted by the API).

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use entity::idempotency_key;

use super::db::duplicate_is_conflict;
use super::{new_id, now};
use crate::error::{AppError, AppResult};

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A fingerprint of the request's meaningful input.
pub fn fingerprint(canonical_input: &str) -> String {
    hex::encode(Sha256::digest(canonical_input.as_bytes()))
}

pub fn validate_key(key: &str) -> AppResult<()> {
    if key.trim().is_empty() || key.len() > MAX_KEY_LEN {
        return Err(AppError::bad_input(format!(
            "idempotencyKey must be 1 to {MAX_KEY_LEN} characters"
        )));
    }
    Ok(())
}

/// The stored response of an earlier request with this key, if any. Call it
/// inside the transaction, after taking the lock that serializes the
/// operation, so a concurrent first request is seen once it committed.
pub async fn replay<C: ConnectionTrait>(
    conn: &C,
    staff_id: Uuid,
    operation: &str,
    key: &str,
    fingerprint: &str,
) -> AppResult<Option<String>> {
    let found = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::StaffId.eq(staff_id))
        .filter(idempotency_key::Column::Operation.eq(operation))
        .filter(idempotency_key::Column::IdemKey.eq(key))
        .one(conn)
        .await?;
    match found {
        Some(row) if row.request_hash == fingerprint => Ok(Some(row.response)),
        Some(_) => Err(AppError::Conflict(
            "this idempotencyKey was already used with different input".into(),
        )),
        None => Ok(None),
    }
}

/// Remembers the response, in the same transaction as the effect.
pub async fn remember<C: ConnectionTrait>(
    conn: &C,
    staff_id: Uuid,
    operation: &str,
    key: &str,
    fingerprint: &str,
    response: &str,
) -> AppResult<()> {
    let row = idempotency_key::ActiveModel {
        id: Set(new_id()),
        staff_id: Set(staff_id),
        operation: Set(operation.to_string()),
        idem_key: Set(key.to_string()),
        request_hash: Set(fingerprint.to_string()),
        response: Set(response.to_string()),
        created_at: Set(now()),
    };
    idempotency_key::Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .map_err(duplicate_is_conflict(
            "a request with this idempotencyKey is already being processed",
        ))?;
    Ok(())
}
