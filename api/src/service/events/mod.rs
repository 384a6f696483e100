//! Events: a transactional outbox, numbered after commit, read in order.
//!
//! Every business change writes its events with [`record`] inside its own
//! transaction, so a rolled-back change leaves none and a committed one always
//! has them. They are written without a `sequence`. The sequencer
//! (`sequencer.rs`) numbers committed events later, one batch at a time under
//! the lock of the single `event_sequencer` row: a number is given only to an
//! event already committed, and always above every number given before. So
//! a reader that keeps the last number it saw and asks for the ones above it
//! never misses an event and never sees one twice, however many processes
//! commit concurrently (an auto-increment id fails exactly there: a lower id
//! can commit after a higher one was read). Readers (`feed.rs`, the live hub
//! in `hub.rs`, webhook dispatch, the NATS publisher) only ever see numbered
//! events.

pub mod bus;
pub mod data;
pub mod feed;
pub mod hub;
pub mod sequencer;

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use serde_json::Value;
use uuid::Uuid;

use entity::event;

use super::{new_id, now, RequestContext};
use crate::domain::enums::EventType;

/// Who caused a change (`Event.source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Staff,
    WooCommerce,
    Stripe,
    /// The server itself: the CLI, demo data.
    System,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Staff => "staff",
            Source::WooCommerce => "woocommerce",
            Source::Stripe => "stripe",
            Source::System => "system",
        }
    }
}

/// What an event is about: its type name, id and data (the subject after
/// the change, in the contract's field names and wire formats).
pub trait Subject {
    const TYPE: &'static str;
    fn id(&self) -> Uuid;
    fn data(&self) -> Value;
}

/// A subject with one more entry in its data, for an event that says more
/// than the subject's row (the evidence a CLAIM_EVIDENCE_ADDED added).
pub struct Extended<'a, S: Subject> {
    pub subject: &'a S,
    pub key: &'static str,
    pub value: Value,
}

impl<S: Subject> Subject for Extended<'_, S> {
    const TYPE: &'static str = S::TYPE;

    fn id(&self) -> Uuid {
        self.subject.id()
    }

    fn data(&self) -> Value {
        let mut data = self.subject.data();
        if let Value::Object(map) = &mut data {
            map.insert(self.key.to_string(), self.value.clone());
        }
        data
    }
}

/// Writes one event of `ctx`'s change about `subject`, in the caller's
/// transaction.
pub async fn record<C: ConnectionTrait, S: Subject>(
    conn: &C,
    ctx: &RequestContext,
    kind: EventType,
    subject: &S,
) -> Result<(), DbErr> {
    let row = event::ActiveModel {
        id: Set(new_id()),
        sequence: Set(None),
        change_id: Set(ctx.change_id),
        event_type: Set(kind.as_str().to_string()),
        occurred_at: Set(now()),
        subject_type: Set(S::TYPE.to_string()),
        subject_id: Set(subject.id()),
        actor_id: Set(ctx.actor),
        source: Set(ctx.source.as_str().to_string()),
        data: Set(subject.data().to_string()),
    };
    event::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The webhook and bus body of an event: `{"id","sequence","type",
/// "occurredAt","subjectType","subjectId","source","actorId","data"}`.
pub fn envelope(e: &event::Model) -> Value {
    let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
    serde_json::json!({
        "id": e.id,
        "sequence": e.sequence.map(|s| s.to_string()),
        "type": e.event_type,
        "occurredAt": data::time(e.occurred_at),
        "subjectType": e.subject_type,
        "subjectId": e.subject_id,
        "source": e.source,
        "actorId": e.actor_id,
        "data": data,
    })
}
