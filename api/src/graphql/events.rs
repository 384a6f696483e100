//! Events: the feed that never skips (`events`) and the live subscriptions
//! (`events`, `claimUpdated`).

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::connection::PageInfo;
use async_graphql::{Context, Json, Object, Result, SimpleObject, Subscription, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast;
use uuid::Uuid;

use entity::event;

use super::access::reads;
use super::claims::Claim;
use super::context::{db, parse_id};
use super::scalars::Timestamp;
use super::staff::{load_staff, Staff};
use crate::auth::guard::roles;
use crate::auth::RoleGuard;
use crate::domain::enums::{parse_stored, ClaimStatus, EventType};
use crate::domain::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::error::{AppError, AppResult};
use crate::service::events::feed::{self, EventQuery};
use crate::service::events::hub::{Hub, Published};

/// An event as clients see it.
pub struct Event(pub event::Model);

#[Object]
impl Event {
    /// Also the `webhook-id` header of every delivery of this event.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Decimal string of an increasing 64-bit number (commit order).
    async fn sequence(&self) -> String {
        self.0.sequence.unwrap_or_default().to_string()
    }
    #[graphql(name = "type")]
    async fn event_type(&self) -> Result<EventType> {
        Ok(parse_stored(&self.0.event_type)?)
    }
    async fn occurred_at(&self) -> Timestamp {
        self.0.occurred_at.into()
    }
    /// order | activation | claim | payout | chargeback | customer | policy
    async fn subject_type(&self) -> &str {
        &self.0.subject_type
    }
    async fn subject_id(&self) -> ID {
        ID(self.0.subject_id.to_string())
    }
    /// Null for inbound integrations and the system.
    #[graphql(guard = "reads::<Staff>()")]
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Staff>> {
        load_staff(ctx, self.0.actor_id).await
    }
    /// "staff", "woocommerce", "stripe" or "system".
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// The subject after the change; never credentials.
    async fn data(&self) -> Result<Json<serde_json::Value>> {
        Ok(Json(
            serde_json::from_str(&self.0.data).map_err(AppError::internal)?,
        ))
    }
}

#[derive(SimpleObject)]
pub struct EventEdge {
    cursor: String,
    node: Event,
}

#[derive(SimpleObject)]
pub struct EventConnection {
    edges: Vec<EventEdge>,
    nodes: Vec<Event>,
    page_info: PageInfo,
}

/// The cursor of an event: its sequence number, opaque to clients.
fn encode(sequence: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("ev:{sequence}"))
}

fn decode(cursor: &str) -> AppResult<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("ev:").and_then(|n| n.parse::<i64>().ok()))
        .filter(|n| *n >= 0)
        .ok_or_else(|| AppError::bad_input("malformed cursor"))
}

fn event_query(types: Option<Vec<EventType>>, subject_id: Option<&ID>) -> AppResult<EventQuery> {
    Ok(EventQuery {
        types: types.unwrap_or_default(),
        subject_id: subject_id.map(parse_id).transpose()?,
    })
}

#[derive(Default)]
pub struct EventQueryRoot;

#[Object]
impl EventQueryRoot {
    /// Oldest first. Keep `pageInfo.endCursor` and ask again with it as
    /// `after`: no event is ever missed or seen twice.
    #[graphql(guard = "RoleGuard::any(roles::EVENT_READERS)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        types: Option<Vec<EventType>>,
        subject_id: Option<ID>,
    ) -> Result<EventConnection> {
        let size = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n < 0 || n as usize > MAX_PAGE_SIZE => {
                return Err(
                    AppError::bad_input(format!("first must be 0 to {MAX_PAGE_SIZE}")).into(),
                )
            }
            Some(n) => n as usize,
        };
        let after_sequence = after.as_deref().map(decode).transpose()?.unwrap_or(0);
        let filter = event_query(types, subject_id.as_ref())?;
        let (rows, more) = feed::after(db(ctx), &filter, after_sequence, size as u64).await?;
        let edges: Vec<EventEdge> = rows
            .iter()
            .map(|e| EventEdge {
                cursor: encode(e.sequence.unwrap_or_default()),
                node: Event(e.clone()),
            })
            .collect();
        let page_info = PageInfo {
            has_previous_page: after_sequence > 0,
            has_next_page: more,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Ok(EventConnection {
            nodes: rows.into_iter().map(Event).collect(),
            edges,
            page_info,
        })
    }
}

/// Live updates over `graphql-transport-ws` (`/graphql/ws`).
#[derive(Default)]
pub struct SubscriptionRoot;

/// The process's hub, put in the schema's data at start.
fn hub<'a>(ctx: &'a Context<'_>) -> AppResult<&'a Arc<Hub>> {
    ctx.data::<Arc<Hub>>()
        .map_err(|_| AppError::internal("the event hub is not registered"))
}

/// Events as they are published; a subscriber that falls too far behind
/// skips ahead (delivery is at most once).
fn published(rx: broadcast::Receiver<Arc<Published>>) -> impl Stream<Item = Arc<Published>> {
    stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(p) => return Some((p, rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every event as it becomes visible (ADMIN, INTEGRATION).
    #[graphql(guard = "RoleGuard::any(roles::EVENT_READERS)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        types: Option<Vec<EventType>>,
    ) -> Result<impl Stream<Item = Event>> {
        let wanted: HashSet<&'static str> = types
            .unwrap_or_default()
            .into_iter()
            .map(EventType::as_str)
            .collect();
        let rx = hub(ctx)?.subscribe();
        Ok(published(rx).filter_map(move |p| {
            let pass = wanted.is_empty() || wanted.contains(p.event.event_type.as_str());
            async move { pass.then(|| Event(p.event.clone())) }
        }))
    }

    /// A claim after each committed change of it or of one of its payouts,
    /// once per change; filtered by its status after the change and its
    /// assignee.
    #[graphql(guard = "reads::<Claim>()")]
    async fn claim_updated(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<ClaimStatus>>,
        assignee_id: Option<ID>,
    ) -> Result<impl Stream<Item = Claim>> {
        let statuses: HashSet<&'static str> = status
            .unwrap_or_default()
            .into_iter()
            .map(ClaimStatus::as_str)
            .collect();
        let assignee: Option<Uuid> = assignee_id.as_ref().map(parse_id).transpose()?;
        let db = db(ctx).clone();
        let rx = hub(ctx)?.subscribe();
        // The claims already sent for the change being read: a change that
        // wrote several events about one claim (approval and its payout)
        // fires once.
        let mut current: (Uuid, HashSet<Uuid>) = (Uuid::nil(), HashSet::new());
        Ok(published(rx)
            .filter(move |p| {
                let fresh = match p.claim_id {
                    None => false,
                    Some(claim) => {
                        if current.0 != p.event.change_id {
                            current = (p.event.change_id, HashSet::new());
                        }
                        current.1.insert(claim)
                    }
                };
                async move { fresh }
            })
            .filter_map(move |p| {
                let db = db.clone();
                let statuses = statuses.clone();
                async move {
                    let claim = p.claim(&db).await?;
                    let status_ok = statuses.is_empty() || statuses.contains(claim.status.as_str());
                    let assignee_ok = assignee.is_none() || claim.assignee_id == assignee;
                    (status_ok && assignee_ok).then(|| Claim::new(claim.clone()))
                }
            }))
    }
}
