//! Inbound integrations: WooCommerce orders and Stripe disputes and refunds
//! arrive as signed webhooks and become changes of their own.
//!
//! Every verified message is kept once per (source, external id) in
//! `inbound_messages`, and processed in the transaction that stores it, so
//! a message is either stored with all its effects or not at all. The
//! message row is inserted first: its unique key is what makes a duplicate
//! (or a concurrent second delivery of the same id, on any process) wait
//! for the first and then change nothing.
//!
//! A business problem (unknown SKU, unknown order, wrong state, an amount
//! that does not fit) rolls the effects back and stores the message
//! NEEDS_ATTENTION with the reason, answered 200 so the sender does not
//! disable its hook; an ADMIN fixes the cause and replays it. A database
//! failure stores nothing and answers 500, so the sender retries.

pub mod plans;
pub mod signatures;
pub mod stripe;
pub mod woocommerce;

use crate::service::db::Db;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use entity::{inbound_message, inbound_message_body};

use super::db::{begin_write, lock_by_id, WriteTxn};
use super::events::Source;
use super::page::{fetch_page, SortOrder};
use super::{audit, new_id, now, RequestContext};
use crate::domain::enums::{InboundStatus, IntegrationSource};
use crate::domain::page::{Page, PageRequest};
use crate::error::{AppError, AppResult};

/// The shared secrets of the two senders; an endpoint without its secret
/// answers 404.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    pub woocommerce: Option<SecretString>,
    pub stripe: Option<SecretString>,
}

/// A message whose signature was verified.
#[derive(Clone, Debug)]
pub struct Message {
    pub source: IntegrationSource,
    /// The WooCommerce delivery id or the Stripe event id.
    pub external_id: String,
    pub topic: String,
    /// The raw body, as signed.
    pub body: Vec<u8>,
}

/// What receiving a message came to.
#[derive(Debug)]
pub enum Receipt {
    /// Stored now (PROCESSED, IGNORED or NEEDS_ATTENTION).
    Stored(inbound_message::Model),
    /// Already stored by an earlier delivery: nothing changed.
    Duplicate(inbound_message::Model),
}

/// What processing a message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    /// Its effects are written; `subject` is the order, chargeback or payout.
    Processed { subject: Uuid },
    /// A topic Refund Desk does not act on.
    Ignored,
}

/// Why processing stopped.
#[derive(Debug)]
pub enum Failure {
    /// A business problem, in words for the ADMIN who will fix it.
    Attention(String),
    /// A concurrent writer took a key this change needed; run it again.
    Retry,
    /// The database (or a bug): answered 500, nothing stored.
    Internal(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Internal(_) => Failure::Internal(e),
            other => Failure::Attention(format!("{}: {}", other.code(), other.message())),
        }
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(e: sea_orm::DbErr) -> Self {
        Failure::Internal(e.into())
    }
}

pub type Processing<T> = Result<T, Failure>;

/// Reads a JSON body into `T`; a body of another shape is a business
/// problem named by the path of the field that did not fit (e.g.
/// "billing.email: missing field").
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Processing<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        Failure::Attention(format!(
            "the body is not {what}: {path}: {}",
            e.into_inner()
        ))
    })
}

/// A business problem.
pub fn attention<T>(why: impl Into<String>) -> Processing<T> {
    Err(Failure::Attention(why.into()))
}

/// How many times a change that lost a race is run again.
const RACE_RETRIES: usize = 3;

/// The longest `error` kept, clip mark included: below the column's 1024.
const MAX_ERROR_CHARS: usize = 1000;

fn source_of(source: IntegrationSource) -> Source {
    match source {
        IntegrationSource::Woocommerce => Source::WooCommerce,
        IntegrationSource::Stripe => Source::Stripe,
    }
}

/// The context changes of a message act under: the integration as source,
/// the replaying ADMIN (if any) as actor.
fn context_for(source: IntegrationSource, base: &RequestContext) -> RequestContext {
    RequestContext {
        source: source_of(source),
        change_id: new_id(),
        ..base.clone()
    }
}

async fn process(txn: &WriteTxn, ctx: &RequestContext, msg: &Message) -> Processing<Handled> {
    match msg.source {
        IntegrationSource::Woocommerce => {
            woocommerce::handle(txn, ctx, &msg.topic, &msg.body).await
        }
        IntegrationSource::Stripe => stripe::handle(txn, ctx, &msg.topic, &msg.body).await,
    }
}

fn clip(error: String) -> String {
    if error.chars().count() <= MAX_ERROR_CHARS {
        return error;
    }
    let mut cut: String = error.chars().take(MAX_ERROR_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn status_of(handled: &Handled) -> (InboundStatus, Option<Uuid>) {
    match handled {
        Handled::Processed { subject } => (InboundStatus::Processed, Some(*subject)),
        Handled::Ignored => (InboundStatus::Ignored, None),
    }
}

/// Inserts the message's row unless its (source, external id) is taken;
/// true when the row is ours. On PostgreSQL and MariaDB a concurrent insert
/// of the same key waits here until the first commits or rolls back.
async fn insert_row<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    msg: &Message,
    status: InboundStatus,
    error: Option<String>,
) -> AppResult<bool> {
    let at = now();
    let row = inbound_message::ActiveModel {
        id: Set(id),
        source: Set(msg.source.as_str().to_string()),
        external_id: Set(msg.external_id.clone()),
        topic: Set(msg.topic.clone()),
        received_at: Set(at),
        status: Set(status.as_str().to_string()),
        error: Set(error),
        attempts: Set(1),
        subject_id: Set(None),
        updated_at: Set(at),
    };
    inbound_message::Entity::insert(row)
        .on_conflict_do_nothing_on([
            inbound_message::Column::Source,
            inbound_message::Column::ExternalId,
        ])
        .exec_without_returning(conn)
        .await?;
    // Our own insert is always visible to us; a skipped one is not ours.
    let ours = inbound_message::Entity::find_by_id(id)
        .one(conn)
        .await?
        .is_some();
    if ours {
        inbound_message_body::Entity::insert(inbound_message_body::ActiveModel {
            message_id: Set(id),
            body: Set(msg.body.clone()),
        })
        .exec_without_returning(conn)
        .await?;
    }
    Ok(ours)
}

async fn by_key<C: ConnectionTrait>(conn: &C, msg: &Message) -> AppResult<inbound_message::Model> {
    inbound_message::Entity::find()
        .filter(inbound_message::Column::Source.eq(msg.source.as_str()))
        .filter(inbound_message::Column::ExternalId.eq(msg.external_id.as_str()))
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal("an inbound message vanished after its duplicate"))
}

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> AppResult<Option<inbound_message::Model>> {
    Ok(inbound_message::Entity::find_by_id(id).one(conn).await?)
}

async fn stored(db: &Db, id: Uuid) -> AppResult<inbound_message::Model> {
    find(db, id)
        .await?
        .ok_or_else(|| AppError::internal("an inbound message vanished after commit"))
}

/// Stores a verified message once and processes it in the same
/// transaction (see the module's notes).
#[tracing::instrument(skip(db, base, msg), fields(source = msg.source.as_str(), external_id = %msg.external_id, topic = %msg.topic))]
pub async fn receive(db: &Db, base: &RequestContext, msg: &Message) -> AppResult<Receipt> {
    for _ in 0..RACE_RETRIES {
        let ctx = context_for(msg.source, base);
        let txn = begin_write(db).await?;
        let id = new_id();
        if !insert_row(&txn, id, msg, InboundStatus::Processed, None).await? {
            txn.rollback().await?;
            return Ok(Receipt::Duplicate(by_key(db, msg).await?));
        }
        match process(&txn, &ctx, msg).await {
            Ok(handled) => {
                let (status, subject) = status_of(&handled);
                inbound_message::Entity::update_many()
                    .col_expr(inbound_message::Column::Status, status.as_str().into())
                    .col_expr(inbound_message::Column::SubjectId, subject.into())
                    .filter(inbound_message::Column::Id.eq(id))
                    .exec(&txn)
                    .await?;
                txn.commit().await?;
                return Ok(Receipt::Stored(stored(db, id).await?));
            }
            Err(Failure::Retry) => {
                txn.rollback().await?;
                continue;
            }
            Err(Failure::Internal(e)) => return Err(e),
            Err(Failure::Attention(why)) => {
                // Nothing of the change stays; the message is kept with why.
                txn.rollback().await?;
                tracing::warn!(error = %why, "inbound message needs attention");
                let txn = begin_write(db).await?;
                let ours = insert_row(
                    &txn,
                    id,
                    msg,
                    InboundStatus::NeedsAttention,
                    Some(clip(why)),
                )
                .await?;
                txn.commit().await?;
                return Ok(if ours {
                    Receipt::Stored(stored(db, id).await?)
                } else {
                    Receipt::Duplicate(by_key(db, msg).await?)
                });
            }
        }
    }
    Err(AppError::internal(
        "an inbound message kept losing races to concurrent writers",
    ))
}

/// Processes a NEEDS_ATTENTION message again, after its cause was fixed.
/// Acts as the message's source with the ADMIN as actor; audited either way.
pub async fn replay(db: &Db, base: &RequestContext, id: Uuid) -> AppResult<inbound_message::Model> {
    for _ in 0..RACE_RETRIES {
        let txn = begin_write(db).await?;
        let row = lock_by_id::<inbound_message::Entity, _>(&txn, id, "inbound message").await?;
        if row.status != InboundStatus::NeedsAttention.as_str() {
            return Err(AppError::InvalidTransition(format!(
                "only NEEDS_ATTENTION messages are replayed (this one is {})",
                row.status
            )));
        }
        let source: IntegrationSource = crate::domain::enums::parse_stored(&row.source)?;
        let body = inbound_message_body::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::internal("an inbound message without its body"))?
            .body;
        let msg = Message {
            source,
            external_id: row.external_id.clone(),
            topic: row.topic.clone(),
            body,
        };
        let ctx = context_for(source, base);
        let (status, subject, error) = match process(&txn, &ctx, &msg).await {
            Ok(handled) => {
                let (status, subject) = status_of(&handled);
                (status, subject, None)
            }
            Err(Failure::Retry) => {
                txn.rollback().await?;
                continue;
            }
            Err(Failure::Internal(e)) => return Err(e),
            Err(Failure::Attention(why)) => {
                txn.rollback().await?;
                let txn = begin_write(db).await?;
                let row =
                    lock_by_id::<inbound_message::Entity, _>(&txn, id, "inbound message").await?;
                let saved = save_attempt(
                    &txn,
                    base,
                    row,
                    InboundStatus::NeedsAttention,
                    None,
                    Some(clip(why)),
                )
                .await?;
                txn.commit().await?;
                return Ok(saved);
            }
        };
        let saved = save_attempt(&txn, base, row, status, subject, error).await?;
        txn.commit().await?;
        return Ok(saved);
    }
    Err(AppError::internal(
        "a replay kept losing races to concurrent writers",
    ))
}

async fn save_attempt(
    txn: &WriteTxn,
    ctx: &RequestContext,
    row: inbound_message::Model,
    status: InboundStatus,
    subject: Option<Uuid>,
    error: Option<String>,
) -> AppResult<inbound_message::Model> {
    let attempts = row.attempts + 1;
    let mut m = row.into_active_model();
    m.status = Set(status.as_str().to_string());
    m.subject_id = Set(subject);
    m.error = Set(error.clone());
    m.attempts = Set(attempts);
    m.updated_at = Set(now());
    let saved = m.update(txn).await?;
    audit::record(
        txn,
        ctx,
        "inbound.replay",
        "inbound_message",
        saved.id,
        json!({ "status": status.as_str(), "subjectId": subject, "error": error, "attempts": attempts }),
    )
    .await?;
    Ok(saved)
}

/// Filters of the `inboundMessages` query.
#[derive(Clone, Debug, Default)]
pub struct InboundQuery {
    pub source: Option<IntegrationSource>,
    pub status: Vec<InboundStatus>,
}

/// Newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &InboundQuery,
    page: &PageRequest,
) -> AppResult<Page<inbound_message::Model>> {
    let mut q = inbound_message::Entity::find();
    if let Some(source) = filter.source {
        q = q.filter(inbound_message::Column::Source.eq(source.as_str()));
    }
    if !filter.status.is_empty() {
        q = q.filter(
            inbound_message::Column::Status.is_in(filter.status.iter().map(|s| s.as_str())),
        );
    }
    Ok(fetch_page(
        conn,
        q,
        inbound_message::Column::Id,
        SortOrder::NewestFirst,
        page,
    )
    .await?)
}
