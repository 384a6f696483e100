//! The events benchmark (`bench events`): what the outbox, webhook dispatch
//! and live subscriptions cost, each against a baseline measured in the same
//! run:
//!
//! - `approveClaim` at 8 clients with 5 enabled webhook endpoints against the
//!   same load with none (alternating rounds);
//! - webhook dispatch to a local receiver: sustained deliveries per second
//!   from a backlog, and commit → receipt latency at 300 deliveries/s;
//! - 1,000 WebSocket subscribers on one process: how long an event takes to
//!   reach all of them, and the process's peak RSS.
//!
//! It writes its own section of BENCHMARKS.md (between the `events` markers).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::process::Server;

#[derive(clap::Args)]
pub struct EventsArgs {
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    #[arg(
        long,
        default_value = "sqlite:///var/tmp/refund-desk-bench/events.sqlite?mode=rwc"
    )]
    sqlite_url: String,
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/refund_desk_events_bench"
    )]
    postgres_url: String,
    /// Measured rounds of approvals per variant (with and without
    /// endpoints), after one unmeasured round of each.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Claims approved per round and variant.
    #[arg(long, default_value_t = 800)]
    approvals: usize,
    /// WebSocket subscribers.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    #[arg(long, default_value_t = 10)]
    pool: u32,
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: String,
}

const BEGIN: &str = "<!-- events:begin -->";
const END: &str = "<!-- events:end -->";

/// Webhook deliveries as the receiver saw them.
#[derive(Default)]
struct Received {
    /// Whether to read each body's `occurredAt` (for latency); off while
    /// approvals are measured, so the receiver's own CPU (on the same two
    /// cores) stays out of the server's figures.
    timing: std::sync::atomic::AtomicBool,
    count: AtomicUsize,
    /// (when, commit → receipt in ms) per delivery.
    seen: Mutex<Vec<(Instant, f64)>>,
}

impl Received {
    fn reset(&self) {
        self.count.store(0, Ordering::SeqCst);
        self.seen.lock().unwrap().clear();
    }
}

async fn receive(
    body: web::Bytes,
    state: web::Data<Arc<Received>>,
    _req: HttpRequest,
) -> HttpResponse {
    let at = chrono::Utc::now();
    if !state.timing.load(Ordering::Relaxed) {
        state.count.fetch_add(1, Ordering::SeqCst);
        return HttpResponse::NoContent().finish();
    }
    let latency = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["occurredAt"].as_str().map(str::to_string))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| {
            (at - t.with_timezone(&chrono::Utc))
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0
        })
        .unwrap_or(f64::NAN);
    state.count.fetch_add(1, Ordering::SeqCst);
    state.seen.lock().unwrap().push((Instant::now(), latency));
    HttpResponse::NoContent().finish()
}

/// A receiver on 127.0.0.1 that answers 204 at once.
fn start_receiver(state: Arc<Received>) -> Result<String, String> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(1 << 20))
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .map_err(|e| e.to_string())?;
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    Ok(format!("http://127.0.0.1:{port}/hook"))
}

pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
}

impl Api {
    pub(crate) async fn call(&self, token: &str, query: &str, variables: Value) -> Value {
        self.http
            .post(&self.url)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON answer")
    }

    pub(crate) async fn login(&self, email: &str) -> String {
        let body = self
            .call(
                "",
                "mutation($e: String!, $p: String!){ login(email: $e, password: $p) { token } }",
                json!({ "e": email, "p": api::service::demo::DEMO_PASSWORD }),
            )
            .await;
        body["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login {email}: {body}"))
            .to_string()
    }
}

pub(crate) fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

pub(crate) fn median(v: Vec<f64>) -> f64 {
    quantile(v, 0.5)
}

/// A fresh database for the run (the events bench seeds its own data).
pub(crate) async fn fresh(url: &str) -> Result<(), String> {
    use sea_orm::ConnectionTrait;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or_default();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{file}{suffix}"));
        }
    } else if let Some((server, name)) = url.rsplit_once('/') {
        let admin = sea_orm::Database::connect(format!("{server}/postgres"))
            .await
            .map_err(|e| e.to_string())?;
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| e.to_string())?;
    }
    let db = api::service::db::connect(url, 2)
        .await
        .map_err(|e| e.to_string())?;
    use migration::MigratorTrait;
    migration::Migrator::up(db.unbound(), None)
        .await
        .map_err(|e| e.to_string())?;
    api::service::demo::ensure_demo_staff(&db)
        .await
        .map_err(|e| e.describe())?;
    Ok(())
}

const CREATE_ORDER: &str = "mutation($i: CreateOrderInput!){ createOrder(input: $i) { id } }";
const SUBMIT: &str = "mutation($i: SubmitClaimInput!){ submitClaim(input: $i) { id } }";
const APPROVE: &str = "mutation($c: ID!){ approveClaim(input: { claimId: $c }) { id status } }";

fn order_input(number: &str) -> Value {
    json!({ "number": number, "customerEmail": format!("{number}@bench.example"), "customerName": "Bench", "planMonths": 1, "devices": 1,
        "total": { "amount": "20.00", "currency": "EUR" }, "paymentMethod": "CARD", "placedAt": "2026-11-01T00:00:00Z", "paidAt": "2026-11-01T00:00:00Z" })
}

/// `n` submitted claims, made by 8 clients at once; returns their ids.
async fn claims(api: &Arc<Api>, shop: &str, agent: &str, prefix: &str, n: usize) -> Vec<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let out = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (api, next, out) = (api.clone(), next.clone(), out.clone());
            let (shop, agent, prefix) = (shop.to_string(), agent.to_string(), prefix.to_string());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    let number = format!("{prefix}-{i}");
                    let order = api.call(&shop, CREATE_ORDER, json!({ "i": order_input(&number) })).await;
                    let id = order["data"]["createOrder"]["id"].clone();
                    let claim = api
                        .call(&agent, SUBMIT, json!({ "i": { "orderId": id, "reason": "NOT_DELIVERED", "description": "bench", "channel": "EMAIL" } }))
                        .await;
                    if let Some(c) = claim["data"]["submitClaim"]["id"].as_str() {
                        out.lock().unwrap().push(c.to_string());
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    Arc::try_unwrap(out).unwrap().into_inner().unwrap()
}

/// Approves every claim with 8 closed-loop clients; returns the latencies
/// in milliseconds.
async fn approve_all(api: &Arc<Api>, manager: &str, claims: Vec<String>) -> Vec<f64> {
    let queue = Arc::new(Mutex::new(claims));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (api, queue, manager) = (api.clone(), queue.clone(), manager.to_string());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let Some(claim) = queue.lock().unwrap().pop() else {
                        return latencies;
                    };
                    let t = Instant::now();
                    let body = api.call(&manager, APPROVE, json!({ "c": claim })).await;
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    assert!(body["errors"].is_null(), "approve: {body}");
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all
}

/// Waits until no delivery is pending (the dispatcher caught up).
async fn drained(api: &Api, admin: &str) {
    // The pump numbers events (and queues their deliveries) at its next
    // poll: let it run first, or a late batch is queued after the check.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let body = api
            .call(
                admin,
                "{ webhookDeliveries(first: 1, status: [PENDING]) { totalCount } }",
                json!({}),
            )
            .await;
        if body["data"]["webhookDeliveries"]["totalCount"].as_i64() == Some(0)
            || Instant::now() > deadline
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn set_enabled(api: &Api, admin: &str, endpoints: &[String], url: &str, enabled: bool) {
    for id in endpoints {
        let body = api
            .call(admin, "mutation($id: ID!, $i: WebhookEndpointInput!){ updateWebhookEndpoint(id: $id, input: $i) { id } }", json!({ "id": id, "i": { "url": url, "eventTypes": [], "enabled": enabled } }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

/// Everything one round of approvals needs.
struct Approvals<'a> {
    api: &'a Arc<Api>,
    server: &'a Server,
    admin: &'a str,
    manager: &'a str,
    agent: &'a str,
    shop: &'a str,
    endpoints: &'a [String],
    hook: &'a str,
}

impl Approvals<'_> {
    /// `n` claims submitted with the endpoints disabled and their
    /// deliveries drained, then approved by 8 clients with the endpoints
    /// enabled or not. Returns the approvals' latencies (ms) and the
    /// server's CPU seconds for them, delivering included (waited for).
    async fn round(&self, prefix: &str, five: bool, n: usize) -> (Vec<f64>, f64) {
        let (api, admin) = (self.api, self.admin);
        set_enabled(api, admin, self.endpoints, self.hook, false).await;
        let batch = claims(api, self.shop, self.agent, prefix, n).await;
        drained(api, admin).await;
        set_enabled(api, admin, self.endpoints, self.hook, five).await;
        let cpu = self.server.cpu_seconds();
        let latencies = approve_all(api, self.manager, batch).await;
        drained(api, admin).await;
        (latencies, self.server.cpu_seconds() - cpu)
    }
}

struct Figures {
    backend: String,
    approve_p99_without: Vec<f64>,
    approve_p99_with: Vec<f64>,
    /// The p99 of every measured approval of each variant together.
    approve_pooled_p99: (f64, f64),
    dispatch_per_second: f64,
    dispatch_backlog: usize,
    steady_p99_ms: f64,
    steady_rate: f64,
    ws_p99_ms: f64,
    ws_max_ms: f64,
    ws_subscribers: usize,
    ws_rss_mib: f64,
    ws_rss_before_mib: f64,
}

impl Figures {
    /// The verdict: the pooled approveClaim p99 with the endpoints over the
    /// pooled p99 without.
    fn pooled_ratio(&self) -> f64 {
        let (without, with) = self.approve_pooled_p99;
        with / without
    }

    /// Each round's approveClaim p99 with the endpoints over its p99 without.
    fn round_ratios(&self) -> Vec<f64> {
        self.approve_p99_with
            .iter()
            .zip(&self.approve_p99_without)
            .map(|(w, o)| w / o)
            .collect()
    }
}

async fn measure(name: &str, url: &str, args: &EventsArgs) -> Result<Figures, String> {
    fresh(url).await?;
    let received = Arc::new(Received::default());
    let hook = start_receiver(received.clone())?;
    let server = Server::start("serve-api", url, args.pool);
    let api = Arc::new(Api {
        http: reqwest::Client::new(),
        url: format!("{}/graphql", server.base),
    });
    let admin = api.login("admin@demo.refund-desk.test").await;
    let manager = api.login("refund-manager@demo.refund-desk.test").await;
    let agent = api.login("support-agent@demo.refund-desk.test").await;
    let shop = api.login("integration@demo.refund-desk.test").await;
    let mut endpoints = Vec::new();
    for _ in 0..5 {
        let body = api
            .call(&admin, "mutation($u: String!){ createWebhookEndpoint(input: { url: $u, eventTypes: [], enabled: false }) { endpoint { id } } }", json!({ "u": hook }))
            .await;
        endpoints.push(
            body["data"]["createWebhookEndpoint"]["endpoint"]["id"]
                .as_str()
                .ok_or(format!("{body}"))?
                .to_string(),
        );
    }

    // (a) approveClaim with 0 and with 5 endpoints, alternating. A first,
    // unmeasured round of each warms the server up: a fresh process's first
    // approvals are its slowest, and they would fall on the variant without
    // endpoints.
    let approvals = Approvals {
        api: &api,
        server: &server,
        admin: &admin,
        manager: &manager,
        agent: &agent,
        shop: &shop,
        endpoints: &endpoints,
        hook: &hook,
    };
    for five in [false, true] {
        approvals
            .round(&format!("W{five}"), five, (args.approvals / 4).max(100))
            .await;
    }
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let (mut all_without, mut all_with) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        for five in [false, true] {
            let (latencies, cpu_seconds) = approvals
                .round(&format!("A{round}{five}"), five, args.approvals)
                .await;
            let n = latencies.len().max(1) as f64;
            let p50 = quantile(latencies.clone(), 0.5);
            let p99 = quantile(latencies.clone(), 0.99);
            let cpu_ms = cpu_seconds * 1000.0 / n;
            println!("{name}: approveClaim round {round}, {} endpoints: p50 {p50:.2} ms, p99 {p99:.2} ms, server CPU {cpu_ms:.2} ms per approval", if five { 5 } else { 0 });
            if five {
                with.push(p99);
                all_with.extend(latencies);
            } else {
                without.push(p99);
                all_without.extend(latencies);
            }
        }
    }
    set_enabled(&api, &admin, &endpoints, &hook, false).await;

    // (b) Dispatch: one endpoint. First a backlog of deliveries queued
    // directly in the database (for events the approvals wrote), sent with
    // nothing else running: the dispatcher's own rate; then a steady 300
    // deliveries/s made through the API.
    set_enabled(&api, &admin, &endpoints[..1], &hook, true).await;
    drained(&api, &admin).await;
    received.reset();
    received.timing.store(true, Ordering::SeqCst);
    let expected = queue_backlog(url, &endpoints[0], 3000).await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    while received.count.load(Ordering::SeqCst) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = received.seen.lock().unwrap().clone();
    // The middle 80% of the deliveries: neither the dispatcher's first poll
    // nor the tail counts.
    let (a, b) = (seen.len() / 10, seen.len() * 9 / 10);
    let dispatch_per_second = if b > a + 1 {
        (b - a) as f64 / (seen[b - 1].0 - seen[a].0).as_secs_f64()
    } else {
        f64::NAN
    };
    println!("{name}: dispatch of a {expected}-delivery backlog: {dispatch_per_second:.0}/s");
    drained(&api, &admin).await;
    received.reset();
    let rate = 150.0; // orders/s, two events each
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(10) {
        let due = (started.elapsed().as_secs_f64() * rate) as usize;
        while sent < due {
            let (api, shop) = (api.clone(), shop.clone());
            let n = sent;
            tokio::spawn(async move {
                api.call(
                    &shop,
                    CREATE_ORDER,
                    json!({ "i": order_input(&format!("S-{n}")) }),
                )
                .await;
            });
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.count.load(Ordering::SeqCst) < sent * 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let steady: Vec<f64> = received
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, l)| *l)
        .collect();
    let steady_rate = steady.len() as f64 / 10.0;
    let steady_p99_ms = quantile(steady, 0.99);
    println!(
        "{name}: {steady_rate:.0} deliveries/s steady, commit → receipt p99 {steady_p99_ms:.0} ms"
    );
    set_enabled(&api, &admin, &endpoints[..1], &hook, false).await;

    // (c) WebSocket subscribers.
    let ws_rss_before_mib = server.peak_rss_mib();
    let (ws_p99_ms, ws_max_ms, ws_subscribers) =
        subscribers(&server.base, &admin, &api, &shop, args.subscribers).await;
    let ws_rss_mib = server.peak_rss_mib();
    println!("{name}: {ws_subscribers} subscribers: p99 {ws_p99_ms:.0} ms, max {ws_max_ms:.0} ms, peak RSS {ws_rss_mib:.1} MiB");
    Ok(Figures {
        backend: name.to_string(),
        approve_p99_without: without,
        approve_p99_with: with,
        approve_pooled_p99: (quantile(all_without, 0.99), quantile(all_with, 0.99)),
        dispatch_per_second,
        dispatch_backlog: expected,
        steady_p99_ms,
        steady_rate,
        ws_p99_ms,
        ws_max_ms,
        ws_subscribers,
        ws_rss_mib,
        ws_rss_before_mib,
    })
}

/// Queues `n` pending deliveries to `endpoint` for the newest events, as the
/// sequencer would; returns how many.
async fn queue_backlog(url: &str, endpoint: &str, n: u64) -> Result<usize, String> {
    use sea_orm::{
        ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    };
    let db = api::service::db::connect(url, 2)
        .await
        .map_err(|e| e.to_string())?;
    let endpoint: uuid::Uuid = endpoint.parse().map_err(|_| "endpoint id".to_string())?;
    let sent_before = sea_orm::sea_query::Query::select()
        .column(entity::webhook_delivery::Column::EventId)
        .from(entity::webhook_delivery::Entity)
        .and_where(entity::webhook_delivery::Column::EndpointId.eq(endpoint))
        .to_owned();
    let events: Vec<uuid::Uuid> = entity::event::Entity::find()
        .select_only()
        .column(entity::event::Column::Id)
        .filter(entity::event::Column::Id.not_in_subquery(sent_before))
        .order_by_desc(entity::event::Column::Id)
        .limit(n)
        .into_tuple()
        .all(&db)
        .await
        .map_err(|e| e.to_string())?;
    let at = chrono::Utc::now();
    let rows: Vec<entity::webhook_delivery::ActiveModel> = events
        .iter()
        .map(|e| entity::webhook_delivery::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            endpoint_id: Set(endpoint),
            event_id: Set(*e),
            status: Set("PENDING".into()),
            attempts: Set(0),
            next_attempt_at: Set(Some(at)),
            last_attempt_at: Set(None),
            response_status: Set(None),
            last_error: Set(None),
            succeeded_at: Set(None),
            lease_until: Set(None),
            leased_by: Set(None),
            created_at: Set(at),
        })
        .collect();
    for chunk in rows.chunks(200) {
        entity::webhook_delivery::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&db)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(events.len())
}

/// Opens `n` sockets subscribed to ORDER_CREATED, then makes 20 orders a
/// quarter second apart; returns the p99 and max of commit → receipt over
/// every (event, socket), and how many sockets subscribed.
async fn subscribers(
    base: &str,
    admin: &str,
    api: &Arc<Api>,
    shop: &str,
    n: usize,
) -> (f64, f64, usize) {
    let url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let ready = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut sockets = Vec::new();
    for _ in 0..n {
        let (url, admin, latencies, ready, stop) = (
            url.clone(),
            admin.to_string(),
            latencies.clone(),
            ready.clone(),
            stop.clone(),
        );
        sockets.push(tokio::spawn(async move {
            let mut request = url.into_client_request().expect("ws url");
            request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
            let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await else { return };
            let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {admin}") } });
            let _ = ws.send(Message::Text(init.to_string().into())).await;
            let _ = ws.next().await; // connection_ack
            let sub = json!({ "type": "subscribe", "id": "1", "payload": { "query": "subscription { events(types: [ORDER_CREATED]) { occurredAt } }" } });
            let _ = ws.send(Message::Text(sub.to_string().into())).await;
            ready.fetch_add(1, Ordering::SeqCst);
            loop {
                tokio::select! {
                    _ = stop.notified() => return,
                    frame = ws.next() => match frame {
                        Some(Ok(Message::Text(text))) => {
                            let at = chrono::Utc::now();
                            let v: Value = serde_json::from_str(&text).unwrap_or_default();
                            if let Some(t) = v["payload"]["data"]["events"]["occurredAt"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
                                let ms = (at - t.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                                latencies.lock().unwrap().push(ms);
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while ready.load(Ordering::SeqCst) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let subscribed = ready.load(Ordering::SeqCst);
    for i in 0..20 {
        api.call(
            shop,
            CREATE_ORDER,
            json!({ "i": order_input(&format!("W-{i}")) }),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.notify_waiters();
    for s in sockets {
        let _ = s.await;
    }
    let all = latencies.lock().unwrap().clone();
    let max = all.iter().copied().fold(0.0, f64::max);
    println!("  {} receipts of {} expected", all.len(), subscribed * 20);
    (quantile(all, 0.99), max, subscribed)
}

pub async fn run(args: EventsArgs) -> Result<(), String> {
    let mut figures = Vec::new();
    for backend in &args.backends {
        let url = crate::backend_url(backend, &args.sqlite_url, &args.postgres_url)?;
        figures.push(measure(backend, &url, &args).await?);
    }
    let section = markdown(&args, &figures);
    println!("{section}");
    crate::write_section(&args.out, BEGIN, END, &section)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

fn markdown(args: &EventsArgs, figures: &[Figures]) -> String {
    use std::fmt::Write as _;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "{BEGIN}\n## Events: outbox, webhooks, live subscriptions\n"
    );
    let _ = writeln!(md, "Measured {} with `cargo run --release -p bench -- events --rounds {} --approvals {} --subscribers {}` on a fresh database per backend; the server runs as its own process with a pool of {}, the webhook receiver (answering 204 at once) and the clients in the bench process.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"), args.rounds, args.approvals, args.subscribers, args.pool);
    let _ = writeln!(md, "approveClaim: after one unmeasured round of each variant, {} rounds of {} approvals alternate without and with the endpoints; the p99s are over all rounds of a variant together (their ratio is the verdict), and the median of the rounds' own ratios is shown beside it.\n", args.rounds, args.approvals);
    let _ = writeln!(md, "| backend | approveClaim p99, 0 endpoints | with 5 endpoints | ratio (median of rounds) | dispatch of a backlog | steady rate | commit → receipt p99 | {} subscribers: p99 | max | peak RSS |", args.subscribers);
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for f in figures {
        let (without, with) = f.approve_pooled_p99;
        let _ = writeln!(md, "| {} | {:.1} ms | {:.1} ms | **{:.2}×** ({:.2}×) | **{:.0}/s** ({} deliveries) | {:.0}/s | **{:.0} ms** | **{:.0} ms** ({} sockets) | {:.0} ms | **{:.1} MiB** (before the sockets {:.1}) |",
            f.backend, without, with, f.pooled_ratio(), median(f.round_ratios()),
            f.dispatch_per_second, f.dispatch_backlog, f.steady_rate, f.steady_p99_ms, f.ws_p99_ms, f.ws_subscribers, f.ws_max_ms, f.ws_rss_mib, f.ws_rss_before_mib);
    }
    let _ = writeln!(md);
    for f in figures {
        let ratios = f.round_ratios();
        let ratio = f.pooled_ratio();
        let _ = writeln!(md, "{}: approveClaim p99 with 5 endpoints ≤ 1.2× without: {ratio:.2}× (rounds {}) — {}; dispatch ≥ 300/s: {:.0}/s — {}; commit → receipt p99 ≤ 1 s: {:.0} ms — {}; 1,000 subscribers p99 ≤ 1 s: {:.0} ms — {}; RSS < 120 MB: {:.1} MB — {}.\n",
            f.backend,
            ratios.iter().map(|r| format!("{r:.2}×")).collect::<Vec<_>>().join(", "), verdict(ratio <= 1.2),
            f.dispatch_per_second, verdict(f.dispatch_per_second >= 300.0),
            f.steady_p99_ms, verdict(f.steady_p99_ms <= 1000.0),
            f.ws_p99_ms, verdict(f.ws_p99_ms <= 1000.0 && f.ws_subscribers >= 1000),
            f.ws_rss_mib * 1.048_576, verdict(f.ws_rss_mib * 1.048_576 < 120.0));
    }
    let _ = write!(md, "{END}");
    md
}
