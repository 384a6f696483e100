//! `inbound_messages` table.

use sea_orm::entity::prelude::*;

/// A verified message from WooCommerce or Stripe, kept once per
/// (source, external_id). Its raw body is apart, in
/// `inbound_message_bodies`: never returned through GraphQL.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub source: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub external_id: String,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub topic: String,
    pub received_at: DateTimeUtc,
    #[sea_orm(column_type = "String(StringLen::N(24))")]
    pub status: String,
    #[sea_orm(column_type = "String(StringLen::N(1024))")]
    pub error: Option<String>,
    pub attempts: i32,
    pub subject_id: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
