//! Sends due webhook deliveries: signed POSTs, a bounded number at a time,
//! each under a lease (see `deliveries.rs`). Leases and records are written
//! on the main runtime; the HTTP exchanges run on a thread of lower OS
//! priority (`low_priority.rs`), so that requests come first for the CPU.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::service::db::Db;
use tokio::sync::{mpsc, Semaphore};

use entity::{event, webhook_delivery, webhook_endpoint};

use super::address::{self, GuardedResolver, TargetPolicy};
use super::deliveries::{self, Attempt, Outcome};
use super::handoff::{Handed, Taken};
use super::{endpoints, signing};
use crate::error::{error_chain, AppError, AppResult};
use crate::foreground::Foreground;
use crate::low_priority::LowPriority;
use crate::secrets::CredentialCipher;
use crate::service::events::envelope;
use crate::service::events::hub::Hub;

/// Most bytes of a receiver's answer read (the rest is dropped).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Most bytes of `lastError` kept.
pub const MAX_ERROR_BYTES: usize = 1024;
/// Attempts in flight at once in one process.
const CONCURRENCY: usize = 32;
/// How often the dispatcher looks for due deliveries when nothing woke it.
const POLL: Duration = Duration::from_millis(500);
/// Finished attempts waiting to be recorded.
const RECORD_QUEUE: usize = 1024;
/// Most attempts recorded in one transaction.
const RECORD_BATCH: usize = 64;
/// The least time between two leases of due deliveries, and how long the
/// recorder waits for more finished attempts to join a batch.
const LEASE_GAP: Duration = Duration::from_millis(50);
/// The longest a batch of deliveries waits for the requests in flight to
/// finish before it is sent anyway (see `foreground.rs`). Under a load
/// that never pauses, deliveries still leave at least CONCURRENCY per this
/// much time (320/s); their p99 delay grows by at most this.
const YIELD_AT_MOST: Duration = Duration::from_millis(100);

/// Envelopes of a batch's events, by event id.
type Body = HashMap<uuid::Uuid, Arc<Vec<u8>>>;
/// A batch's endpoints, by id.
type Targets = HashMap<uuid::Uuid, Arc<webhook_endpoint::Model>>;

/// The dispatcher's settings.
#[derive(Clone, Debug)]
pub struct DispatchSettings {
    pub policy: TargetPolicy,
    /// Seconds to wait after each failed attempt (`WEBHOOK_RETRY_SCHEDULE`).
    pub schedule: Vec<u64>,
    /// `WEBHOOK_TIMEOUT_SECS`.
    pub timeout: Duration,
}

pub struct Dispatcher {
    db: Db,
    cipher: Arc<CredentialCipher>,
    client: reqwest::Client,
    settings: DispatchSettings,
    permits: Arc<Semaphore>,
    /// The process's requests in flight, which go first.
    foreground: Foreground,
    /// Finished attempts, recorded in batches by [`Dispatcher::record`].
    finished: mpsc::Sender<Attempt>,
    unrecorded: std::sync::Mutex<Option<mpsc::Receiver<Attempt>>>,
    /// Where the attempts' HTTP exchanges run: a thread at a lower OS
    /// priority, so that under load the requests get the CPU first. Leases
    /// and records stay on the main runtime: they take the database's locks.
    sender: LowPriority,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        cipher: Arc<CredentialCipher>,
        settings: DispatchSettings,
        foreground: Foreground,
    ) -> AppResult<Self> {
        // No proxy from the environment (`HTTP_PROXY` …): through a proxy the
        // only address checked would be the proxy's, and the proxy would
        // reach the private hosts the resolver refuses.
        let mut client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent("refund-desk-webhooks/1");
        if !settings.policy.allow_private {
            client = client.dns_resolver(Arc::new(GuardedResolver));
        }
        let (finished, unrecorded) = mpsc::channel(RECORD_QUEUE);
        Ok(Dispatcher {
            db,
            cipher,
            client: client.build().map_err(AppError::internal)?,
            settings,
            permits: Arc::new(Semaphore::new(CONCURRENCY)),
            foreground,
            finished,
            unrecorded: std::sync::Mutex::new(Some(unrecorded)),
            sender: LowPriority::start("webhook-sender").map_err(AppError::internal)?,
        })
    }

    /// A lease outlives an attempt (the client's timeout covers the whole
    /// exchange; then the outcome is recorded), so only a dead process's
    /// lease runs out (a handed-over delivery that waited too long to start
    /// is released instead).
    fn lease_length(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.timeout * 2).unwrap_or_default()
            + chrono::Duration::seconds(5)
    }

    /// Runs until the process ends: woken by the event pump when deliveries
    /// were queued, and every half second for retries that fall due.
    pub async fn run(self: Arc<Self>, hub: Arc<Hub>) {
        let unrecorded = self
            .unrecorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(rx) = unrecorded {
            tokio::spawn(self.clone().record(rx));
        }
        // Closed again when this loop ends, however it ends.
        let _open = hub.handoff.open(self.handed_lease());
        let mut leased_at = Instant::now();
        loop {
            tokio::select! {
                _ = hub.deliveries.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
            // While deliveries are due: wait for a free place, take as many
            // as there are free places, send them, and again.
            loop {
                let Ok(first) = self.permits.clone().acquire_owned().await else {
                    return;
                };
                self.foreground.quiet(YIELD_AT_MOST).await;
                let free = 1 + self.permits.available_permits();
                // Handed-over deliveries first, but the due rows (retries,
                // redeliveries, another process's leases run out) at least
                // every POLL, so a steady stream of new deliveries cannot
                // hold them back.
                let lease_first = leased_at.elapsed() >= POLL;
                let mut due = match lease_first {
                    true => self.lease(free, &mut leased_at).await,
                    false => Vec::new(),
                };
                // Each attempt gets a whole lease, as if it had leased now.
                let Taken { ready, mut late } =
                    hub.handoff
                        .take(free - due.len(), crate::service::now(), self.lease_length());
                if ready.is_empty() && !lease_first {
                    due = self.lease(free, &mut leased_at).await;
                }
                if ready.is_empty() && due.is_empty() {
                    self.release(&late).await;
                    break;
                }
                // One body per event, however many endpoints receive it, and
                // one read of the batch's endpoints (as they are now: a
                // secret rotated since the round signs already).
                let (bodies, targets) = match self.batch_context(&due, &ready).await {
                    Ok(c) => c,
                    Err(err) => {
                        tracing::warn!(cause = %err.describe(), "could not read the events of due webhook deliveries");
                        (HashMap::new(), HashMap::new())
                    }
                };
                let handed = sendable(ready, &targets, &mut late);
                self.release(&late).await;
                let sent = due.len() + handed.len();
                let mut permit = Some(first);
                for delivery in due.into_iter().chain(handed) {
                    let permit = match permit.take() {
                        Some(p) => p,
                        None => match self.permits.clone().acquire_owned().await {
                            Ok(p) => p,
                            Err(_) => return,
                        },
                    };
                    let body = bodies.get(&delivery.event_id).cloned();
                    let endpoint = targets.get(&delivery.endpoint_id).cloned();
                    let me = self.clone();
                    self.sender.spawn(async move {
                        let _permit = permit;
                        me.attempt(delivery, endpoint, body).await;
                    });
                }
                if sent < free {
                    // All that was due is on its way: gather what comes
                    // next into one batch rather than one per delivery.
                    tokio::time::sleep(LEASE_GAP).await;
                }
            }
        }
    }

    /// Releases the leases of handed-over deliveries not sent (see
    /// [`sendable`] and [`Handoff::take`](super::handoff::Handoff::take)).
    async fn release(&self, late: &[webhook_delivery::Model]) {
        if let Err(err) = deliveries::release(&self.db, late).await {
            tracing::warn!(deliveries = late.len(), cause = %err.describe(), "could not release webhook deliveries; they are sent when their leases run out");
        }
    }

    /// Leases up to `limit` due deliveries, and notes when it looked.
    async fn lease(&self, limit: usize, leased_at: &mut Instant) -> Vec<webhook_delivery::Model> {
        *leased_at = Instant::now();
        match deliveries::lease_due(&self.db, limit as u64, self.lease_length()).await {
            Ok(d) => d,
            Err(err) => {
                tracing::warn!(cause = %err.describe(), "could not read due webhook deliveries");
                Vec::new()
            }
        }
    }

    /// The lease of a delivery handed over by the sequencer's round: a
    /// whole lease from the moment the dispatcher takes it, after waiting in
    /// the handoff for up to the attempts' timeout.
    fn handed_lease(&self) -> chrono::Duration {
        self.lease_length() + chrono::Duration::from_std(self.settings.timeout).unwrap_or_default()
    }

    /// The bodies of the deliveries' events (the webhook envelope, built
    /// once per event) and their endpoints, by id. Handed-over deliveries
    /// bring their events; the leased ones' are read.
    async fn batch_context(
        &self,
        due: &[webhook_delivery::Model],
        handed: &[Handed],
    ) -> AppResult<(Body, Targets)> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let mut bodies = Body::new();
        for e in handed.iter().map(|h| &h.event) {
            if let std::collections::hash_map::Entry::Vacant(slot) = bodies.entry(e.id) {
                slot.insert(body(e)?);
            }
        }
        if !due.is_empty() {
            let event_ids: Vec<uuid::Uuid> = due.iter().map(|d| d.event_id).collect();
            for e in event::Entity::find()
                .filter(event::Column::Id.is_in(event_ids))
                .all(&self.db)
                .await?
            {
                bodies.insert(e.id, body(&e)?);
            }
        }
        let endpoint_ids: std::collections::HashSet<uuid::Uuid> = due
            .iter()
            .chain(handed.iter().map(|h| &h.delivery))
            .map(|d| d.endpoint_id)
            .collect();
        let targets = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|e| (e.id, Arc::new(e)))
            .collect();
        Ok((bodies, targets))
    }

    /// One attempt; its outcome goes to the recorder whatever it is.
    async fn attempt(
        &self,
        delivery: webhook_delivery::Model,
        endpoint: Option<Arc<webhook_endpoint::Model>>,
        body: Option<Arc<Vec<u8>>>,
    ) {
        let at = crate::service::now();
        let outcome = match self
            .send(&delivery, endpoint.as_deref(), body.as_deref(), at)
            .await
        {
            Ok(outcome) => outcome,
            // Our own failure (a missing row, a secret that does not
            // decrypt) is recorded like a failed attempt, so it is visible
            // and retried, never silently dropped.
            Err(err) => Outcome {
                succeeded: false,
                response_status: None,
                error: Some(truncate(err.describe(), MAX_ERROR_BYTES)),
            },
        };
        let attempt = Attempt {
            delivery,
            endpoint: endpoint.map(Arc::unwrap_or_clone),
            outcome,
            at,
        };
        // The recorder only ends with the process.
        let _ = self.finished.send(attempt).await;
    }

    /// Records finished attempts, up to [`RECORD_BATCH`] in one transaction:
    /// each attempt still releases its lease, but a burst of deliveries costs
    /// a few writes instead of one each. An attempt lost here (the database
    /// fails, the process dies) keeps its lease until it runs out, and is then
    /// attempted again.
    async fn record(self: Arc<Self>, mut rx: mpsc::Receiver<Attempt>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while rx.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            if batch.len() < RECORD_BATCH {
                // Let the attempts finishing now join this write.
                tokio::time::sleep(LEASE_GAP).await;
                while batch.len() < RECORD_BATCH {
                    match rx.try_recv() {
                        Ok(a) => batch.push(a),
                        Err(_) => break,
                    }
                }
            }
            // A write like any other: on SQLite it takes the writers' turn.
            self.foreground.quiet(YIELD_AT_MOST).await;
            if let Err(err) =
                deliveries::record_attempts(&self.db, &batch, &self.settings.schedule).await
            {
                tracing::warn!(attempts = batch.len(), cause = %err.describe(), "webhook attempts could not be recorded; they are attempted again when their leases run out");
            }
            batch.clear();
        }
    }

    async fn send(
        &self,
        delivery: &webhook_delivery::Model,
        endpoint: Option<&webhook_endpoint::Model>,
        body: Option<&Vec<u8>>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<Outcome> {
        let endpoint = endpoint.ok_or(AppError::NotFound("webhook endpoint"))?;
        let body = body.ok_or(AppError::NotFound("event"))?.clone();
        let url = url::Url::parse(&endpoint.url).map_err(AppError::internal)?;
        if !self.settings.policy.allow_private && address::blocked_literal(&url) {
            return Ok(failure(None, address::BLOCKED.to_string()));
        }
        let id = delivery.event_id.to_string();
        let timestamp = at.timestamp();
        let keys = endpoints::signing_keys(&self.cipher, endpoint, at)?;
        let request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signing::header(&keys, &id, timestamp, &body),
            )
            .body(body);
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(err) => {
                let chain = error_chain(&err);
                let why = if chain.contains(address::BLOCKED) {
                    address::BLOCKED.to_string()
                } else if err.is_timeout() {
                    format!("no answer within {} s", self.settings.timeout.as_secs())
                } else {
                    chain
                };
                return Ok(failure(None, why));
            }
        };
        let status = response.status();
        let mut read = Vec::new();
        // Only the first 64 KiB are read; a receiver that sends more (or
        // keeps sending) cannot fill memory, and the client's timeout covers
        // the whole exchange, body included, so it cannot hold the attempt.
        while read.len() < MAX_RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => read.extend_from_slice(&chunk),
                _ => break,
            }
        }
        if status.is_success() {
            return Ok(Outcome {
                succeeded: true,
                response_status: Some(status.as_u16()),
                error: None,
            });
        }
        let snippet =
            String::from_utf8_lossy(&read[..read.len().min(MAX_ERROR_BYTES)]).into_owned();
        let why = if status.is_redirection() {
            format!("HTTP {status}: redirects are not followed")
        } else {
            format!("HTTP {status}: {snippet}")
        };
        Ok(failure(Some(status.as_u16()), why))
    }
}

/// The handed-over deliveries whose endpoint is still there and enabled;
/// the others join `late`, to be released: a disabled endpoint gets no
/// attempt (its deliveries wait for it to be enabled again, as `lease_due`
/// leaves them).
fn sendable(
    ready: Vec<Handed>,
    targets: &Targets,
    late: &mut Vec<webhook_delivery::Model>,
) -> Vec<webhook_delivery::Model> {
    let mut out = Vec::with_capacity(ready.len());
    for h in ready {
        if targets
            .get(&h.delivery.endpoint_id)
            .is_some_and(|e| e.enabled)
        {
            out.push(h.delivery);
        } else {
            late.push(h.delivery);
        }
    }
    out
}

/// The webhook body of an event.
fn body(e: &event::Model) -> AppResult<Arc<Vec<u8>>> {
    Ok(Arc::new(
        serde_json::to_vec(&envelope(e)).map_err(AppError::internal)?,
    ))
}

fn failure(status: Option<u16>, error: String) -> Outcome {
    Outcome {
        succeeded: false,
        response_status: status,
        error: Some(truncate(error, MAX_ERROR_BYTES)),
    }
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::webhooks::handoff::tests::handed_to;

    fn endpoint(enabled: bool) -> webhook_endpoint::Model {
        let at = crate::service::now();
        webhook_endpoint::Model {
            id: crate::service::new_id(),
            url: "https://hooks.example.com/".into(),
            description: None,
            event_types: "[]".into(),
            enabled,
            disabled_reason: None,
            secret: String::new(),
            previous_secret: None,
            previous_secret_until: None,
            failing_since: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn handed_deliveries_of_disabled_or_deleted_endpoints_are_not_sent_but_released() {
        let (on, off) = (endpoint(true), endpoint(false));
        let deleted = crate::service::new_id();
        let targets: Targets = [&on, &off]
            .into_iter()
            .map(|e| (e.id, Arc::new(e.clone())))
            .collect();
        let until = crate::service::now() + chrono::Duration::seconds(60);
        let ready = [on.id, off.id, deleted, on.id]
            .into_iter()
            .map(|endpoint| handed_to(endpoint, until))
            .collect();
        let mut late = Vec::new();
        let sent = sendable(ready, &targets, &mut late);
        let ends = |rows: &[webhook_delivery::Model]| -> Vec<uuid::Uuid> {
            rows.iter().map(|d| d.endpoint_id).collect()
        };
        assert_eq!(ends(&sent), vec![on.id, on.id]);
        assert_eq!(ends(&late), vec![off.id, deleted]);
    }
}
