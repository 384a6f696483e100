//! Reading numbered events in order: the `events` query's pages and every
//! in-process consumer.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use entity::event;

use crate::domain::enums::EventType;
use crate::error::AppResult;

/// Filters of the `events` query.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    pub types: Vec<EventType>,
    pub subject_id: Option<Uuid>,
}

/// Up to `limit` numbered events after `after` (a sequence number; 0 for
/// the start), oldest first, and whether more follow.
pub async fn after<C: ConnectionTrait>(
    conn: &C,
    filter: &EventQuery,
    after: i64,
    limit: u64,
) -> AppResult<(Vec<event::Model>, bool)> {
    let mut q = event::Entity::find().filter(event::Column::Sequence.gt(after));
    if !filter.types.is_empty() {
        q = q.filter(event::Column::EventType.is_in(filter.types.iter().map(|t| t.as_str())));
    }
    if let Some(id) = filter.subject_id {
        q = q.filter(event::Column::SubjectId.eq(id));
    }
    let mut rows = q
        .order_by_asc(event::Column::Sequence)
        .limit(limit + 1)
        .all(conn)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// The highest number given so far (0 before the first event).
pub async fn last_sequence<C: ConnectionTrait>(conn: &C) -> AppResult<i64> {
    let max: Option<Option<i64>> = event::Entity::find()
        .select_only()
        .column_as(event::Column::Sequence.max(), "m")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}
