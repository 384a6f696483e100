//! `customers` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Customer (email stored normalised lower-case).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(255))", unique)]
    pub email: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub phone: Option<String>,
    pub restricted: bool,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub restriction_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::customer_contact::Entity")]
    CustomerContact,
    #[sea_orm(has_many = "super::order::Entity")]
    Order,
    #[sea_orm(has_many = "super::refund_claim::Entity")]
    RefundClaim,
}

impl Related<super::customer_contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CustomerContact.def()
    }
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl Related<super::refund_claim::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefundClaim.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
