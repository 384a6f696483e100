//! The audit log (ADMIN, ANALYST).

use async_graphql::{Context, InputObject, Json, Object, Result, ID};

use entity::audit_log;

use super::access::{reads, sees_contact_details};
use super::connection::{connection_from, PageConnection};
use super::context::{db, page_request, parse_id};
use super::scalars::Timestamp;
use super::staff::{load_staff, Staff};
use crate::service::audit::{self, AuditQuery as AuditQueryFilter};
use crate::service::text::exact_filter;

pub struct AuditEntry(pub audit_log::Model);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    #[graphql(guard = "reads::<Staff>()")]
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Staff>> {
        load_staff(ctx, self.0.actor_id).await
    }
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    async fn entity_id(&self) -> ID {
        ID(self.0.entity_id.clone())
    }
    async fn at(&self) -> Timestamp {
        self.0.at.into()
    }
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// Email addresses in the details are masked for ANALYST.
    async fn details(&self, ctx: &Context<'_>) -> Option<Json<serde_json::Value>> {
        let mask = !sees_contact_details(ctx);
        self.0
            .details
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .map(|mut d| {
                if mask {
                    mask_emails_in(&mut d);
                }
                d
            })
            .map(Json)
    }
}

#[derive(InputObject, Default)]
pub struct AuditFilter {
    entity_id: Option<ID>,
    actor_id: Option<ID>,
    action: Option<String>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Newest entries first.
    #[graphql(guard = "reads::<AuditEntry>()")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<AuditFilter>,
    ) -> Result<PageConnection<AuditEntry>> {
        let (page, cursors) = page_request(ctx, first, after, None, None)?;
        let f = filter.unwrap_or_default();
        let query = AuditQueryFilter {
            entity_id: exact_filter(f.entity_id.map(|id| id.0), "entityId")?,
            actor_id: f.actor_id.as_ref().map(parse_id).transpose()?,
            action: exact_filter(f.action, "action")?,
            from: f.from.map(|t| t.0),
            to: f.to.map(|t| t.0),
        };
        let rows = audit::list(db(ctx), &query, &page).await?;
        Ok(connection_from(&cursors, rows, |e| e.id, AuditEntry))
    }
}

/// Masks every string in `value` that is an email address.
fn mask_emails_in(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) if crate::domain::Email::parse(s).is_ok() => {
            *s = crate::domain::email::mask_email(s);
        }
        Value::Array(items) => items.iter_mut().for_each(mask_emails_in),
        Value::Object(map) => map.values_mut().for_each(mask_emails_in),
        _ => {}
    }
}
