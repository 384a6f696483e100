//! `audit_log` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Audit log entry. `details` holds serialized JSON.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub action: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub entity_type: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub entity_id: String,
    pub at: DateTimeUtc,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub request_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub details: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::ActorId",
        to = "super::staff::Column::Id",
        on_delete = "Restrict"
    )]
    Staff,
}

impl Related<super::staff::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Staff.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
