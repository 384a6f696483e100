//! Login throttling: an attempt is counted before its password is checked.
//!
//! Each email and each client address has one counter row. An attempt
//! *reserves* a slot in both with one conditional `UPDATE` each (atomic on
//! every backend, across processes) and only then is the password hashed, so
//! a burst of N parallel attempts gets at most the limit's number of checks:
//! reading a count first and writing the failure after the hash let a burst
//! of 200 run 193 checks. A failure keeps its slots; a success clears the
//! email's counter (failures count since the last success) and gives the
//! address its slot back. A window starts with its first attempt and lasts
//! [`WINDOW_MINUTES`]; the first reservation after it starts a new one.

use crate::service::db::Db;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

use super::sql::placeholders;

/// Failed logins are counted over this window.
pub const WINDOW_MINUTES: i64 = 15;
/// Attempts per email (since its last success) before RATE_LIMITED.
pub const MAX_PER_EMAIL: i32 = 5;
/// Attempts per client address before RATE_LIMITED (password spraying).
pub const MAX_PER_ADDRESS: i32 = 30;

/// One counter: an email's or a client address's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    key: String,
    limit: i32,
}

impl Counter {
    pub fn email(normalised: &str) -> Self {
        Counter {
            key: format!("email:{normalised}"),
            limit: MAX_PER_EMAIL,
        }
    }

    pub fn address(addr: &str) -> Self {
        Counter {
            key: format!("addr:{addr}"),
            limit: MAX_PER_ADDRESS,
        }
    }
}

async fn run(db: &Db, sql: &str, values: Vec<Value>) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let stmt = Statement::from_sql_and_values(backend, placeholders(backend, sql), values);
    Ok(db.execute_raw(stmt).await?.rows_affected())
}

/// Takes one slot of `counter`, or returns false when its window is full.
/// The `UPDATE` both checks and counts; the `INSERT` starts a counter that
/// does not exist yet, and a concurrent first attempt that lost the insert
/// tries the `UPDATE` once more.
pub async fn reserve(db: &Db, counter: &Counter, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let since = now - Duration::minutes(WINDOW_MINUTES);
    // `attempts` is assigned before `window_start`: MySQL evaluates SET
    // left to right with the new values, and both must see the old window.
    let update = "UPDATE login_throttles SET \
        attempts = CASE WHEN window_start < ? THEN 1 ELSE attempts + 1 END, \
        window_start = CASE WHEN window_start < ? THEN ? ELSE window_start END \
        WHERE throttle_key = ? AND (window_start < ? OR attempts < ?)";
    let update_values = || {
        vec![
            Value::from(since),
            Value::from(since),
            Value::from(now),
            Value::from(counter.key.clone()),
            Value::from(since),
            Value::from(counter.limit),
        ]
    };
    if run(db, update, update_values()).await? == 1 {
        return Ok(true);
    }
    let insert = match db.get_database_backend() {
        sea_orm::DbBackend::MySql => {
            "INSERT IGNORE INTO login_throttles (throttle_key, window_start, attempts) VALUES (?, ?, 1)"
        }
        _ => {
            "INSERT INTO login_throttles (throttle_key, window_start, attempts) VALUES (?, ?, 1) \
             ON CONFLICT (throttle_key) DO NOTHING"
        }
    };
    if run(
        db,
        insert,
        vec![Value::from(counter.key.clone()), Value::from(now)],
    )
    .await?
        == 1
    {
        return Ok(true);
    }
    Ok(run(db, update, update_values()).await? == 1)
}

/// Gives one reserved slot back (the attempt succeeded, or was never made).
pub async fn release(db: &Db, counter: &Counter) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE login_throttles SET attempts = attempts - 1 WHERE throttle_key = ? AND attempts > 0",
        vec![Value::from(counter.key.clone())],
    )
    .await?;
    Ok(())
}

/// Clears a counter (an email after a successful login).
pub async fn clear(db: &Db, counter: &Counter) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE login_throttles SET attempts = 0 WHERE throttle_key = ?",
        vec![Value::from(counter.key.clone())],
    )
    .await?;
    Ok(())
}
