//! `events` table: the transactional outbox.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A business event, written in the transaction of its change. `sequence`
/// is null until the sequencer numbers it (after the change committed);
/// only numbered events are visible to readers.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub sequence: Option<i64>,
    /// Shared by the events of one change (one transaction).
    pub change_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(48))")]
    pub event_type: String,
    pub occurred_at: DateTimeUtc,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub subject_type: String,
    pub subject_id: Uuid,
    pub actor_id: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub source: String,
    /// JSON: the subject after the change.
    #[sea_orm(column_type = "Text")]
    pub data: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
