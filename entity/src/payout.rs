//! `payouts` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Refund payout. `retry_of_id` is unique: one retry per failed payout.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub claim_id: Uuid,
    pub order_id: Uuid,
    pub amount_minor: i64,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub method: String,
    pub same_method_as_order: bool,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub external_reference: Option<String>,
    pub initiated_at: DateTimeUtc,
    pub expected_earliest: Date,
    pub expected_latest: Date,
    pub settled_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub failure_reason: Option<String>,
    #[sea_orm(unique)]
    pub retry_of_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::refund_claim::Entity",
        from = "Column::ClaimId",
        to = "super::refund_claim::Column::Id",
        on_delete = "Restrict"
    )]
    RefundClaim,
    #[sea_orm(
        belongs_to = "super::order::Entity",
        from = "Column::OrderId",
        to = "super::order::Column::Id",
        on_delete = "Restrict"
    )]
    Order,
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::RetryOfId",
        to = "Column::Id",
        on_delete = "Restrict"
    )]
    RetryOf,
}

impl Related<super::refund_claim::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefundClaim.def()
    }
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
