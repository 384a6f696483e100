//! `orders` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Customer order. `lock_version` is bumped by every money-affecting change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub number: String,
    pub customer_id: Uuid,
    pub plan_months: i32,
    pub devices: i32,
    pub total_minor: i64,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub payment_method: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub payment_reference: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub placed_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub lock_version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::customer::Entity",
        from = "Column::CustomerId",
        to = "super::customer::Column::Id",
        on_delete = "Restrict"
    )]
    Customer,
    #[sea_orm(has_many = "super::customer_contact::Entity")]
    CustomerContact,
    #[sea_orm(has_one = "super::activation::Entity")]
    Activation,
    #[sea_orm(has_many = "super::refund_claim::Entity")]
    RefundClaim,
    #[sea_orm(has_many = "super::payout::Entity")]
    Payout,
    #[sea_orm(has_many = "super::chargeback::Entity")]
    Chargeback,
}

impl Related<super::customer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customer.def()
    }
}

impl Related<super::customer_contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CustomerContact.def()
    }
}

impl Related<super::activation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Activation.def()
    }
}

impl Related<super::refund_claim::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefundClaim.def()
    }
}

impl Related<super::payout::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payout.def()
    }
}

impl Related<super::chargeback::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chargeback.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
