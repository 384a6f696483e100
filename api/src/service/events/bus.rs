//! The event bus for the data platform: every numbered event is published
//! to NATS JetStream (subject `refund-desk.events.<type in lower case>`,
//! header `Nats-Msg-Id` = the event id, body = the webhook body), at least
//! once, in order.
//!
//! Progress is a cursor row (`event_consumers`, name `nats`): the last
//! sequence JetStream acknowledged. One process publishes at a time, holding
//! the row's lease; the others wait until it runs out. While NATS is down
//! the events wait in the database and the cursor does not move; publishing
//! resumes by itself, and anything sent twice (an ack lost to a
//! disconnection) JetStream drops by its message id. The API never waits for
//! NATS.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::service::db::Db;
use async_nats::jetstream::{self, stream};
use sea_orm::{ConnectionTrait, Statement, Value};

use super::envelope;
use super::feed::{self, EventQuery};
use crate::error::{AppError, AppResult};
use crate::service::now;
use crate::service::sql::placeholders;

/// The stream created when missing.
pub const STREAM: &str = "REFUND_DESK_EVENTS";
/// Subjects of the stream; each event goes to `refund-desk.events.<type>`.
pub const SUBJECTS: &str = "refund-desk.events.>";
const CONSUMER: &str = "nats";
/// Events published per round.
const BATCH: u64 = 200;
/// How long one process holds the publisher's lease without renewing it.
const LEASE_SECS: i64 = 30;

/// The subject an event is published to.
pub fn subject(event_type: &str) -> String {
    format!("refund-desk.events.{}", event_type.to_ascii_lowercase())
}

/// Runs the publisher until the process ends. `lag` is kept at the number of
/// numbered events not yet acknowledged (for `/metrics`).
pub async fn run(db: Db, url: String, poll: Duration, lag: Arc<AtomicI64>) {
    let owner = uuid::Uuid::now_v7().to_string();
    let client = match async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .connect(url.as_str())
        .await
    {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(cause = %err, "NATS_URL is not usable; events are not published");
            return;
        }
    };
    let js = jetstream::new(client);
    let mut stream_ready = false;
    loop {
        tokio::time::sleep(poll).await;
        if !stream_ready {
            match js
                .get_or_create_stream(stream::Config {
                    name: STREAM.into(),
                    subjects: vec![SUBJECTS.into()],
                    storage: stream::StorageType::File,
                    duplicate_window: Duration::from_secs(120),
                    ..Default::default()
                })
                .await
            {
                Ok(_) => stream_ready = true,
                Err(err) => {
                    tracing::warn!(cause = %err, "the NATS stream is not ready yet");
                    continue;
                }
            }
        }
        match round(&db, &js, &owner, &lag).await {
            Ok(()) => {}
            Err(err) => {
                tracing::warn!(cause = %err.describe(), "publishing events to NATS failed; retrying");
            }
        }
    }
}

async fn exec(db: &Db, sql: &str, values: Vec<Value>) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let stmt = Statement::from_sql_and_values(backend, placeholders(backend, sql), values);
    Ok(db.execute_raw(stmt).await?.rows_affected())
}

/// Takes (or renews) the publisher's lease; returns the cursor when it is
/// ours.
async fn lease(db: &Db, owner: &str) -> AppResult<Option<i64>> {
    let at = now();
    let until = at + chrono::Duration::seconds(LEASE_SECS);
    let insert = match db.get_database_backend() {
        sea_orm::DbBackend::MySql => {
            "INSERT IGNORE INTO event_consumers (name, last_sequence, owner, lease_until, updated_at) VALUES (?, 0, NULL, NULL, ?)"
        }
        _ => {
            "INSERT INTO event_consumers (name, last_sequence, owner, lease_until, updated_at) VALUES (?, 0, NULL, NULL, ?) ON CONFLICT (name) DO NOTHING"
        }
    };
    exec(db, insert, vec![CONSUMER.into(), at.into()]).await?;
    let taken = exec(
        db,
        "UPDATE event_consumers SET owner = ?, lease_until = ? WHERE name = ? AND (owner = ? OR owner IS NULL OR lease_until IS NULL OR lease_until < ?)",
        vec![owner.into(), until.into(), CONSUMER.into(), owner.into(), at.into()],
    )
    .await?;
    if taken == 0 {
        return Ok(None);
    }
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                "SELECT last_sequence FROM event_consumers WHERE name = ?",
            ),
            [CONSUMER.into()],
        ))
        .await?
        .ok_or_else(|| AppError::internal("the NATS cursor row is missing"))?;
    Ok(Some(row.try_get_by_index(0)?))
}

async fn round(db: &Db, js: &jetstream::Context, owner: &str, lag: &AtomicI64) -> AppResult<()> {
    let Some(mut cursor) = lease(db, owner).await? else {
        return Ok(());
    };
    loop {
        lag.store(feed::last_sequence(db).await? - cursor, Ordering::Relaxed);
        let (events, more) = feed::after(db, &EventQuery::default(), cursor, BATCH).await?;
        if events.is_empty() {
            return Ok(());
        }
        for e in &events {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", e.id.to_string().as_str());
            let body = serde_json::to_vec(&envelope(e)).map_err(AppError::internal)?;
            let ack = js
                .publish_with_headers(subject(&e.event_type), headers, body.into())
                .await
                .map_err(AppError::internal)?;
            ack.await.map_err(AppError::internal)?;
            cursor = e.sequence.unwrap_or(cursor);
        }
        // Only forward, and only while the lease is ours.
        exec(
            db,
            "UPDATE event_consumers SET last_sequence = ?, updated_at = ? WHERE name = ? AND owner = ? AND last_sequence < ?",
            vec![cursor.into(), now().into(), CONSUMER.into(), owner.into(), cursor.into()],
        )
        .await?;
        if !more {
            lag.store(feed::last_sequence(db).await? - cursor, Ordering::Relaxed);
            return Ok(());
        }
        if lease(db, owner).await?.is_none() {
            return Ok(());
        }
    }
}
