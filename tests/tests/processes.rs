//! The server as real OS processes: two `serve` processes racing on one
//! database, a process killed with SIGKILL in the middle of a burst of
//! approvals, and a process stopped with SIGTERM under load.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use api::domain::Role;
use entity::{payout, refund_claim};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use tests::process::ServerProcess;
use tests::{backends, race, TestApp};

const BINARY: &str = env!("CARGO_BIN_EXE_server-under-test");
const APPROVE: &str =
    "mutation($i: ApproveClaimInput!){ approveClaim(input: $i) { id status payouts { id } } }";

#[tokio::test]
async fn two_serve_processes_keep_the_money_invariant() {
    for backend in backends() {
        // The in-process server only sets up data; the race runs through the processes.
        let app = TestApp::spawn(backend).await;
        let a = ServerProcess::start(BINARY, &app.database_url);
        let b = ServerProcess::start(BINARY, &app.database_url);
        let report = race::run(&app, vec![a.url("/graphql"), b.url("/graphql")]).await;
        println!(
            "{backend:?}: {} operations in {:?} across two serve processes (pids {}, {})",
            report.operations,
            report.elapsed,
            a.pid(),
            b.pid()
        );
        let summary = race::check_invariant(&app.db).await;
        println!("{backend:?}: {summary}");
    }
}

/// `count` submitted claims on orders of their own; returns the claim ids.
async fn submitted_claims(app: &TestApp, count: usize) -> Vec<String> {
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let mut claims = Vec::new();
    for i in 0..count {
        let order = app
            .delivered_order(&shop.token, &format!("SO-P{i}"), "20.00", None)
            .await;
        let body = app
            .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "never arrived", "channel": "EMAIL" }))
            .await;
        claims.push(
            body["data"]["submitClaim"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    claims
}

async fn approve(client: &reqwest::Client, url: &str, token: &str, claim: &str) -> Option<Value> {
    let res = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": APPROVE, "variables": { "i": { "claimId": claim, "idempotencyKey": format!("burst-{claim}") } } }))
        .send()
        .await
        .ok()?;
    res.json().await.ok()
}

/// Each claim's status and payout ids, straight from the database.
async fn claim_states(app: &TestApp) -> HashMap<String, (String, Vec<String>)> {
    let claims = refund_claim::Entity::find().all(&app.db).await.unwrap();
    let mut out = HashMap::new();
    for c in claims {
        let payouts = payout::Entity::find()
            .filter(payout::Column::ClaimId.eq(c.id))
            .all(&app.db)
            .await
            .unwrap();
        out.insert(
            c.id.to_string(),
            (c.status, payouts.iter().map(|p| p.id.to_string()).collect()),
        );
    }
    out
}

/// Fires one approval per claim at `url` from `clients` tasks; returns the
/// bodies that came back (None where the connection failed).
async fn burst(
    url: String,
    token: String,
    claims: Vec<String>,
    clients: usize,
) -> (
    Vec<tokio::task::JoinHandle<Vec<(String, Option<Value>)>>>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let queue = Arc::new(std::sync::Mutex::new(claims));
    let tasks = (0..clients)
        .map(|_| {
            let (url, token, queue, answered) =
                (url.clone(), token.clone(), queue.clone(), answered.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut out = Vec::new();
                loop {
                    let Some(claim) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let body = approve(&client, &url, &token, &claim).await;
                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    out.push((claim, body));
                }
                out
            })
        })
        .collect();
    (tasks, answered)
}

async fn wait_for(answered: &std::sync::atomic::AtomicUsize, n: usize) {
    while answered.load(std::sync::atomic::Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_server_killed_mid_burst_leaves_each_claim_approved_once_or_untouched() {
    const CLAIMS: usize = 60;
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let claims = submitted_claims(&app, CLAIMS).await;
        let manager = app.staff(&[Role::RefundManager]).await;
        let mut server = ServerProcess::start(BINARY, &app.database_url);
        let (tasks, answered) = burst(
            server.url("/graphql"),
            manager.token.clone(),
            claims.clone(),
            8,
        )
        .await;
        wait_for(&answered, 10).await;
        server.kill();
        for t in tasks {
            t.await.unwrap();
        }

        let after_kill = claim_states(&app).await;
        let mut approved = 0;
        for (claim, (status, payouts)) in &after_kill {
            match status.as_str() {
                "APPROVED" => {
                    assert_eq!(payouts.len(), 1, "{backend:?} {claim}: {payouts:?}");
                    approved += 1;
                }
                "SUBMITTED" => assert!(payouts.is_empty(), "{backend:?} {claim}"),
                other => panic!("{backend:?} {claim} is {other}"),
            }
        }
        println!("{backend:?}: {approved} of {CLAIMS} claims approved when the server was killed");
        assert!(approved >= 10, "{backend:?}: the burst was under way");
        assert!(approved < CLAIMS, "{backend:?}: the kill came mid-burst");

        // A new process; every approval is retried with its own key.
        let restarted = ServerProcess::start(BINARY, &app.database_url);
        let client = reqwest::Client::new();
        for claim in &claims {
            let body = approve(&client, &restarted.url("/graphql"), &manager.token, claim)
                .await
                .expect("answer");
            assert!(body["errors"].is_null(), "{backend:?}: {body}");
            assert_eq!(body["data"]["approveClaim"]["status"], "APPROVED");
        }
        let after_retry = claim_states(&app).await;
        for (claim, (status, payouts)) in &after_retry {
            assert_eq!(status, "APPROVED");
            assert_eq!(payouts.len(), 1, "{backend:?} {claim}: {payouts:?}");
            if after_kill[claim].0 == "APPROVED" {
                assert_eq!(
                    payouts, &after_kill[claim].1,
                    "the retry replayed, it created nothing"
                );
            }
        }
        assert_eq!(app.count("payouts").await, CLAIMS as i64);
        assert_eq!(app.count("idempotency_keys").await, CLAIMS as i64);
    }
}

#[tokio::test]
async fn sigterm_under_load_finishes_in_flight_requests_and_nothing_is_half_done() {
    const CLAIMS: usize = 60;
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let claims = submitted_claims(&app, CLAIMS).await;
        let manager = app.staff(&[Role::RefundManager]).await;
        let mut server = ServerProcess::start(BINARY, &app.database_url);
        let (tasks, answered) =
            burst(server.url("/graphql"), manager.token.clone(), claims, 8).await;
        wait_for(&answered, 10).await;
        server.signal("TERM");
        let mut answers = Vec::new();
        for t in tasks {
            answers.extend(t.await.unwrap());
        }
        let status = server
            .wait_for_exit(Duration::from_secs(20))
            .expect("the server stopped");
        assert!(status.success(), "{backend:?}: {status}");

        // Every approval the database holds was answered: no request that got
        // as far as a commit was cut off, and no claim is half approved.
        let states = claim_states(&app).await;
        let answered_ok: Vec<&String> = answers
            .iter()
            .filter(|(_, body)| {
                body.as_ref()
                    .is_some_and(|b| b["data"]["approveClaim"]["status"] == "APPROVED")
            })
            .map(|(claim, _)| claim)
            .collect();
        let mut approved = 0;
        for (claim, (status, payouts)) in &states {
            if status == "APPROVED" {
                approved += 1;
                assert_eq!(payouts.len(), 1);
                assert!(
                    answered_ok.contains(&claim),
                    "{backend:?}: {claim} was approved but its answer was lost"
                );
            } else {
                assert_eq!(status, "SUBMITTED");
                assert!(payouts.is_empty());
            }
        }
        assert_eq!(approved, answered_ok.len());
        let refused = answers.iter().filter(|(_, b)| b.is_none()).count();
        println!("{backend:?}: SIGTERM after 10 answers; {approved} approvals finished, {refused} requests refused");
        assert!(approved >= 10);
    }
}

/// Every request leaves one access-log line, in its request span: the
/// request id (the client's, when plain), the route, the status and the
/// latency. Checked in the JSON log a real process prints.
#[tokio::test]
async fn every_request_leaves_an_access_log_line_with_its_request_id() {
    let app = TestApp::spawn(tests::Backend::Sqlite).await;
    let server = ServerProcess::start_with(BINARY, &app.database_url, &[("RUST_LOG", "info")]);
    let res = reqwest::Client::new()
        .get(server.url("/healthz"))
        .header("x-request-id", "trace-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-1");
    let line = tests::eventually("the access-log line", Duration::from_secs(5), async || {
        let lines = server.output();
        lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| {
                v["span"]["request_id"] == "trace-me-1"
                    && v["fields"]["message"] == "request served"
            })
            .ok_or_else(|| format!("{lines:#?}"))
    })
    .await;
    let span = &line["span"];
    assert_eq!(span["http.route"], "/healthz", "{line}");
    assert_eq!(span["http.method"], "GET", "{line}");
    assert_eq!(span["http.status_code"], 200, "{line}");
    assert!(
        span["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    assert_eq!(line["level"], "INFO", "{line}");
}
