//! The audit log: written inside the caller's transaction, read by admins and
//! analysts.

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use entity::audit_log;

use super::page::{fetch_page, SortOrder};
use super::{new_id, now, RequestContext};
use crate::domain::page::{Page, PageRequest};

/// Appends an audit entry using the caller's connection or transaction, so it
/// commits or rolls back together with the change it describes.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    ctx: &RequestContext,
    action: &str,
    entity_type: &str,
    entity_id: impl ToString,
    details: serde_json::Value,
) -> Result<(), DbErr> {
    let entry = audit_log::ActiveModel {
        id: Set(new_id()),
        actor_id: Set(ctx.actor),
        action: Set(action.to_string()),
        entity_type: Set(entity_type.to_string()),
        entity_id: Set(entity_id.to_string()),
        at: Set(now()),
        request_id: Set(ctx.request_id.clone()),
        details: Set(with_source(details, ctx).map(|d| d.to_string())),
    };
    audit_log::Entity::insert(entry)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Changes made by an integration name it in their details (there is no
/// staff actor to name).
fn with_source(details: serde_json::Value, ctx: &RequestContext) -> Option<serde_json::Value> {
    use super::events::Source;
    let source = match ctx.source {
        Source::WooCommerce | Source::Stripe => ctx.source.as_str(),
        Source::Staff | Source::System => {
            return (!details.is_null()).then_some(details);
        }
    };
    Some(match details {
        serde_json::Value::Object(mut map) => {
            map.insert("source".into(), source.into());
            serde_json::Value::Object(map)
        }
        serde_json::Value::Null => serde_json::json!({ "source": source }),
        other => serde_json::json!({ "source": source, "details": other }),
    })
}

/// Filters of the `auditLog` query.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub entity_id: Option<String>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// Newest entries first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &AuditQuery,
    page: &PageRequest,
) -> Result<Page<audit_log::Model>, DbErr> {
    let mut q = audit_log::Entity::find();
    if let Some(v) = &filter.entity_id {
        q = q.filter(audit_log::Column::EntityId.eq(v.clone()));
    }
    if let Some(v) = filter.actor_id {
        q = q.filter(audit_log::Column::ActorId.eq(v));
    }
    if let Some(v) = &filter.action {
        q = q.filter(audit_log::Column::Action.eq(v.clone()));
    }
    if let Some(v) = filter.from {
        q = q.filter(audit_log::Column::At.gte(v));
    }
    if let Some(v) = filter.to {
        q = q.filter(audit_log::Column::At.lt(v));
    }
    fetch_page(conn, q, audit_log::Column::Id, SortOrder::NewestFirst, page).await
}
