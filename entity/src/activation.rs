//! `activations` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Service activation of an order (one per order).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "activations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub order_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub channel: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub destination: String,
    #[sea_orm(column_type = "Text")]
    pub credentials_ciphertext: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::order::Entity",
        from = "Column::OrderId",
        to = "super::order::Column::Id",
        on_delete = "Restrict"
    )]
    Order,
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
