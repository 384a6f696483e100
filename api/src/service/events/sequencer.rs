//! Numbers committed events in the order they become visible (see the
//! module above), and queues their webhook deliveries in the same
//! transaction, so an event and its deliveries appear together.
//!
//! Every process runs the sequencer; a round takes the `event_sequencer`
//! row's lock (`SELECT … FOR UPDATE`; SQLite's write transaction is
//! exclusive anyway), reads the events committed without a number, gives
//! them the next numbers and commits. Two processes' rounds queue on that
//! lock, and the second reads only what the first left unnumbered (each
//! statement under READ COMMITTED sees what committed before it). A change's
//! events are numbered together and in a row: `claimUpdated` fires once per
//! change.

use crate::service::db::Db;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use entity::event;

use crate::error::{AppError, AppResult};
use crate::service::db::begin_write;
use crate::service::sql::value_by_id;
use crate::service::webhooks::handoff::Handoff;

/// Most events numbered in one round (a change that crosses the limit is
/// still numbered whole).
pub const BATCH: u64 = 500;

/// Events numbered by one statement: 3 bound values each, below every
/// backend's limit.
const NUMBERED_PER_STATEMENT: usize = 200;

/// Numbers the committed events that have no number yet; returns them, in
/// order, with their numbers. Cheap when there are none (one indexed read,
/// no transaction). The deliveries it leases to this process go to
/// `handoff` once committed.
pub async fn sequence_round(db: &Db, handoff: &Handoff) -> AppResult<Vec<event::Model>> {
    let pending = event::Entity::find()
        .select_only()
        .column(event::Column::Id)
        .filter(event::Column::Sequence.is_null())
        .limit(1)
        .into_tuple::<uuid::Uuid>()
        .one(db)
        .await?;
    if pending.is_none() {
        return Ok(Vec::new());
    }
    let txn = begin_write(db).await?;
    let backend = txn.get_database_backend();
    let lock = match backend {
        DbBackend::Sqlite => "",
        _ => " FOR UPDATE",
    };
    let last: i64 = txn
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT last_sequence FROM event_sequencer WHERE id = 1{lock}"),
        ))
        .await?
        .ok_or_else(|| AppError::internal("the event_sequencer row is missing"))?
        .try_get_by_index(0)?;
    let mut batch = event::Entity::find()
        .filter(event::Column::Sequence.is_null())
        .order_by_asc(event::Column::ChangeId)
        .order_by_asc(event::Column::Id)
        .limit(BATCH)
        .all(&txn)
        .await?;
    if batch.len() as u64 == BATCH {
        // Finish the last change: its events are numbered together.
        if let Some(last_change) = batch.last().map(|e| e.change_id) {
            let taken: Vec<uuid::Uuid> = batch
                .iter()
                .filter(|e| e.change_id == last_change)
                .map(|e| e.id)
                .collect();
            let rest = event::Entity::find()
                .filter(event::Column::Sequence.is_null())
                .filter(event::Column::ChangeId.eq(last_change))
                .filter(event::Column::Id.is_not_in(taken))
                .order_by_asc(event::Column::Id)
                .all(&txn)
                .await?;
            batch.extend(rest);
        }
    }
    if batch.is_empty() {
        // Another process numbered them meanwhile.
        txn.commit().await?;
        return Ok(batch);
    }
    let mut next = last;
    for e in &mut batch {
        next += 1;
        e.sequence = Some(next);
    }
    // One statement per chunk rather than one per event: on SQLite the
    // round holds every writer's turn for as long as it runs.
    for chunk in batch.chunks(NUMBERED_PER_STATEMENT) {
        let numbers = value_by_id(
            event::Column::Id,
            chunk.iter().map(|e| (e.id, e.sequence.into())),
        );
        event::Entity::update_many()
            .col_expr(event::Column::Sequence, numbers)
            .filter(event::Column::Id.is_in(chunk.iter().map(|e| e.id)))
            .exec(&txn)
            .await?;
    }
    let queued = crate::service::webhooks::deliveries::enqueue(&txn, &batch, handoff).await?;
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        crate::service::sql::placeholders(
            backend,
            "UPDATE event_sequencer SET last_sequence = ? WHERE id = 1",
        ),
        [next.into()],
    ))
    .await?;
    txn.commit().await?;
    queued.hand_over();
    Ok(batch)
}
