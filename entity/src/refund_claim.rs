//! `refund_claims` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Refund claim. `open_order_id` = `order_id` while open, NULL otherwise (unique).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "refund_claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub customer_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub reason: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub channel: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub status: String,
    pub requested_minor: i64,
    pub approved_minor: Option<i64>,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub eligibility_outcome: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub eligibility_rule: String,
    #[sea_orm(column_type = "Text")]
    pub eligibility_explanation: String,
    pub eligibility_suggested_minor: i64,
    pub evidence_required: bool,
    pub policy_version: i32,
    pub assignee_id: Option<Uuid>,
    pub submitted_by: Option<Uuid>,
    pub submitted_at: DateTimeUtc,
    pub first_approver_id: Option<Uuid>,
    pub first_approved_minor: Option<i64>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub decision_note: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub rejection_reason: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub override_reason: Option<String>,
    pub version: i32,
    #[sea_orm(unique)]
    pub open_order_id: Option<Uuid>,
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
    #[sea_orm(
        belongs_to = "super::customer::Entity",
        from = "Column::CustomerId",
        to = "super::customer::Column::Id",
        on_delete = "Restrict"
    )]
    Customer,
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::AssigneeId",
        to = "super::staff::Column::Id",
        on_delete = "Restrict"
    )]
    Assignee,
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::SubmittedBy",
        to = "super::staff::Column::Id",
        on_delete = "Restrict"
    )]
    SubmittedBy,
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::FirstApproverId",
        to = "super::staff::Column::Id",
        on_delete = "Restrict"
    )]
    FirstApprover,
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::DecidedBy",
        to = "super::staff::Column::Id",
        on_delete = "Restrict"
    )]
    DecidedBy,
    #[sea_orm(has_many = "super::claim_evidence::Entity")]
    ClaimEvidence,
    #[sea_orm(has_many = "super::claim_event::Entity")]
    ClaimEvent,
    #[sea_orm(has_many = "super::payout::Entity")]
    Payout,
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl Related<super::customer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customer.def()
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

impl Related<super::payout::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payout.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
