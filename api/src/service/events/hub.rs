//! The process's event pump: it runs the sequencer, reads every event
//! numbered since it last looked (by any process) and broadcasts it to the
//! live subscriptions of this process.
//!
//! It wakes when a request of this process committed a change ([`Hub::wake`])
//! and otherwise every `poll` interval, which is how changes committed by
//! other processes arrive. Delivery to subscribers is at most once: a
//! subscriber that falls more than the channel's capacity behind skips what
//! it missed (DESIGN.md: clients catch up with `events(after:)`).

use std::sync::Arc;
use std::time::Duration;

use crate::service::db::Db;
use sea_orm::EntityTrait;
use tokio::sync::{broadcast, Notify, OnceCell};
use uuid::Uuid;

use entity::{event, refund_claim};

use super::feed::{self, EventQuery};
use super::sequencer::{self, BATCH};
use crate::service::webhooks::handoff::Handoff;

/// Events held for slow subscribers before they skip ahead.
const CAPACITY: usize = 4096;
/// The least time between two rounds of the pump.
const MIN_ROUND_GAP: Duration = Duration::from_millis(50);

/// One numbered event as live subscribers see it.
pub struct Published {
    pub event: event::Model,
    /// The claim it concerns (a claim's own event, or a payout's).
    pub claim_id: Option<Uuid>,
    /// The claim as committed, read once for all subscribers that need it.
    claim: OnceCell<Option<refund_claim::Model>>,
}

impl Published {
    fn new(event: event::Model) -> Self {
        let claim_id = match event.subject_type.as_str() {
            "claim" => Some(event.subject_id),
            "payout" => serde_json::from_str::<serde_json::Value>(&event.data)
                .ok()
                .and_then(|d| d["claimId"].as_str().and_then(|s| Uuid::parse_str(s).ok())),
            _ => None,
        };
        Published {
            event,
            claim_id,
            claim: OnceCell::new(),
        }
    }

    /// The claim this event concerns, read from the database on first use.
    pub async fn claim(&self, db: &Db) -> Option<&refund_claim::Model> {
        let id = self.claim_id?;
        self.claim
            .get_or_init(|| async move {
                refund_claim::Entity::find_by_id(id)
                    .one(db)
                    .await
                    .unwrap_or_else(|err| {
                        tracing::warn!(claim_id = %id, cause = %err, "could not read an updated claim");
                        None
                    })
            })
            .await
            .as_ref()
    }
}

/// The process's broadcast of numbered events, and its wake-ups.
pub struct Hub {
    tx: broadcast::Sender<Arc<Published>>,
    wake: Notify,
    /// Woken when a round queued webhook deliveries.
    pub deliveries: Notify,
    /// The deliveries rounds leased to this process's dispatcher.
    pub handoff: Handoff,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            tx: broadcast::channel(CAPACITY).0,
            wake: Notify::new(),
            deliveries: Notify::new(),
            handoff: Handoff::default(),
        }
    }
}

impl Hub {
    /// Tells the pump that this process committed a change.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.tx.subscribe()
    }

    /// Live subscribers in this process.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Runs the pump until the process ends. Live subscribers only get what
    /// is numbered after the pump started.
    pub async fn run(self: Arc<Self>, db: Db, poll: Duration) {
        let mut cursor = loop {
            match feed::last_sequence(&db).await {
                Ok(c) => break c,
                Err(err) => {
                    tracing::warn!(cause = %err.describe(), "event pump cannot start yet");
                    tokio::time::sleep(poll).await;
                }
            }
        };
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
            self.number_committed(&db).await;
            cursor = self.broadcast_after(&db, cursor).await;
            // Under a stream of commits, wake-ups during this round are
            // taken by the next: at most one round per gap, each numbering
            // everything committed meanwhile in one transaction.
            tokio::time::sleep(MIN_ROUND_GAP).await;
        }
    }

    async fn number_committed(&self, db: &Db) {
        loop {
            match sequencer::sequence_round(db, &self.handoff).await {
                Ok(batch) => {
                    if !batch.is_empty() {
                        self.deliveries.notify_one();
                    }
                    if (batch.len() as u64) < BATCH {
                        return;
                    }
                }
                Err(err) => {
                    tracing::warn!(cause = %err.describe(), "numbering events failed; retrying on the next round");
                    return;
                }
            }
        }
    }

    async fn broadcast_after(&self, db: &Db, mut cursor: i64) -> i64 {
        loop {
            match feed::after(db, &EventQuery::default(), cursor, BATCH).await {
                Ok((rows, more)) => {
                    for row in rows {
                        cursor = row.sequence.unwrap_or(cursor);
                        // No receiver is not an error: nobody listens now.
                        let _ = self.tx.send(Arc::new(Published::new(row)));
                    }
                    if !more {
                        return cursor;
                    }
                }
                Err(err) => {
                    tracing::warn!(cause = %err.describe(), "reading new events failed");
                    return cursor;
                }
            }
        }
    }
}
