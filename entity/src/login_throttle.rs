//! `login_throttles` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Login attempts reserved for one email or client address in the current
/// window (see the API's `service::throttle`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "login_throttles")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(320))"
    )]
    pub throttle_key: String,
    pub window_start: DateTimeUtc,
    pub attempts: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
