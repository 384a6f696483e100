//! `chargebacks` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Chargeback opened by a payment provider.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chargebacks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount_minor: i64,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub reason_code: String,
    #[sea_orm(column_type = "String(StringLen::N(255))", unique)]
    pub provider_reference: String,
    pub opened_at: DateTimeUtc,
    pub prior_contact: bool,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub action_taken: String,
    pub overlaps_refund: bool,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub resolved_at: Option<DateTimeUtc>,
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
