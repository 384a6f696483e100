//! `policy_versions` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A version of the refund policy.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "policy_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub version: i32,
    pub last_updated: Date,
    pub effective_from: DateTimeUtc,
    pub refund_window_days: i32,
    #[sea_orm(column_type = "String(StringLen::N(512))")]
    pub excluded_reasons: String,
    #[sea_orm(column_type = "String(StringLen::N(512))")]
    pub evidence_required_reasons: String,
    pub dual_approval_threshold_minor: Option<i64>,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub dual_approval_currency: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub chargeback_action: String,
    pub payout_days_min: i32,
    pub payout_days_max: i32,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::CreatedBy",
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
