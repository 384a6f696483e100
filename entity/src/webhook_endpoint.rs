//! `webhook_endpoints` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where events are posted. The signing secrets are stored encrypted under
/// `CREDENTIALS_KEY`; after a rotation the previous one keeps signing beside
/// the new one until `previous_secret_until`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(2048))")]
    pub url: String,
    #[sea_orm(column_type = "String(StringLen::N(500))")]
    pub description: Option<String>,
    /// Comma-separated event types; empty: every type.
    #[sea_orm(column_type = "Text")]
    pub event_types: String,
    pub enabled: bool,
    #[sea_orm(column_type = "String(StringLen::N(500))")]
    pub disabled_reason: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub secret: String,
    #[sea_orm(column_type = "Text")]
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    /// The first failure since the last success (for auto-disable).
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
