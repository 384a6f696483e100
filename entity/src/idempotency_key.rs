//! `idempotency_keys` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Stored response of an idempotent mutation. Unique (staff_id, operation, idem_key).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub staff_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub operation: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub idem_key: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub request_hash: String,
    #[sea_orm(column_type = "Text")]
    pub response: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::StaffId",
        to = "super::staff::Column::Id",
        on_delete = "Cascade"
    )]
    Staff,
}

impl Related<super::staff::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Staff.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
