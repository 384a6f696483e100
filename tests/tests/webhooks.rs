//! Outbound webhooks (DESIGN.md, "Outbound webhooks (Standard Webhooks)"),
//! seen from the receiving end: signed POSTs in the Standard Webhooks format
//! (checked with the independent `standardwebhooks` crate, never with our
//! own signing code), retries on the schedule, redirects, timeouts, huge
//! answers and cut connections, secret rotation, automatic disabling, SSRF
//! refusals at creation and at each attempt, and exactly-once sending by two
//! servers sharing a database.
//!
//! The harness's settings retry after 1, 1 and 2 s and time out after 5 s;
//! tests that need otherwise say so. Waits poll (see `eventually`) instead
//! of sleeping a fixed time.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use api::config::Settings;
use api::domain::Role;
use api::service::webhooks::signing;
use base64::Engine;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use standardwebhooks::Webhook;
use tests::receiver::{Received, Receiver, Reply};
use tests::{
    assert_error, fresh_database, on_every_backend, order_input, settings_for, Backend, Staff,
    TestApp,
};

// ---------------------------------------------------------------------------
// GraphQL operations
// ---------------------------------------------------------------------------

const CREATE: &str = "mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret endpoint { id url eventTypes enabled disabledReason } } }";
const ROTATE: &str =
    "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id enabled } } }";
const REDELIVER: &str =
    "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id status attempts } }";
const ENDPOINTS: &str = "{ webhookEndpoints { id url eventTypes enabled disabledReason } }";
const DELIVERIES: &str = "query($e: ID) { webhookDeliveries(first: 100, endpointId: $e) { nodes { id status attempts responseStatus lastError lastAttemptAt nextAttemptAt succeededAt event { id type } } } }";
const EVENTS: &str = "{ events(first: 100) { nodes { id sequence type occurredAt subjectType subjectId source actor { id } data } } }";

/// The fields of every webhook body, and nothing else.
const BODY_FIELDS: [&str; 9] = [
    "actorId",
    "data",
    "id",
    "occurredAt",
    "sequence",
    "source",
    "subjectId",
    "subjectType",
    "type",
];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// How long any wait goes on before the test fails.
const WAIT: Duration = Duration::from_secs(10);

/// [`tests::eventually`] for up to [`WAIT`].
async fn eventually<T>(what: &str, check: impl AsyncFnMut() -> Result<T, String>) -> T {
    tests::eventually(what, WAIT, check).await
}

/// A server on a fresh SQLite database with changed settings.
async fn spawn_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = settings_for(fresh_database(Backend::Sqlite).await);
    change(&mut settings);
    TestApp::spawn_with(Backend::Sqlite, settings).await
}

/// A server whose failed attempts are final (no retries), for the tests of
/// what counts as a failure.
async fn spawn_without_retries(change: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_with(|s| {
        s.webhooks.schedule = Vec::new();
        change(s);
    })
    .await
}

struct Cast {
    admin: Staff,
    /// Creates orders (the storefront's role).
    shop: Staff,
}

async fn cast(app: &TestApp) -> Cast {
    Cast {
        admin: app.staff(&[Role::Admin]).await,
        shop: app.staff(&[Role::Integration]).await,
    }
}

/// An endpoint as created: its id and its secret (shown this once).
struct Endpoint {
    id: String,
    secret: String,
}

/// Creates an endpoint; `types` empty means every event type.
async fn endpoint(app: &TestApp, admin: &Staff, url: &str, types: &[&str]) -> Endpoint {
    let body = create_endpoint(
        app,
        &admin.token,
        json!({ "url": url, "eventTypes": types }),
    )
    .await;
    let created = &body["data"]["createWebhookEndpoint"];
    assert!(created.is_object(), "createWebhookEndpoint: {body}");
    Endpoint {
        id: created["endpoint"]["id"].as_str().unwrap().to_string(),
        secret: created["secret"].as_str().unwrap().to_string(),
    }
}

/// `createWebhookEndpoint`; returns the whole response body.
async fn create_endpoint(app: &TestApp, token: &str, input: Value) -> Value {
    app.graphql(CREATE, json!({ "i": input }), Some(token))
        .await
}

/// The endpoint as `webhookEndpoints` shows it.
async fn endpoint_view(app: &TestApp, admin: &Staff, id: &str) -> Value {
    let body = app.graphql(ENDPOINTS, json!({}), Some(&admin.token)).await;
    let all = body["data"]["webhookEndpoints"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    all.iter()
        .find(|e| e["id"] == id)
        .expect("the endpoint is listed")
        .clone()
}

/// The deliveries of one endpoint, newest first.
async fn deliveries(app: &TestApp, admin: &Staff, endpoint: &Endpoint) -> Vec<Value> {
    let body = app
        .graphql(DELIVERIES, json!({ "e": endpoint.id }), Some(&admin.token))
        .await;
    match body["data"]["webhookDeliveries"]["nodes"].as_array() {
        Some(nodes) => nodes.clone(),
        None => panic!("webhookDeliveries: {body}"),
    }
}

/// Waits until the endpoint has exactly `n` deliveries and none is still
/// PENDING; returns them, newest first.
async fn finished(app: &TestApp, admin: &Staff, endpoint: &Endpoint, n: usize) -> Vec<Value> {
    eventually(&format!("{n} finished deliveries"), async || {
        let all = deliveries(app, admin, endpoint).await;
        let done = all.len() == n && all.iter().all(|d| d["status"] != "PENDING");
        if done {
            Ok(all)
        } else {
            Err(Value::Array(all).to_string())
        }
    })
    .await
}

/// Waits until the receiver got at least `n` requests at `path`.
async fn requests(receiver: &Receiver, path: &str, n: usize) -> Vec<Received> {
    eventually(&format!("{n} requests at {path}"), async || {
        let got = receiver.received_at(path);
        if got.len() >= n {
            Ok(got)
        } else {
            Err(format!("{} requests", got.len()))
        }
    })
    .await
}

/// A paid order: events ORDER_CREATED and ORDER_PAID. Returns the order.
async fn paid_order(app: &TestApp, shop: &Staff, number: &str) -> Value {
    app.create_order(&shop.token, order_input(number, "buyer@example.com"))
        .await
}

/// An unpaid order: a single event, ORDER_CREATED.
async fn unpaid_order(app: &TestApp, shop: &Staff, number: &str) -> Value {
    let mut input = order_input(number, "buyer@example.com");
    input["paidAt"] = Value::Null;
    app.create_order(&shop.token, input).await
}

/// Checks a request's signature with the independent verifier (which also
/// holds the timestamp to ±5 minutes of now).
fn verify(secret: &str, request: &Received) -> Result<(), standardwebhooks::WebhookError> {
    Webhook::new(secret)
        .expect("a whsec_ secret of padded base64")
        .verify(&request.body, &request.headers)
}

/// The request with its `webhook-signature` replaced.
fn with_signature(request: &Received, signature: &str) -> Received {
    let mut copy = request.clone();
    copy.headers
        .insert("webhook-signature", signature.parse().unwrap());
    copy
}

fn webhook_id(request: &Received) -> &str {
    request.header("webhook-id").expect("a webhook-id header")
}

/// The gaps between consecutive requests.
fn gaps(requests: &[Received]) -> Vec<Duration> {
    requests.windows(2).map(|w| w[1].at - w[0].at).collect()
}

/// A server on a tokio runtime of its own. Stopping a `TestApp`'s HTTP
/// server leaves its event pump and webhook dispatcher running on the
/// test's runtime; shutting this runtime down stops them too, as the end of
/// a real process would.
async fn spawn_on_own_runtime(settings: Settings) -> (TestApp, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let app = runtime
        .spawn(TestApp::spawn_with(Backend::Sqlite, settings))
        .await
        .expect("the server starts");
    (app, runtime)
}

// ---------------------------------------------------------------------------
// Endpoints and their secrets
// ---------------------------------------------------------------------------

#[tokio::test]
async fn only_admins_manage_endpoints() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let finance = app.staff(&[Role::Finance]).await;
    let receiver = Receiver::start().await;

    let body = create_endpoint(
        &app,
        &finance.token,
        json!({ "url": receiver.url("/"), "eventTypes": [] }),
    )
    .await;
    assert_error(&body, "FORBIDDEN");
    let body = app
        .graphql(ENDPOINTS, json!({}), Some(&finance.token))
        .await;
    assert_error(&body, "FORBIDDEN");
    assert_eq!(app.count("webhook_endpoints").await, 0);

    // Rotating the secret is the admin's too.
    let admin = app.staff(&[Role::Admin]).await;
    let ep = endpoint(&app, &admin, &receiver.url("/"), &[]).await;
    let body = app
        .graphql(ROTATE, json!({ "id": ep.id }), Some(&finance.token))
        .await;
    assert_error(&body, "FORBIDDEN");
}

#[tokio::test]
async fn the_secret_is_shown_when_created_and_never_again() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let receiver = Receiver::start().await;

    let ep = endpoint(&app, &admin, &receiver.url("/a"), &[]).await;
    let key = ep.secret.strip_prefix("whsec_").expect("the whsec_ prefix");
    let key = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("padded base64");
    assert_eq!(key.len(), 32, "32 random bytes");
    let other = endpoint(&app, &admin, &receiver.url("/b"), &[]).await;
    assert_ne!(other.secret, ep.secret, "each endpoint has its own secret");

    // The listing has no field for it and does not hold it anywhere.
    let body = app
        .graphql(
            "{ __type(name: \"WebhookEndpoint\") { fields { name } } }",
            json!({}),
            Some(&admin.token),
        )
        .await;
    let fields = body["data"]["__type"]["fields"].to_string();
    assert!(!fields.to_lowercase().contains("secret"), "{fields}");
    let listing = app
        .graphql(ENDPOINTS, json!({}), Some(&admin.token))
        .await
        .to_string();
    assert!(
        !listing.contains(&ep.secret) && !listing.contains(&other.secret),
        "{listing}"
    );

    // Stored encrypted, not as given.
    let stored = entity::webhook_endpoint::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    for row in stored {
        for secret in [&ep.secret, &other.secret] {
            assert!(
                !row.secret.contains(secret.trim_start_matches("whsec_")),
                "stored in clear"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// What a receiver gets
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_change_is_posted_signed_in_the_standard_webhooks_format() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let receiver = Receiver::start().await;
        let ep = endpoint(&app, &c.admin, &receiver.url("/hooks/in"), &[]).await;

        let order = paid_order(&app, &c.shop, "SO-WH-1").await;
        let got = requests(&receiver, "/hooks/in", 2).await;
        let feed = app.graphql(EVENTS, json!({}), Some(&c.admin.token)).await;
        let feed = feed["data"]["events"]["nodes"].as_array().unwrap().clone();

        let mut types = BTreeSet::new();
        for request in &got {
            assert_eq!(request.method, "POST");
            assert_eq!(request.header("content-type"), Some("application/json"));
            verify(&ep.secret, request)
                .unwrap_or_else(|e| panic!("{:?}: signature: {e}", app.backend));
            let signature = request.header("webhook-signature").unwrap();
            assert!(
                signature.starts_with("v1,") && !signature.contains(' '),
                "one signature: {signature}"
            );
            let timestamp: i64 = request
                .header("webhook-timestamp")
                .unwrap()
                .parse()
                .expect("unix seconds");
            assert!(
                (chrono::Utc::now().timestamp() - timestamp).abs() <= 30,
                "the attempt's time: {timestamp}"
            );

            // The body is the event as the feed shows it, under the
            // envelope's names, and webhook-id is its id.
            let body = request.json();
            let fields: BTreeSet<&str> = body
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(fields, BTreeSet::from(BODY_FIELDS), "{body}");
            assert_eq!(body["id"], webhook_id(request));
            let event = feed
                .iter()
                .find(|e| e["id"] == body["id"])
                .unwrap_or_else(|| panic!("{body} is no event of the feed"));
            for field in [
                "sequence",
                "type",
                "occurredAt",
                "subjectType",
                "subjectId",
                "source",
                "data",
            ] {
                assert_eq!(body[field], event[field], "{:?}: {field}", app.backend);
            }
            assert_eq!(body["actorId"], event["actor"]["id"]);
            assert_eq!(body["actorId"], c.shop.id.as_str());
            assert_eq!(body["subjectType"], "order");
            assert_eq!(body["subjectId"], order["id"]);
            assert_eq!(body["source"], "staff");
            types.insert(body["type"].as_str().unwrap().to_string());
        }
        assert_eq!(
            types,
            BTreeSet::from(["ORDER_CREATED".to_string(), "ORDER_PAID".to_string()])
        );

        // The verifier really checks: another body, or another secret, fails.
        let request = &got[0];
        let mut tampered = request.clone();
        tampered.body = br#"{"id":"forged"}"#.to_vec();
        assert!(verify(&ep.secret, &tampered).is_err());
        assert!(verify(&signing::new_secret(), request).is_err());

        for d in finished(&app, &c.admin, &ep, 2).await {
            assert_eq!(d["status"], "SUCCEEDED", "{d}");
            assert_eq!(d["attempts"], 1, "{d}");
            assert_eq!(d["responseStatus"], 200, "{d}");
            assert!(
                d["succeededAt"].is_string()
                    && d["lastError"].is_null()
                    && d["nextAttemptAt"].is_null(),
                "{d}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn endpoints_get_only_the_event_types_they_ask_for_and_disabled_ones_none() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let receiver = Receiver::start().await;
        let all = endpoint(&app, &c.admin, &receiver.url("/all"), &[]).await;
        let paid_only = endpoint(&app, &c.admin, &receiver.url("/paid"), &["ORDER_PAID"]).await;
        let body = create_endpoint(
            &app,
            &c.admin.token,
            json!({ "url": receiver.url("/off"), "eventTypes": [], "enabled": false }),
        )
        .await;
        let off = Endpoint {
            id: body["data"]["createWebhookEndpoint"]["endpoint"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_string(),
            secret: String::new(),
        };

        // ORDER_CREATED and ORDER_PAID, then ORDER_CREATED.
        paid_order(&app, &c.shop, "SO-WH-F1").await;
        unpaid_order(&app, &c.shop, "SO-WH-F2").await;
        // An event's deliveries are queued together, in one transaction:
        // once "every type" has all three, the others have all theirs.
        finished(&app, &c.admin, &all, 3).await;
        requests(&receiver, "/all", 3).await;

        let paid = finished(&app, &c.admin, &paid_only, 1).await;
        assert_eq!(paid[0]["event"]["type"], "ORDER_PAID", "{:?}", app.backend);
        let got = requests(&receiver, "/paid", 1).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].json()["type"], "ORDER_PAID");

        assert!(
            deliveries(&app, &c.admin, &off).await.is_empty(),
            "a disabled endpoint gets no delivery"
        );
        assert!(receiver.received_at("/off").is_empty());
    })
    .await;
}

// ---------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_answers_2xx() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let receiver =
            Receiver::scripted([Reply::status(500), Reply::status(500)], Reply::ok()).await;
        let ep = endpoint(&app, &c.admin, &receiver.url("/r"), &["ORDER_CREATED"]).await;

        unpaid_order(&app, &c.shop, "SO-WH-R1").await;
        let d = &finished(&app, &c.admin, &ep, 1).await[0];
        assert_eq!(d["status"], "SUCCEEDED", "{:?}: {d}", app.backend);
        assert_eq!(d["attempts"], 3, "{d}");
        assert_eq!(d["responseStatus"], 200, "{d}");
        assert!(
            d["succeededAt"].is_string() && d["nextAttemptAt"].is_null(),
            "{d}"
        );
        assert!(d["lastError"].is_null(), "a success clears the error: {d}");

        // Every attempt carries the same webhook-id, is signed at its own
        // time, and waits its turn on the schedule (1 s, then 1 s).
        let got = receiver.received();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|r| webhook_id(r) == webhook_id(&got[0])));
        assert!(got.iter().all(|r| verify(&ep.secret, r).is_ok()));
        for gap in gaps(&got) {
            assert!(
                gap >= Duration::from_millis(900),
                "retried too early: {gap:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_receiver_that_always_fails_ends_failed_after_the_schedule() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = cast(&app).await;
    // A long answer of two-byte characters: lastError keeps at most 1 KiB
    // and must not cut a character in half.
    let receiver = Receiver::scripted([], Reply::Status(500, "é".repeat(3000))).await;
    let ep = endpoint(&app, &c.admin, &receiver.url("/down"), &["ORDER_CREATED"]).await;

    unpaid_order(&app, &c.shop, "SO-WH-R2").await;
    let d = &finished(&app, &c.admin, &ep, 1).await[0];
    assert_eq!(d["status"], "FAILED", "{d}");
    assert_eq!(d["attempts"], 4, "the first attempt and 3 retries: {d}");
    assert_eq!(d["responseStatus"], 500, "{d}");
    assert!(
        d["nextAttemptAt"].is_null() && d["succeededAt"].is_null(),
        "{d}"
    );
    let error = d["lastError"].as_str().expect("a lastError");
    assert!(error.starts_with("HTTP 500"), "{error}");
    assert!(error.len() <= 1024, "{} bytes", error.len());
    assert!(error.contains("éé"), "the answer's start is kept: {error}");

    // The waits were 1 s, 1 s and 2 s.
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    let waits = gaps(&got);
    for (gap, want) in waits.iter().zip([1, 1, 2]) {
        let want = Duration::from_secs(want);
        assert!(*gap >= want - Duration::from_millis(100), "{waits:?}");
    }
}

#[tokio::test]
async fn redelivering_a_failed_delivery_sends_it_again() {
    let app = spawn_without_retries(|_| {}).await;
    let c = cast(&app).await;
    let receiver = Receiver::scripted([], Reply::status(503)).await;
    let ep = endpoint(&app, &c.admin, &receiver.url("/later"), &["ORDER_CREATED"]).await;

    unpaid_order(&app, &c.shop, "SO-WH-R3").await;
    let failed = finished(&app, &c.admin, &ep, 1).await[0].clone();
    assert_eq!(failed["status"], "FAILED", "{failed}");

    // The receiver is fixed; the admin sends the delivery again.
    receiver.set_script([], Reply::ok());
    let finance = app.staff(&[Role::Finance]).await;
    let body = app
        .graphql(
            REDELIVER,
            json!({ "id": failed["id"] }),
            Some(&finance.token),
        )
        .await;
    assert_error(&body, "FORBIDDEN");
    let body = app
        .graphql(
            REDELIVER,
            json!({ "id": failed["id"] }),
            Some(&c.admin.token),
        )
        .await;
    assert_eq!(
        body["data"]["redeliverWebhook"]["status"], "PENDING",
        "{body}"
    );

    let d = eventually("the redelivery to succeed", async || {
        let d = deliveries(&app, &c.admin, &ep).await.remove(0);
        if d["status"] == "SUCCEEDED" {
            Ok(d)
        } else {
            Err(d.to_string())
        }
    })
    .await;
    assert_eq!(d["attempts"], 2, "{d}");
    assert_eq!(d["id"], failed["id"], "the same delivery, not a new one");
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(webhook_id(&got[1]), webhook_id(&got[0]));
    verify(&ep.secret, &got[1]).expect("signed anew");
}

// ---------------------------------------------------------------------------
// What counts as a failure
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let app = spawn_without_retries(|_| {}).await;
    let c = cast(&app).await;
    let receiver = Receiver::start().await;
    receiver.set_script([Reply::Redirect(receiver.url("/moved"))], Reply::ok());
    let ep = endpoint(&app, &c.admin, &receiver.url("/hook"), &["ORDER_CREATED"]).await;

    unpaid_order(&app, &c.shop, "SO-WH-X1").await;
    let d = &finished(&app, &c.admin, &ep, 1).await[0];
    assert_eq!(d["status"], "FAILED", "{d}");
    assert_eq!(d["responseStatus"], 302, "{d}");
    assert!(
        d["lastError"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed"),
        "{d}"
    );
    assert!(
        receiver.received_at("/moved").is_empty(),
        "the Location was requested"
    );
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_fails_with_a_timeout() {
    let app = spawn_without_retries(|s| s.webhooks.timeout = Duration::from_secs(1)).await;
    let c = cast(&app).await;
    let receiver = Receiver::scripted([], Reply::Hang(Duration::from_secs(4))).await;
    let ep = endpoint(&app, &c.admin, &receiver.url("/slow"), &["ORDER_CREATED"]).await;

    unpaid_order(&app, &c.shop, "SO-WH-X2").await;
    let d = &finished(&app, &c.admin, &ep, 1).await[0];
    let given_up = Instant::now();
    assert_eq!(d["status"], "FAILED", "{d}");
    assert!(d["responseStatus"].is_null(), "{d}");
    assert_eq!(d["lastError"], "no answer within 1 s", "{d}");
    // Given up on before the receiver would have answered.
    let asked = receiver.received()[0].at;
    assert!(
        given_up - asked < Duration::from_secs(3),
        "{:?}",
        given_up - asked
    );
}

#[tokio::test]
async fn a_huge_answer_is_read_only_to_64_kib() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = cast(&app).await;
    let huge = 50 * 1024 * 1024;
    let receiver = Receiver::scripted([], Reply::Huge(huge)).await;
    let ep = endpoint(&app, &c.admin, &receiver.url("/big"), &["ORDER_CREATED"]).await;

    unpaid_order(&app, &c.shop, "SO-WH-X3").await;
    let d = &finished(&app, &c.admin, &ep, 1).await[0];
    let done = Instant::now();
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["attempts"], 1, "{d}");
    // The sender stopped reading early (what the receiver managed to write
    // is what the sockets' buffers took), and did not wait for its 5 s
    // timeout to stop.
    assert!(
        receiver.streamed_bytes() < huge,
        "all {huge} bytes were read"
    );
    let asked = receiver.received()[0].at;
    assert!(done - asked < Duration::from_secs(3), "{:?}", done - asked);
}

#[tokio::test]
async fn an_endless_answer_does_not_hold_the_attempt() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = cast(&app).await;
    let receiver = Receiver::scripted([], Reply::Endless).await;
    let ep = endpoint(&app, &c.admin, &receiver.url("/stream"), &["ORDER_CREATED"]).await;

    unpaid_order(&app, &c.shop, "SO-WH-X4").await;
    let d = &finished(&app, &c.admin, &ep, 1).await[0];
    let done = Instant::now();
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let asked = receiver.received()[0].at;
    assert!(
        done - asked < Duration::from_secs(3),
        "held for {:?}",
        done - asked
    );
}

#[tokio::test]
async fn a_closed_connection_is_a_failure() {
    let app = spawn_without_retries(|_| {}).await;
    let c = cast(&app).await;
    let receiver = Receiver::scripted([], Reply::Close).await;
    let ep = endpoint(&app, &c.admin, &receiver.url("/gone"), &["ORDER_CREATED"]).await;

    unpaid_order(&app, &c.shop, "SO-WH-X5").await;
    let d = &finished(&app, &c.admin, &ep, 1).await[0];
    assert_eq!(d["status"], "FAILED", "{d}");
    assert!(d["responseStatus"].is_null(), "{d}");
    let error = d["lastError"].as_str().expect("a lastError");
    assert!(!error.is_empty() && error.len() <= 1024, "{error}");
    assert_eq!(receiver.received().len(), 1, "the request did arrive");
}

// ---------------------------------------------------------------------------
// Secret rotation and automatic disabling
// ---------------------------------------------------------------------------

#[tokio::test]
async fn after_a_rotation_the_new_and_the_old_secret_both_sign() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let receiver = Receiver::start().await;
        let ep = endpoint(&app, &c.admin, &receiver.url("/rot"), &["ORDER_CREATED"]).await;
        let old = ep.secret.clone();

        let body = app
            .graphql(ROTATE, json!({ "id": ep.id }), Some(&c.admin.token))
            .await;
        let rotated = &body["data"]["rotateWebhookSecret"];
        let new = rotated["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        assert!(new.starts_with("whsec_") && new != old, "{body}");
        assert_eq!(rotated["endpoint"]["id"], ep.id.as_str());

        unpaid_order(&app, &c.shop, "SO-WH-S1").await;
        let request = &requests(&receiver, "/rot", 1).await[0];
        let header = request.header("webhook-signature").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2, "two signatures: {header}");
        assert!(parts.iter().all(|p| p.starts_with("v1,")), "{header}");

        // A consumer holding either secret accepts the request...
        verify(&new, request).unwrap_or_else(|e| panic!("{:?}: new secret: {e}", app.backend));
        verify(&old, request).unwrap_or_else(|e| panic!("{:?}: old secret: {e}", app.backend));
        // ...and each signature is its own secret's, the new one first.
        let (first, second) = (
            with_signature(request, parts[0]),
            with_signature(request, parts[1]),
        );
        assert!(verify(&new, &first).is_ok() && verify(&old, &second).is_ok());
        assert!(verify(&old, &first).is_err() && verify(&new, &second).is_err());
    })
    .await;
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let receiver = Receiver::start().await;
        receiver.set_script([], Reply::status(500));
        let failing = endpoint(&app, &c.admin, &receiver.url("/failing"), &[]).await;

        // Its deliveries have failed without a success for six days.
        let id = uuid::Uuid::parse_str(&failing.id).unwrap();
        let six_days_ago = chrono::Utc::now() - chrono::Duration::days(6);
        entity::webhook_endpoint::Entity::update_many()
            .col_expr(
                entity::webhook_endpoint::Column::FailingSince,
                Expr::value(six_days_ago),
            )
            .filter(entity::webhook_endpoint::Column::Id.eq(id))
            .exec(&app.db)
            .await
            .expect("failing_since set");

        unpaid_order(&app, &c.shop, "SO-WH-D1").await;
        let view = eventually("the endpoint to be disabled", async || {
            let view = endpoint_view(&app, &c.admin, &failing.id).await;
            if view["enabled"] == false {
                Ok(view)
            } else {
                Err(view.to_string())
            }
        })
        .await;
        let reason = view["disabledReason"]
            .as_str()
            .unwrap_or_else(|| panic!("{:?}: no reason: {view}", app.backend));
        assert!(!reason.is_empty());
        assert_eq!(receiver.received_at("/failing").len(), 1);

        // Disabled, it gets no new delivery. (A healthy endpoint created
        // now tells when the next event's deliveries have been queued.)
        receiver.set_script([], Reply::ok());
        let healthy = endpoint(&app, &c.admin, &receiver.url("/healthy"), &[]).await;
        unpaid_order(&app, &c.shop, "SO-WH-D2").await;
        finished(&app, &c.admin, &healthy, 1).await;
        assert_eq!(
            deliveries(&app, &c.admin, &failing).await.len(),
            1,
            "{:?}",
            app.backend
        );
        assert_eq!(
            receiver.received_at("/failing").len(),
            1,
            "nothing more is sent to it"
        );
    })
    .await;
}

/// The dispatcher records a burst of attempts together, the successes in one
/// statement: each row still gets its own attempt count, time and status,
/// and a row whose lease another attempt took over is left as it is.
#[tokio::test]
async fn a_batch_of_attempts_is_recorded_row_by_row() {
    use api::service::webhooks::deliveries::{record_attempts, Attempt, Outcome};
    use chrono::SubsecRound;
    use entity::webhook_delivery::{ActiveModel, Entity as Deliveries, Model};
    use sea_orm::ActiveValue::Set;

    on_every_backend(|app| async move {
        let c = cast(&app).await;
        // Disabled: the dispatcher leaves its deliveries to this test.
        let body = create_endpoint(
            &app,
            &c.admin.token,
            json!({ "url": "https://hooks.example.com/batch", "eventTypes": [], "enabled": false }),
        )
        .await;
        let endpoint_id = body["data"]["createWebhookEndpoint"]["endpoint"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .parse::<uuid::Uuid>()
            .unwrap();
        for n in 1..=4 {
            unpaid_order(&app, &c.shop, &format!("SO-WH-B{n}")).await;
        }
        // One delivery per event and endpoint: a row for each of four events.
        let events = entity::event::Entity::find().all(&app.db).await.unwrap();
        assert!(events.len() >= 4, "{:?}: {events:?}", app.backend);

        let now = chrono::Utc::now().trunc_subsecs(6);
        let (lease, taken_over) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let row = |n: usize, attempts: i32, leased_by: uuid::Uuid| Model {
            id: uuid::Uuid::now_v7(),
            endpoint_id,
            event_id: events[n].id,
            status: "PENDING".into(),
            attempts,
            next_attempt_at: Some(now),
            last_attempt_at: None,
            response_status: None,
            last_error: None,
            succeeded_at: None,
            lease_until: Some(now + chrono::Duration::minutes(1)),
            leased_by: Some(leased_by),
            created_at: now,
        };
        // First attempt, a retry, a failure, and one whose lease is gone.
        let rows = [
            row(0, 0, lease),
            row(1, 2, lease),
            row(2, 0, lease),
            row(3, 0, taken_over),
        ];
        for r in &rows {
            let mut active: ActiveModel = r.clone().into();
            active.id = Set(r.id);
            Deliveries::insert(active).exec(&app.db).await.unwrap();
        }
        let attempt = |r: &Model, seconds: i64, outcome: Outcome| Attempt {
            delivery: Model {
                leased_by: Some(lease),
                ..r.clone()
            },
            endpoint: None,
            outcome,
            at: now + chrono::Duration::seconds(seconds),
        };
        let ok = |status: u16| Outcome {
            succeeded: true,
            response_status: Some(status),
            error: None,
        };
        let failed = Outcome {
            succeeded: false,
            response_status: Some(503),
            error: Some("HTTP 503".into()),
        };
        let batch = [
            attempt(&rows[0], 1, ok(200)),
            attempt(&rows[1], 2, ok(204)),
            attempt(&rows[2], 3, failed),
            attempt(&rows[3], 4, ok(200)),
        ];
        record_attempts(&app.db, &batch, &[60]).await.unwrap();

        let read = |id: uuid::Uuid| {
            let db = app.db.clone();
            async move { Deliveries::find_by_id(id).one(&db).await.unwrap().unwrap() }
        };
        let at = |s: i64| Some(now + chrono::Duration::seconds(s));
        // A success: attempted at `at(seconds)`, answered `status`, lease released.
        let succeeded = |row: &Model, attempts: i32, seconds: i64, status: i32| Model {
            status: "SUCCEEDED".into(),
            attempts,
            next_attempt_at: None,
            last_attempt_at: at(seconds),
            response_status: Some(status),
            succeeded_at: at(seconds),
            lease_until: None,
            leased_by: None,
            ..row.clone()
        };
        assert_eq!(
            read(rows[0].id).await,
            succeeded(&rows[0], 1, 1, 200),
            "{:?}: first attempt",
            app.backend
        );
        assert_eq!(
            read(rows[1].id).await,
            succeeded(&rows[1], 3, 2, 204),
            "{:?}: a retry",
            app.backend
        );
        let failure = read(rows[2].id).await;
        let expected = Model {
            attempts: 1,
            next_attempt_at: at(63),
            last_attempt_at: at(3),
            response_status: Some(503),
            last_error: Some("HTTP 503".into()),
            lease_until: None,
            leased_by: None,
            ..rows[2].clone()
        };
        assert_eq!(failure, expected, "{:?}: a failure", app.backend);
        assert_eq!(
            read(rows[3].id).await,
            rows[3],
            "{:?}: a lease taken over is not overwritten",
            app.backend
        );
    })
    .await;
}

// ---------------------------------------------------------------------------
// SSRF
// ---------------------------------------------------------------------------

#[tokio::test]
async fn private_targets_are_refused_when_not_allowed() {
    let app = spawn_with(|s| s.webhooks.policy.allow_private = false).await;
    let admin = app.staff(&[Role::Admin]).await;
    let refused = [
        "http://127.0.0.1:1/x",
        "http://localhost:1/x",
        "http://[::1]/x",
        "http://169.254.169.254/",
        "http://10.0.0.1/x",
        "http://100.64.0.1/x",
        "http://0.0.0.0/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[fd00::1]/x",
        // Other spellings of 127.0.0.1 that URL parsers accept.
        "http://2130706433/x",
        "http://127.1/x",
        "http://0x7f.0.0.1/x",
    ];
    for url in refused {
        let body =
            create_endpoint(&app, &admin.token, json!({ "url": url, "eventTypes": [] })).await;
        assert_eq!(
            tests::error_code(&body),
            Some("BAD_USER_INPUT"),
            "{url}: {body}"
        );
    }
    assert_eq!(app.count("webhook_endpoints").await, 0);
}

#[tokio::test]
async fn malformed_urls_and_unknown_event_types_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let malformed = [
        "ftp://hooks.example.com/x",
        "not a url",
        "http://user:pass@hooks.example.com/x",
        "/relative/path",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "",
    ];
    for url in malformed {
        let body =
            create_endpoint(&app, &admin.token, json!({ "url": url, "eventTypes": [] })).await;
        assert_eq!(
            tests::error_code(&body),
            Some("BAD_USER_INPUT"),
            "{url:?}: {body}"
        );
    }
    let body = create_endpoint(
        &app,
        &admin.token,
        json!({ "url": "http://127.0.0.1:9/x", "eventTypes": ["ORDER_EXPLODED"] }),
    )
    .await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(app.count("webhook_endpoints").await, 0);
}

#[tokio::test]
async fn a_private_address_is_refused_again_at_each_attempt() {
    // Endpoints made while private targets were allowed (or a name that
    // resolved to a public address then): the server that sends now
    // refuses them on the address it would connect to, a literal one and
    // one a name resolves to, on every attempt of the schedule.
    let receiver = Receiver::start().await;
    let (lax, lax_runtime) =
        spawn_on_own_runtime(settings_for(fresh_database(Backend::Sqlite).await)).await;
    let mut strict_settings = settings_for(lax.database_url.clone());
    strict_settings.webhooks.policy.allow_private = false;
    let strict = TestApp::spawn_with(Backend::Sqlite, strict_settings).await;
    let c = cast(&strict).await; // tokens hold on both servers

    let literal = endpoint(
        &lax,
        &c.admin,
        &receiver.url("/literal"),
        &["ORDER_CREATED"],
    )
    .await;
    let named = format!("http://localhost:{}/named", receiver.port());
    let named = endpoint(&lax, &c.admin, &named, &["ORDER_CREATED"]).await;
    lax.handle.stop(true).await;
    lax_runtime.shutdown_background();

    unpaid_order(&strict, &c.shop, "SO-WH-B1").await;
    for ep in [&literal, &named] {
        let d = &finished(&strict, &c.admin, ep, 1).await[0];
        assert_eq!(d["status"], "FAILED", "{d}");
        assert_eq!(d["attempts"], 4, "{d}");
        assert_eq!(d["lastError"], "blocked address", "{d}");
        assert!(d["responseStatus"].is_null(), "{d}");
    }
    assert!(
        receiver.received().is_empty(),
        "a request reached the receiver"
    );
}

#[tokio::test]
async fn a_proxy_from_the_environment_does_not_bypass_the_address_check() {
    // Through an HTTP proxy the address connected to is the proxy's, and
    // the proxy resolves the endpoint's name: the check on the connected
    // address then says nothing about where the request goes.
    let receiver = Receiver::start().await;
    let proxy = Receiver::start().await;
    let (lax, lax_runtime) =
        spawn_on_own_runtime(settings_for(fresh_database(Backend::Sqlite).await)).await;
    let mut strict_settings = settings_for(lax.database_url.clone());
    strict_settings.webhooks.policy.allow_private = false;
    // nextest runs each test in a process of its own, so the variables reach
    // no other test; NO_PROXY keeps the harness's requests to 127.0.0.1
    // direct. They are read when a client is built, here the server's.
    std::env::set_var("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port()));
    std::env::set_var("NO_PROXY", "127.0.0.1");
    let strict = TestApp::spawn_with(Backend::Sqlite, strict_settings).await;
    std::env::remove_var("HTTP_PROXY");
    std::env::remove_var("NO_PROXY");
    let c = cast(&strict).await;

    let named = format!("http://localhost:{}/named", receiver.port());
    let named = endpoint(&lax, &c.admin, &named, &["ORDER_CREATED"]).await;
    lax.handle.stop(true).await;
    lax_runtime.shutdown_background();

    unpaid_order(&strict, &c.shop, "SO-WH-P1").await;
    let d = &finished(&strict, &c.admin, &named, 1).await[0];
    assert!(proxy.received().is_empty(), "sent through the proxy: {d}");
    assert_eq!(d["status"], "FAILED", "{d}");
    assert_eq!(d["lastError"], "blocked address", "{d}");
    assert!(receiver.received().is_empty());
}

// ---------------------------------------------------------------------------
// Several servers
// ---------------------------------------------------------------------------

/// A sequencer round writes the deliveries its dispatcher has room for
/// already leased to that dispatcher, and hands exactly those over; the rest
/// are queued unleased, for any process to lease.
#[tokio::test]
async fn a_round_leases_to_its_dispatcher_only_what_it_hands_over() {
    use api::service::webhooks::{deliveries, handoff};
    use entity::webhook_delivery::{Column, Entity as Deliveries};

    on_every_backend(|app| async move {
        let c = cast(&app).await;
        for n in 1..=4 {
            unpaid_order(&app, &c.shop, &format!("SO-WH-H{n}")).await;
        }
        let events = eventually("the orders' events numbered", async || {
            let events = entity::event::Entity::find()
                .filter(entity::event::Column::EventType.eq("ORDER_CREATED"))
                .all(&app.db)
                .await
                .unwrap();
            match events.iter().all(|e| e.sequence.is_some()) {
                true if events.len() == 4 => Ok(events),
                _ => Err(format!("{events:?}")),
            }
        })
        .await;
        // Made after the events were numbered: it has no deliveries yet.
        let receiver = Receiver::start().await;
        endpoint(&app, &c.admin, &receiver.url("/handed"), &["ORDER_CREATED"]).await;

        // A dispatcher with room for 3 (the rest of the room is taken).
        let lease = chrono::Duration::seconds(60);
        let handoff = handoff::Handoff::default();
        let _open = handoff.open(lease);
        let taken = handoff.reserve(handoff::ROOM - 3, api::service::now());
        let txn = api::service::db::begin_write(&app.db).await.unwrap();
        let queued = deliveries::enqueue(&txn, &events, &handoff).await.unwrap();
        txn.commit().await.unwrap();
        queued.hand_over();
        drop(taken);

        let handed = handoff
            .take(10, api::service::now(), chrono::Duration::seconds(30))
            .ready;
        assert_eq!(handed.len(), 3, "{:?}", app.backend);
        let holder = handed[0].delivery.leased_by.expect("leased");
        let rows = Deliveries::find()
            .filter(Column::EventId.is_in(events.iter().map(|e| e.id)))
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 4, "{:?}: one per event", app.backend);
        for h in &handed {
            let row = rows.iter().find(|r| r.id == h.delivery.id);
            assert_eq!(
                row,
                Some(&h.delivery),
                "{:?}: the row as handed",
                app.backend
            );
            assert_eq!(h.delivery.event_id, h.event.id, "{:?}", app.backend);
            assert_eq!(h.delivery.leased_by, Some(holder), "{:?}", app.backend);
            assert!(
                h.delivery.lease_until
                    > Some(h.delivery.created_at + chrono::Duration::seconds(59)),
                "{:?}",
                app.backend
            );
        }
        // The fourth is left to any process's lease (this one's dispatcher
        // may have taken it already), never to this handoff's holder.
        let rest: Vec<_> = rows
            .iter()
            .filter(|r| handed.iter().all(|h| h.delivery.id != r.id))
            .collect();
        assert_eq!(rest.len(), 1, "{:?}", app.backend);
        assert_ne!(rest[0].leased_by, Some(holder), "{:?}", app.backend);
        // Only the fourth is sent: the three leased to this handoff wait
        // for it (or for their lease to run out).
        requests(&receiver, "/handed", 1).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            receiver.received_at("/handed").len(),
            1,
            "{:?}",
            app.backend
        );
    })
    .await;
}

/// A process that dies while it sends a delivery it was handed (the
/// receiver has the request, no outcome is recorded) loses nothing: once the
/// lease runs out, another process sends it again, with the same
/// `webhook-id`.
#[tokio::test]
async fn a_delivery_whose_process_dies_mid_attempt_is_sent_by_another() {
    // The first request hangs past the test; every later one is answered.
    let receiver = Receiver::scripted([Reply::Hang(Duration::from_secs(120))], Reply::ok()).await;
    let mut dying = settings_for(fresh_database(Backend::Sqlite).await);
    // The attempt is still in flight when the process ends.
    dying.webhooks.timeout = Duration::from_secs(3);
    let survivor_settings = settings_for(dying.database_url.clone());
    let (first, first_runtime) = spawn_on_own_runtime(dying).await;
    let c = cast(&first).await;
    let ep = endpoint(&first, &c.admin, &receiver.url("/dies"), &["ORDER_CREATED"]).await;

    unpaid_order(&first, &c.shop, "SO-WH-K1").await;
    requests(&receiver, "/dies", 1).await;
    // Handed over by the round, not leased by the dispatcher: its lease
    // counts from when it was queued, for 3 × 3 s + 5 s.
    let row = entity::webhook_delivery::Entity::find()
        .one(&first.db)
        .await
        .unwrap()
        .expect("the delivery");
    let lease = row.lease_until.expect("leased") - row.created_at;
    assert_eq!(lease, chrono::Duration::seconds(14), "{row:?}");
    first.handle.stop(false).await;
    first_runtime.shutdown_background();

    let survivor = TestApp::spawn_with(Backend::Sqlite, survivor_settings).await;
    let d = tests::eventually(
        "the delivery sent again",
        Duration::from_secs(40),
        async || {
            let all = deliveries(&survivor, &c.admin, &ep).await;
            match all.first() {
                Some(d) if all.len() == 1 && d["status"] == "SUCCEEDED" => Ok(d.clone()),
                _ => Err(Value::Array(all).to_string()),
            }
        },
    )
    .await;
    assert_eq!(d["attempts"], 1, "the dead process recorded nothing: {d}");
    let got = receiver.received_at("/dies");
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(webhook_id(&got[0]), webhook_id(&got[1]));
    assert_eq!(webhook_id(&got[1]), d["event"]["id"].as_str().unwrap());
    verify(&ep.secret, &got[1]).expect("signed");
    // Not before the dead process's lease ran out.
    assert!(
        got[1].at - got[0].at >= Duration::from_secs(13),
        "{:?}",
        got[1].at - got[0].at
    );
}

#[tokio::test]
async fn two_servers_send_each_event_exactly_once() {
    on_every_backend(|app| async move {
        let other = app.sibling().await;
        let c = cast(&app).await;
        let receiver = Receiver::start().await;
        let ep = endpoint(&app, &c.admin, &receiver.url("/both"), &["ORDER_CREATED"]).await;

        // 30 changes, half through each server, while both dispatch.
        let orders = (0..30).map(|i| {
            let server = if i % 2 == 0 { &app } else { &other };
            let shop = &c.shop;
            async move { unpaid_order(server, shop, &format!("SO-WH-M{i}")).await }
        });
        futures_util::future::join_all(orders).await;

        let done = finished(&app, &c.admin, &ep, 30).await;
        for d in &done {
            assert_eq!(d["status"], "SUCCEEDED", "{:?}: {d}", app.backend);
            assert_eq!(d["attempts"], 1, "{:?}: {d}", app.backend);
        }
        // A second sender of the same delivery would arrive about now.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut per_event: HashMap<String, usize> = HashMap::new();
        for request in receiver.received() {
            *per_event
                .entry(webhook_id(&request).to_string())
                .or_default() += 1;
        }
        let twice: Vec<_> = per_event.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "{:?}: sent more than once: {twice:?}",
            app.backend
        );
        let delivered: BTreeSet<&str> = done
            .iter()
            .map(|d| d["event"]["id"].as_str().unwrap())
            .collect();
        let received: BTreeSet<&str> = per_event.keys().map(String::as_str).collect();
        assert_eq!(delivered, received, "{:?}", app.backend);
    })
    .await;
}

// ---------------------------------------------------------------------------
// The signing function
// ---------------------------------------------------------------------------

#[test]
fn our_signature_matches_the_standard_webhooks_test_vector() {
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let (id, timestamp) = ("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553);
    let payload = br#"{"email":"test@example.com","username":"test_user"}"#;
    let expected = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    let key = signing::key_of(secret).expect("a valid secret");
    assert_eq!(signing::sign(&key, id, timestamp, payload), expected);
    // The independent implementation agrees on the same vector.
    let theirs = Webhook::new(secret)
        .unwrap()
        .sign(id, timestamp, payload)
        .unwrap();
    assert_eq!(theirs, expected);
}
