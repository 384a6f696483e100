//! `claim_evidence` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Evidence attached to a refund claim.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "claim_evidence")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub claim_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub kind: String,
    #[sea_orm(column_type = "String(StringLen::N(2048))")]
    pub url: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub text: Option<String>,
    pub added_by: Option<Uuid>,
    pub added_at: DateTimeUtc,
    /// An uploaded file (all four set, or none): its sanitised name, the
    /// type detected from its bytes, its size and its SHA-256 (hex), which
    /// is also its key in the evidence store.
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub file_name: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub content_type: Option<String>,
    pub file_size: Option<i64>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub sha256: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::refund_claim::Entity",
        from = "Column::ClaimId",
        to = "super::refund_claim::Column::Id",
        on_delete = "Cascade"
    )]
    RefundClaim,
    #[sea_orm(
        belongs_to = "super::staff::Entity",
        from = "Column::AddedBy",
        to = "super::staff::Column::Id",
        on_delete = "Restrict"
    )]
    Staff,
}

impl Related<super::refund_claim::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefundClaim.def()
    }
}

impl Related<super::staff::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Staff.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
