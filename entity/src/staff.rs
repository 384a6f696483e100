//! `staff` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Back-office staff account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "staff")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(255))", unique)]
    pub email: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub password_hash: String,
    #[sea_orm(column_type = "String(StringLen::N(512))")]
    pub roles: String,
    pub active: bool,
    pub token_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::customer_contact::Entity")]
    CustomerContact,
    #[sea_orm(has_many = "super::policy_version::Entity")]
    PolicyVersion,
    #[sea_orm(has_many = "super::claim_evidence::Entity")]
    ClaimEvidence,
    #[sea_orm(has_many = "super::claim_event::Entity")]
    ClaimEvent,
    #[sea_orm(has_many = "super::audit_log::Entity")]
    AuditLog,
    #[sea_orm(has_many = "super::idempotency_key::Entity")]
    IdempotencyKey,
}

impl Related<super::customer_contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CustomerContact.def()
    }
}

impl Related<super::policy_version::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PolicyVersion.def()
    }
}

impl Related<super::claim_evidence::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ClaimEvidence.def()
    }
}

impl Related<super::claim_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ClaimEvent.def()
    }
}

impl Related<super::audit_log::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuditLog.def()
    }
}

impl Related<super::idempotency_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IdempotencyKey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
