//! `webhook_deliveries` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One event for one endpoint, with its attempts. A process attempting it
/// holds `lease_until`; a crashed process's lease runs out and another
/// process resumes the delivery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub response_status: Option<i32>,
    #[sea_orm(column_type = "String(StringLen::N(1024))")]
    pub last_error: Option<String>,
    pub succeeded_at: Option<DateTimeUtc>,
    pub lease_until: Option<DateTimeUtc>,
    /// The lease's holder: one id per lease taken.
    pub leased_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
