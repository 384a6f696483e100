//! Demo accounts for `serve --demo`: one per role, with a known password.

use crate::service::db::Db;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use entity::staff;

use super::staff::{create, NewStaff};
use super::RequestContext;
use crate::domain::Role;
use crate::error::AppResult;

/// The password of every demo account (demo mode is refused in production).
pub const DEMO_PASSWORD: &str = "refund-desk-demo";

/// Creates the missing demo accounts; returns (role, email, id) for each role.
pub async fn ensure_demo_staff(db: &Db) -> AppResult<Vec<(Role, String, uuid::Uuid)>> {
    let mut logins = Vec::new();
    for role in Role::ALL {
        let email = format!(
            "{}@demo.refund-desk.test",
            role.as_str().to_lowercase().replace('_', "-")
        );
        let existing = staff::Entity::find()
            .filter(staff::Column::Email.eq(email.as_str()))
            .one(db)
            .await?;
        let id = match existing {
            Some(s) => s.id,
            None => {
                let name = format!("Demo {}", role.as_str().to_lowercase().replace('_', " "));
                let new = NewStaff::parse(&email, &name, DEMO_PASSWORD, &[role])?;
                create(db, &RequestContext::system(), new).await?.id
            }
        };
        logins.push((role, email, id));
    }
    Ok(logins)
}
