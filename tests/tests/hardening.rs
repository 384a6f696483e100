//! Hardening: production mode, CORS, the request timeout, and the atomicity of
//! every money mutation under an injected fault.

use std::sync::Arc;
use std::time::Duration;

use api::config::Environment;
use api::domain::Role;
use api::service::db::Db;
use api::service::faults::{Fault, FaultPlan};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{json, Value};
use tests::{assert_error, backends, fresh_database, settings_for, Backend, TestApp, CLAIM_FIELDS};

async fn spawn_with(backend: Backend, change: impl FnOnce(&mut api::config::Settings)) -> TestApp {
    let mut settings = settings_for(fresh_database(backend).await);
    change(&mut settings);
    TestApp::spawn_with(backend, settings).await
}

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";
const MISSPELLED: &str = "{ claimz(first: 1) { totalCount } }";

#[tokio::test]
async fn production_turns_off_introspection_graphiql_and_suggestions() {
    let dev = TestApp::spawn(Backend::Sqlite).await;
    let prod = spawn_with(Backend::Sqlite, |s| s.environment = Environment::Production).await;
    let admin_dev = dev.staff(&[Role::Admin]).await;
    let admin_prod = prod.staff(&[Role::Admin]).await;

    let body = dev
        .graphql(INTROSPECTION, json!({}), Some(&admin_dev.token))
        .await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
    // async-graphql answers introspection with null rather than an error.
    let body = prod
        .graphql(INTROSPECTION, json!({}), Some(&admin_prod.token))
        .await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
    let body = prod
        .graphql(
            "{ __type(name: \"Claim\") { fields { name } } }",
            json!({}),
            Some(&admin_prod.token),
        )
        .await;
    assert!(body["data"]["__type"].is_null(), "{body}");

    let body = dev
        .graphql(MISSPELLED, json!({}), Some(&admin_dev.token))
        .await;
    assert!(body.to_string().contains("Did you mean"), "{body}");
    let body = prod
        .graphql(MISSPELLED, json!({}), Some(&admin_prod.token))
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    assert!(!body.to_string().contains("Did you mean"), "{body}");

    for (app, expected) in [(&dev, 200), (&prod, 404)] {
        let res = app
            .client
            .get(app.url("/graphql"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), expected);
        // GraphiQL's own files go with it; the console stays.
        for (path, expected) in [
            ("/console/vendor/graphiql.min.js", expected),
            ("/console/graphiql/start.js", expected),
            ("/console/vendor%5Cgraphiql.min.js", 404),
            ("/console/graphiql%5Cstart.js", 404),
            ("/console/", 200),
        ] {
            let res = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status().as_u16(), expected, "{path}");
        }
    }
}

async fn preflight(app: &TestApp, origin: &str) -> (u16, Option<String>) {
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    let allowed = res
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    (res.status().as_u16(), allowed)
}

#[tokio::test]
async fn cross_origin_calls_are_allowed_only_for_configured_origins() {
    let closed = TestApp::spawn(Backend::Sqlite).await;
    let (_, allowed) = preflight(&closed, "https://admin.example.com").await;
    assert_eq!(allowed, None, "no origin is allowed by default");

    let open = spawn_with(Backend::Sqlite, |s| {
        s.cors_origins = vec!["https://admin.example.com".into()]
    })
    .await;
    let (status, allowed) = preflight(&open, "https://admin.example.com").await;
    assert!(status < 300, "{status}");
    assert_eq!(allowed.as_deref(), Some("https://admin.example.com"));
    let (_, allowed) = preflight(&open, "https://evil.example.net").await;
    assert_eq!(allowed, None);

    // A simple cross-origin POST gets the header too, and the request id is exposed.
    let res = open
        .client
        .post(open.url("/graphql"))
        .header("origin", "https://admin.example.com")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://admin.example.com"
    );
    assert!(res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-request-id"));
}

/// Every row of every table a money mutation can touch, in a stable order.
async fn snapshot(db: &Db) -> String {
    use entity::*;
    macro_rules! rows {
        ($($m:ident),*) => {{
            let mut out = String::new();
            $(
                let all = $m::Entity::find()
                    .order_by_asc($m::Column::Id)
                    .all(db)
                    .await
                    .expect("snapshot read");
                out.push_str(&format!("{}: {:?}\n", stringify!($m), all));
            )*
            out
        }};
    }
    rows!(
        order,
        customer,
        activation,
        refund_claim,
        claim_event,
        payout,
        chargeback,
        audit_log,
        idempotency_key
    )
}

struct Money {
    shop: tests::Staff,
    agent: tests::Staff,
    manager: tests::Staff,
    finance: tests::Staff,
}

impl Money {
    async fn new(app: &TestApp) -> Money {
        Money {
            shop: app.staff(&[Role::Integration]).await,
            agent: app.staff(&[Role::SupportAgent]).await,
            manager: app.staff(&[Role::RefundManager]).await,
            finance: app.staff(&[Role::Finance]).await,
        }
    }

    /// A submitted claim on a fresh order; returns (order id, claim id).
    async fn claim(&self, app: &TestApp, number: &str) -> (String, String) {
        let order = app
            .delivered_order(&self.shop.token, number, "20.00", None)
            .await;
        let body = app
            .submit_claim(&self.agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "never arrived", "channel": "EMAIL" }))
            .await;
        let claim = body["data"]["submitClaim"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        (order, claim)
    }

    fn approve(&self, claim: &str) -> (String, Value) {
        (
            format!("mutation($i: ApproveClaimInput!){{ approveClaim(input: $i) {{ {CLAIM_FIELDS} }} }}"),
            json!({ "i": { "claimId": claim, "idempotencyKey": format!("approve-{claim}") } }),
        )
    }

    /// An approved claim's PENDING payout; returns (order id, payout id).
    async fn payout(&self, app: &TestApp, number: &str) -> (String, String) {
        let (order, claim) = self.claim(app, number).await;
        let (q, v) = self.approve(&claim);
        let body = app.graphql(&q, v, Some(&self.manager.token)).await;
        let payout = body["data"]["approveClaim"]["payouts"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        (order, payout)
    }

    async fn payout_op(&self, app: &TestApp, call: String) {
        let body = app
            .graphql(
                &format!("mutation {{ {call} {{ id }} }}"),
                json!({}),
                Some(&self.finance.token),
            )
            .await;
        assert!(body["errors"].is_null(), "{call}: {body}");
    }
}

const RECORD: &str = "mutation($i: RecordChargebackInput!){ recordChargeback(input: $i) { id } }";

fn chargeback_input(order: &str, reference: &str) -> Value {
    json!({ "i": { "orderId": order, "amount": { "amount": "29.99", "currency": "EUR" }, "reasonCode": "fraud", "providerReference": reference, "openedAt": "2026-02-04T00:00:00Z" } })
}

/// Sets up the state one money mutation needs; returns the mutation, its
/// variables and who may run it.
async fn prepare(app: &TestApp, m: &Money, point: &str, n: usize) -> (String, Value, String) {
    let number = format!("SO-F{n}");
    let finance = m.finance.token.clone();
    match point {
        "claim.approve" => {
            let (_, claim) = m.claim(app, &number).await;
            let (q, v) = m.approve(&claim);
            (q, v, m.manager.token.clone())
        }
        "payout.mark_sent" | "payout.mark_failed" => {
            let (_, payout) = m.payout(app, &number).await;
            let call = if point == "payout.mark_sent" {
                "markPayoutSent(payoutId: $p, externalReference: \"re_1\")"
            } else {
                "markPayoutFailed(payoutId: $p, reason: \"card closed\")"
            };
            (
                format!("mutation($p: ID!){{ {call} {{ id status }} }}"),
                json!({ "p": payout }),
                finance,
            )
        }
        "payout.mark_settled" => {
            let (_, payout) = m.payout(app, &number).await;
            m.payout_op(
                app,
                format!("markPayoutSent(payoutId: \"{payout}\", externalReference: \"re_1\")"),
            )
            .await;
            (
                "mutation($p: ID!){ markPayoutSettled(payoutId: $p) { id status } }".into(),
                json!({ "p": payout }),
                finance,
            )
        }
        "payout.retry" => {
            let (_, payout) = m.payout(app, &number).await;
            m.payout_op(
                app,
                format!("markPayoutFailed(payoutId: \"{payout}\", reason: \"card closed\")"),
            )
            .await;
            ("mutation($p: ID!){ retryPayout(payoutId: $p, idempotencyKey: \"retry-1\") { id status } }".into(), json!({ "p": payout }), finance)
        }
        "chargeback.record" => {
            // With no prior contact the chargeback also restricts the customer.
            let order = fresh_customer_order(app, m, &number).await;
            (
                RECORD.into(),
                chargeback_input(&order, &format!("cb-{n}")),
                finance,
            )
        }
        "chargeback.resolve" => {
            let order = fresh_customer_order(app, m, &number).await;
            let body = app
                .graphql(
                    RECORD,
                    chargeback_input(&order, &format!("cb-{n}")),
                    Some(&finance),
                )
                .await;
            let cb = body["data"]["recordChargeback"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_string();
            ("mutation($c: ID!){ resolveChargeback(chargebackId: $c, outcome: LOST) { id status } }".into(), json!({ "c": cb }), finance)
        }
        other => panic!("no setup for {other}"),
    }
}

/// An order of a customer of its own (a chargeback restricts its customer).
async fn fresh_customer_order(app: &TestApp, m: &Money, number: &str) -> String {
    let input = tests::order_input(number, &format!("{number}@example.com"));
    let order = app.create_order(&m.shop.token, input).await;
    order["id"].as_str().unwrap().to_string()
}

const MONEY_POINTS: [&str; 7] = [
    "claim.approve",
    "payout.mark_sent",
    "payout.mark_failed",
    "payout.mark_settled",
    "payout.retry",
    "chargeback.record",
    "chargeback.resolve",
];

#[tokio::test]
async fn a_fault_after_the_first_write_of_any_money_mutation_leaves_nothing_behind() {
    for backend in backends() {
        let plan = Arc::new(FaultPlan::default());
        let app = spawn_with(backend, |s| s.faults = Some(plan.clone())).await;
        let m = Money::new(&app).await;
        for (n, point) in MONEY_POINTS.into_iter().enumerate() {
            let (query, vars, token) = prepare(&app, &m, point, n).await;
            let before = snapshot(&app.db).await;
            plan.arm(point, Fault::Fail);
            let body = app.graphql(&query, vars.clone(), Some(&token)).await;
            plan.disarm(point);
            assert_error(&body, "INTERNAL_SERVER_ERROR");
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(
                message.starts_with("Internal server error (request id "),
                "{message}"
            );
            assert!(!message.contains("injected"), "the cause stays in the logs");
            assert_eq!(
                snapshot(&app.db).await,
                before,
                "{backend:?} {point} left writes behind"
            );

            // The same call succeeds once the fault is gone: the point sat on a real path.
            let body = app.graphql(&query, vars, Some(&token)).await;
            assert!(body["errors"].is_null(), "{backend:?} {point}: {body}");
            assert_ne!(snapshot(&app.db).await, before);
        }
    }
}

#[tokio::test]
async fn a_request_past_its_timeout_is_cancelled_and_rolled_back() {
    for backend in backends() {
        let plan = Arc::new(FaultPlan::default());
        let app = spawn_with(backend, |s| {
            s.faults = Some(plan.clone());
            s.request_timeout = Duration::from_secs(1);
        })
        .await;
        let m = Money::new(&app).await;
        let (query, vars, token) = prepare(&app, &m, "claim.approve", 0).await;
        let before = snapshot(&app.db).await;
        plan.arm("claim.approve", Fault::Stall(Duration::from_secs(5)));
        let started = std::time::Instant::now();
        let body = app.graphql(&query, vars.clone(), Some(&token)).await;
        plan.disarm("claim.approve");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_error(&body, "INTERNAL_SERVER_ERROR");
        assert_eq!(
            body["errors"][0]["extensions"]["reason"], "TIMEOUT",
            "{body}"
        );
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was changed"));
        assert_eq!(snapshot(&app.db).await, before, "{backend:?}");
        // The row locks went with the transaction: the retry goes through at once.
        let started = std::time::Instant::now();
        let body = app.graphql(&query, vars, Some(&token)).await;
        assert!(body["errors"].is_null(), "{backend:?}: {body}");
        assert_eq!(body["data"]["approveClaim"]["status"], "APPROVED");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}

/// GraphQL executions are admitted up to the pool's size. With one
/// connection, a request that needs none still waits while another
/// executes, and then runs: it waits before it holds anything, and nothing
/// is refused.
#[tokio::test]
async fn executions_beyond_the_pool_wait_their_turn() {
    let plan = Arc::new(FaultPlan::default());
    let app = spawn_with(Backend::Sqlite, |s| {
        s.faults = Some(plan.clone());
        s.db_max_connections = 1;
    })
    .await;
    let m = Money::new(&app).await;
    let (query, vars, token) = prepare(&app, &m, "claim.approve", 0).await;
    let stall = Duration::from_millis(1500);
    plan.arm("claim.approve", Fault::Stall(stall));
    let slow = app.graphql(&query, vars, Some(&token));
    let quick = async {
        // Sent once the slow one is executing.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = std::time::Instant::now();
        let body = app.graphql("{ __typename }", json!({}), None).await;
        (started.elapsed(), body)
    };
    let (slow, (waited, quick)) = tokio::join!(slow, quick);
    assert!(slow["errors"].is_null(), "{slow}");
    assert_eq!(quick["data"]["__typename"], "Query", "{quick}");
    assert!(
        waited >= stall - Duration::from_millis(600),
        "ran beside the other execution after {waited:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_database_and_its_folder_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = std::env::temp_dir()
        .join("refund-desk-tests")
        .join(format!("private-{}", uuid::Uuid::now_v7().simple()));
    // A new folder and file.
    let dir = root.join("data");
    let file = dir.join("refund-desk.sqlite");
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        settings_for(format!("sqlite://{}?mode=rwc", file.display())),
    )
    .await;
    app.staff(&[Role::Admin]).await;
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    for f in [
        "refund-desk.sqlite",
        "refund-desk.sqlite-wal",
        "refund-desk.sqlite-shm",
    ] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    // A file left world-readable by an older version is tightened.
    let old = root.join("old.sqlite");
    std::fs::write(&old, b"").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    TestApp::spawn_with(
        Backend::Sqlite,
        settings_for(format!("sqlite://{}?mode=rwc", old.display())),
    )
    .await;
    assert_eq!(mode(&old), 0o600);
}
