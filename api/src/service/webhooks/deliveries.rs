//! Webhook deliveries: one row per event and endpoint, created when the event
//! is numbered, attempted on the retry schedule, held by one process at a
//! time through a lease, and never lost: a process that dies mid-attempt
//! leaves a lease that runs out, and another process resumes the delivery.

use crate::service::db::Db;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, InsertStatement, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

use entity::{event, webhook_delivery, webhook_endpoint};

use super::endpoints::wants;
use super::handoff::{Handed, Handoff, Reservation};
use crate::domain::page::{Page, PageRequest};
use crate::error::{AppError, AppResult};
use crate::service::db::{begin_write, WriteTxn};
use crate::service::page::{fetch_page, SortOrder};
use crate::service::sql::value_by_id;
use crate::service::{audit, new_id, now, RequestContext};

crate::stored_enum!(
    /// Where a delivery stands.
    DeliveryStatus {
        Pending => "PENDING",
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
    }
);

/// The retry schedule of DESIGN.md: seconds to wait after each failed
/// attempt; after the last, the delivery is FAILED.
pub const DEFAULT_SCHEDULE: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// Days of failures without a success before an endpoint is disabled.
pub const DISABLE_AFTER_DAYS: i64 = 5;

/// New deliveries per `INSERT`: 5 bound values each, well below every
/// backend's limit on bound parameters.
const QUEUED_PER_STATEMENT: usize = 200;

/// Queues one delivery per enabled endpoint that wants each event, in the
/// sequencer's transaction (so the event becomes visible with them). Up to
/// the room of `handoff`, the rows are written leased to this process; the
/// round hands them to the dispatcher once it has committed
/// ([`Queued::hand_over`]).
pub async fn enqueue<'h>(
    txn: &WriteTxn,
    events: &[event::Model],
    handoff: &'h Handoff,
) -> AppResult<Queued<'h>> {
    let at = now();
    if events.is_empty() {
        return Ok(Queued {
            reservation: handoff.reserve(0, at),
            handed: Vec::new(),
        });
    }
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(txn)
        .await?;
    let pairs: Vec<(Uuid, usize)> = events
        .iter()
        .enumerate()
        .flat_map(|(i, e)| {
            endpoints
                .iter()
                .filter(|ep| wants(ep, &e.event_type))
                .map(move |ep| (ep.id, i))
        })
        .collect();
    let reservation = handoff.reserve(pairs.len(), at);
    let (leased, rest) = pairs.split_at(reservation.count);
    let rows = |pairs: &[(Uuid, usize)], lease: Option<(DateTime<Utc>, Uuid)>| {
        pairs
            .iter()
            .map(|&(endpoint, i)| pending(endpoint, events[i].id, at, lease))
            .collect::<Vec<_>>()
    };
    let leased_rows = rows(leased, Some((reservation.until, reservation.lease_id)));
    let rest_rows = rows(rest, None);
    for chunk in leased_rows.chunks(QUEUED_PER_STATEMENT) {
        txn.execute(&insert_pending(chunk, true)).await?;
    }
    for chunk in rest_rows.chunks(QUEUED_PER_STATEMENT) {
        txn.execute(&insert_pending(chunk, false)).await?;
    }
    // One shared copy of each event, however many endpoints receive it.
    let mut shared: Vec<Option<Arc<event::Model>>> = vec![None; events.len()];
    let handed = leased
        .iter()
        .zip(leased_rows)
        .map(|(&(_, i), delivery)| Handed {
            delivery,
            event: shared[i]
                .get_or_insert_with(|| Arc::new(events[i].clone()))
                .clone(),
        })
        .collect();
    Ok(Queued {
        reservation,
        handed,
    })
}

/// The deliveries a round queued leased to this process, to be handed to
/// its dispatcher once the round has committed. Dropped instead (the round
/// failed), it gives their room back; rows that were committed all the same
/// are sent when their lease runs out.
#[must_use = "hand them over after the commit"]
pub struct Queued<'h> {
    reservation: Reservation<'h>,
    handed: Vec<Handed>,
}

impl Queued<'_> {
    pub fn hand_over(self) {
        self.reservation.hand_over(self.handed);
    }
}

/// A new delivery, as its row is written: pending, due at once, and leased
/// when `lease` (until, holder) is given.
pub(super) fn pending(
    endpoint: Uuid,
    event: Uuid,
    at: DateTime<Utc>,
    lease: Option<(DateTime<Utc>, Uuid)>,
) -> webhook_delivery::Model {
    webhook_delivery::Model {
        id: new_id(),
        endpoint_id: endpoint,
        event_id: event,
        status: DeliveryStatus::Pending.as_str().to_string(),
        attempts: 0,
        next_attempt_at: Some(at),
        last_attempt_at: None,
        response_status: None,
        last_error: None,
        succeeded_at: None,
        lease_until: lease.map(|(until, _)| until),
        leased_by: lease.map(|(_, holder)| holder),
        created_at: at,
    }
}

/// The `INSERT` of new pending deliveries made by [`pending`], with their
/// lease columns when `leased`.
///
/// Built with sea-query rather than from `ActiveModel`s: a new delivery
/// differs from another only in its id, endpoint, event and time (and its
/// lease), so the status and attempt count are written as constants and the
/// columns of later attempts take their default (NULL). Each row binds 5
/// values (7 leased) instead of all 13 columns. The sequencer runs this in
/// its round, which on SQLite holds every writer's turn (BENCHMARKS.md,
/// events).
fn insert_pending(rows: &[webhook_delivery::Model], leased: bool) -> InsertStatement {
    use webhook_delivery::Column as C;
    let mut columns = vec![
        C::Id,
        C::EndpointId,
        C::EventId,
        C::Status,
        C::Attempts,
        C::NextAttemptAt,
        C::CreatedAt,
    ];
    if leased {
        columns.extend([C::LeaseUntil, C::LeasedBy]);
    }
    let mut insert = Query::insert();
    insert.into_table(webhook_delivery::Entity).columns(columns);
    for row in rows {
        let mut values: Vec<Expr> = vec![
            row.id.into(),
            row.endpoint_id.into(),
            row.event_id.into(),
            Expr::Constant(DeliveryStatus::Pending.as_str().into()),
            Expr::Constant(0i32.into()),
            row.next_attempt_at.into(),
            row.created_at.into(),
        ];
        if leased {
            values.extend([row.lease_until.into(), row.leased_by.into()]);
        }
        insert.values_panic(values);
    }
    insert
}

/// Filters of the `webhookDeliveries` query.
#[derive(Clone, Debug, Default)]
pub struct DeliveryQuery {
    pub endpoint_id: Option<Uuid>,
    pub status: Vec<DeliveryStatus>,
}

/// Newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &DeliveryQuery,
    page: &PageRequest,
) -> AppResult<Page<webhook_delivery::Model>> {
    let mut q = webhook_delivery::Entity::find();
    if let Some(id) = filter.endpoint_id {
        q = q.filter(webhook_delivery::Column::EndpointId.eq(id));
    }
    if !filter.status.is_empty() {
        q = q.filter(
            webhook_delivery::Column::Status.is_in(filter.status.iter().map(|s| s.as_str())),
        );
    }
    Ok(fetch_page(
        conn,
        q,
        webhook_delivery::Column::Id,
        SortOrder::NewestFirst,
        page,
    )
    .await?)
}

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> AppResult<Option<webhook_delivery::Model>> {
    Ok(webhook_delivery::Entity::find_by_id(id).one(conn).await?)
}

/// Queues a new attempt now, whatever the delivery's status.
pub async fn redeliver(
    db: &Db,
    ctx: &RequestContext,
    id: Uuid,
) -> AppResult<webhook_delivery::Model> {
    let txn = begin_write(db).await?;
    let current =
        crate::service::db::lock_by_id::<webhook_delivery::Entity, _>(&txn, id, "webhook delivery")
            .await?;
    // A disabled endpoint's deliveries are never attempted.
    let enabled = webhook_endpoint::Entity::find_by_id(current.endpoint_id)
        .one(&txn)
        .await?
        .is_some_and(|e| e.enabled);
    if !enabled {
        return Err(AppError::InvalidTransition(
            "the endpoint is disabled; enable it to redeliver".into(),
        ));
    }
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now()))
        .filter(webhook_delivery::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    audit::record(&txn, ctx, "webhook.redeliver", "webhook_delivery", id, json!({ "from": current.status, "eventId": current.event_id, "endpointId": current.endpoint_id })).await?;
    let saved = find(&txn, id)
        .await?
        .ok_or(AppError::NotFound("webhook delivery"))?;
    txn.commit().await?;
    Ok(saved)
}

/// Takes up to `limit` due deliveries of enabled endpoints for `lease`, in
/// one conditional `UPDATE` that marks them with a fresh lease id, then
/// reads back what carries that id: two processes never hold the same one
/// (the loser's update no longer matches it).
pub async fn lease_due(
    db: &Db,
    limit: u64,
    lease: Duration,
) -> AppResult<Vec<webhook_delivery::Model>> {
    let at = now();
    let lease_id = new_id();
    let free = Condition::any()
        .add(webhook_delivery::Column::LeaseUntil.is_null())
        .add(webhook_delivery::Column::LeaseUntil.lt(at));
    let enabled = sea_orm::sea_query::Query::select()
        .column(webhook_endpoint::Column::Id)
        .from(webhook_endpoint::Entity)
        .and_where(webhook_endpoint::Column::Enabled.eq(true))
        .to_owned();
    let due: Vec<Uuid> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(at))
        .filter(free.clone())
        .filter(webhook_delivery::Column::EndpointId.in_subquery(enabled))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    // A write like the requests' own, in its turn: on SQLite a bare
    // statement that finds the file locked sleeps in the busy handler, and a
    // request's `BEGIN IMMEDIATE` that finds it holding the lock sleeps too.
    let txn = begin_write(db).await?;
    let won = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::LeaseUntil,
            Expr::value(at + lease),
        )
        .col_expr(webhook_delivery::Column::LeasedBy, Expr::value(lease_id))
        .filter(webhook_delivery::Column::Id.is_in(due.clone()))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(free)
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    if won == 0 {
        return Ok(Vec::new());
    }
    // By primary key: `leased_by` alone has no index.
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Id.is_in(due))
        .filter(webhook_delivery::Column::LeasedBy.eq(lease_id))
        .all(db)
        .await?)
}

/// Leases released by one statement: 2 bound values each.
const RELEASED_PER_STATEMENT: usize = 200;

/// Gives up this process's leases on deliveries it will not attempt now
/// (handed over but waiting too long, or their endpoint disabled meanwhile),
/// so that any process may take them at once rather than when the leases run
/// out. A row leased again since is left alone.
pub async fn release(db: &Db, rows: &[webhook_delivery::Model]) -> AppResult<()> {
    use webhook_delivery::Column as D;
    if rows.is_empty() {
        return Ok(());
    }
    let txn = begin_write(db).await?;
    for chunk in rows.chunks(RELEASED_PER_STATEMENT) {
        webhook_delivery::Entity::update_many()
            .col_expr(D::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(D::LeasedBy, Expr::value(Option::<Uuid>::None))
            .filter(still_held(chunk.iter()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub succeeded: bool,
    pub response_status: Option<u16>,
    /// At most 1 KiB.
    pub error: Option<String>,
}

/// One finished attempt, to be recorded.
pub struct Attempt {
    pub delivery: webhook_delivery::Model,
    pub endpoint: Option<webhook_endpoint::Model>,
    pub outcome: Outcome,
    pub at: DateTime<Utc>,
}

/// Records finished attempts in one transaction (the dispatcher batches
/// them: one write instead of one per delivery). Successes, the usual
/// outcome, are one statement for the whole batch: the transaction holds the
/// write lock (on SQLite, every writer's turn) for one round trip rather than
/// one per attempt. Each attempt is otherwise recorded as [`record_attempt`]
/// does.
pub async fn record_attempts(db: &Db, attempts: &[Attempt], schedule: &[u64]) -> AppResult<()> {
    let (succeeded, failed): (Vec<&Attempt>, Vec<&Attempt>) =
        attempts.iter().partition(|a| a.outcome.succeeded);
    let txn = begin_write(db).await?;
    for chunk in succeeded.chunks(SUCCESSES_PER_STATEMENT) {
        record_successes(&txn, chunk).await?;
    }
    let mut recovered = std::collections::HashSet::new();
    for a in &succeeded {
        if let Some(endpoint) = a.endpoint.as_ref().filter(|e| recovered.insert(e.id)) {
            endpoint_health(&txn, endpoint, true, a.at).await?;
        }
    }
    for a in failed {
        record_attempt(
            &txn,
            &a.delivery,
            a.endpoint.as_ref(),
            &a.outcome,
            schedule,
            a.at,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Records an attempt: success, the next attempt on the schedule, or FAILED
/// after the schedule's last; and the endpoint's failure streak, disabling
/// it after [`DISABLE_AFTER_DAYS`] without a success. The lease is released.
///
/// Each write is one conditional statement, without locks: a success of an
/// endpoint that was not failing (the usual case) is a single `UPDATE`, so
/// busy endpoints do not queue on their row.
pub async fn record_attempt<C: ConnectionTrait>(
    db: &C,
    delivery: &webhook_delivery::Model,
    endpoint: Option<&webhook_endpoint::Model>,
    outcome: &Outcome,
    schedule: &[u64],
    attempted_at: DateTime<Utc>,
) -> AppResult<()> {
    let attempts = delivery.attempts + 1;
    let mut row = webhook_delivery::ActiveModel {
        id: Set(delivery.id),
        attempts: Set(attempts),
        last_attempt_at: Set(Some(attempted_at)),
        response_status: Set(outcome.response_status.map(i32::from)),
        last_error: Set(outcome.error.clone()),
        lease_until: Set(None),
        leased_by: Set(None),
        ..Default::default()
    };
    let retries_done = usize::try_from(attempts).unwrap_or(usize::MAX) - 1;
    if outcome.succeeded {
        row.status = Set(DeliveryStatus::Succeeded.as_str().to_string());
        row.succeeded_at = Set(Some(attempted_at));
        row.next_attempt_at = Set(None);
    } else if let Some(wait) = schedule.get(retries_done) {
        row.next_attempt_at = Set(Some(
            attempted_at + Duration::seconds(i64::try_from(*wait).unwrap_or(i64::MAX / 2)),
        ));
    } else {
        row.status = Set(DeliveryStatus::Failed.as_str().to_string());
        row.next_attempt_at = Set(None);
    }
    // Only while the lease is still this attempt's.
    webhook_delivery::Entity::update_many()
        .set(row)
        .filter(still_held(std::iter::once(delivery)))
        .exec(db)
        .await?;
    match endpoint {
        Some(endpoint) => endpoint_health(db, endpoint, outcome.succeeded, attempted_at).await,
        None => Ok(()),
    }
}

/// The rows among `rows` whose lease is still the one they were read with:
/// a redelivery or a takeover after an expired lease is not overwritten.
fn still_held<'a>(rows: impl Iterator<Item = &'a webhook_delivery::Model>) -> Condition {
    use webhook_delivery::Column as D;
    rows.fold(Condition::any(), |any, r| {
        any.add(
            Condition::all()
                .add(D::Id.eq(r.id))
                .add(D::LeasedBy.eq(r.leased_by)),
        )
    })
}

/// Rows of successful attempts updated by one statement: 10 bound values
/// each, well below every backend's limit.
const SUCCESSES_PER_STATEMENT: usize = 64;

/// Records successful attempts as [`record_attempt`] does, in one
/// statement; the endpoints' health is left to the caller.
async fn record_successes<C: ConnectionTrait>(db: &C, done: &[&Attempt]) -> AppResult<()> {
    use webhook_delivery::Column as D;
    if done.is_empty() {
        return Ok(());
    }
    let by_row = |value: fn(&Attempt) -> sea_orm::Value| {
        value_by_id(D::Id, done.iter().map(|a| (a.delivery.id, value(a))))
    };
    // Only while the lease is still this attempt's.
    let leased = still_held(done.iter().map(|a| &a.delivery));
    webhook_delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value(DeliveryStatus::Succeeded.as_str()))
        .col_expr(D::Attempts, by_row(|a| (a.delivery.attempts + 1).into()))
        .col_expr(D::LastAttemptAt, by_row(|a| a.at.into()))
        .col_expr(D::SucceededAt, by_row(|a| a.at.into()))
        .col_expr(
            D::ResponseStatus,
            by_row(|a| a.outcome.response_status.map(i32::from).into()),
        )
        .col_expr(D::LastError, Expr::value(Option::<String>::None))
        .col_expr(D::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LeasedBy, Expr::value(Option::<Uuid>::None))
        .filter(leased)
        .exec(db)
        .await?;
    Ok(())
}

/// An endpoint's failure streak after an attempt: a success ends it; a
/// failure starts it, or disables the endpoint after
/// [`DISABLE_AFTER_DAYS`] without a success.
async fn endpoint_health<C: ConnectionTrait>(
    db: &C,
    endpoint: &webhook_endpoint::Model,
    succeeded: bool,
    attempted_at: DateTime<Utc>,
) -> AppResult<()> {
    use webhook_endpoint::Column as E;
    if succeeded {
        if endpoint.failing_since.is_some() {
            webhook_endpoint::Entity::update_many()
                .col_expr(E::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(E::Id.eq(endpoint.id))
                .exec(db)
                .await?;
        }
        return Ok(());
    }
    if endpoint.failing_since.is_none() {
        webhook_endpoint::Entity::update_many()
            .col_expr(E::FailingSince, Expr::value(attempted_at))
            .filter(E::Id.eq(endpoint.id))
            .filter(E::FailingSince.is_null())
            .exec(db)
            .await?;
        return Ok(());
    }
    // Failing for long enough: disabled once (the conditional update lets
    // exactly one attempt do it), with its audit entry.
    let limit = attempted_at - Duration::days(DISABLE_AFTER_DAYS);
    let since = endpoint.failing_since.unwrap_or(attempted_at);
    if since > limit || !endpoint.enabled {
        return Ok(());
    }
    let disabled = webhook_endpoint::Entity::update_many()
        .col_expr(E::Enabled, Expr::value(false))
        .col_expr(
            E::DisabledReason,
            Expr::value(format!(
                "disabled automatically: deliveries failed without a success since {}",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
        )
        .col_expr(E::UpdatedAt, Expr::value(attempted_at))
        .filter(E::Id.eq(endpoint.id))
        .filter(E::Enabled.eq(true))
        .filter(E::FailingSince.lte(limit))
        .exec(db)
        .await?
        .rows_affected;
    if disabled == 1 {
        audit::record(
            db,
            &RequestContext::system(),
            "webhook.disable",
            "webhook_endpoint",
            endpoint.id,
            json!({ "failingSince": since }),
        )
        .await?;
    }
    Ok(())
}
