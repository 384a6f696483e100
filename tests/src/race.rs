//! The money-invariant race, shared by the in-process and the OS-process
//! tests: approvals, payout failures, retries and chargebacks on the same
//! orders from many clients at once, spread over several servers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::service::db::Db;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::TestApp;
use api::domain::Role;

/// Every order of the race has this total, in minor units.
pub const ORDER_TOTAL_MINOR: i64 = 10_000;
pub const ORDERS: usize = 20;
pub const OPERATIONS: usize = 1_000;
const CLIENTS: usize = 8;
const ACCEPTED: [&str; 5] = [
    "CONFLICT",
    "INVALID_TRANSITION",
    "REFUND_LIMIT_EXCEEDED",
    "POLICY_VIOLATION",
    "CUSTOMER_RESTRICTED",
];

struct Client {
    http: reqwest::Client,
    urls: Vec<String>,
    agent: String,
    manager: String,
    finance: String,
}

impl Client {
    async fn call(&self, n: u64, token: &str, query: &str, vars: Value) -> Value {
        let url = &self.urls[(n % self.urls.len() as u64) as usize];
        let res = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": vars }))
            .send()
            .await
            .expect("request");
        let body: Value = res.json().await.expect("json");
        if let Some(code) = crate::error_code(&body) {
            assert!(ACCEPTED.contains(&code), "unexpected {code}: {body}");
        }
        body
    }
}

/// xorshift: reproducible choices per task without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn worker(task: u64, c: Arc<Client>, orders: Arc<Vec<String>>, done: Arc<AtomicUsize>) {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (task + 1);
    while done.fetch_add(2, Ordering::SeqCst) < OPERATIONS {
        let r = next(&mut rng);
        let order = &orders[(r % orders.len() as u64) as usize];
        let state = c
            .call(
                r,
                &c.manager,
                "query($id: ID!){ order(id: $id) { claims { id status } payouts { id status } } }",
                json!({ "id": order }),
            )
            .await;
        let o = &state["data"]["order"];
        let find = |list: &str, status: &[&str]| -> Option<String> {
            o[list]
                .as_array()?
                .iter()
                .rev()
                .find(|x| status.contains(&x["status"].as_str().unwrap_or("")))
                .map(|x| x["id"].as_str().unwrap_or("").to_string())
        };
        let pick = r >> 8;
        if let Some(claim) = find("claims", &["SUBMITTED", "AWAITING_SECOND_APPROVAL"]) {
            let q = "mutation($i: ApproveClaimInput!){ approveClaim(input: $i) { status } }";
            c.call(r, &c.manager, q, json!({ "i": { "claimId": claim, "amount": { "amount": "40.00", "currency": "EUR" } } })).await;
        } else if let (Some(p), 0) = (find("payouts", &["PENDING"]), pick % 3) {
            let q = "mutation($id: ID!){ markPayoutFailed(payoutId: $id, reason: \"bank said no\") { status } }";
            c.call(r, &c.finance, q, json!({ "id": p })).await;
        } else if let (Some(p), 0) = (find("payouts", &["FAILED"]), pick % 2) {
            let q = "mutation($id: ID!){ retryPayout(payoutId: $id) { status } }";
            c.call(r, &c.finance, q, json!({ "id": p })).await;
        } else if pick.is_multiple_of(7) {
            let q = "mutation($i: RecordChargebackInput!){ recordChargeback(input: $i) { id } }";
            let opened = chrono::Utc::now().to_rfc3339();
            c.call(r, &c.finance, q, json!({ "i": { "orderId": order, "amount": { "amount": "10.00", "currency": "EUR" }, "reasonCode": "13.1", "providerReference": format!("race-{task}-{r}"), "openedAt": opened } })).await;
        } else {
            let q = "mutation($i: SubmitClaimInput!){ submitClaim(input: $i) { id } }";
            c.call(r, &c.agent, q, json!({ "i": { "orderId": order, "reason": "NOT_DELIVERED", "description": "race", "channel": "EMAIL", "requestedAmount": { "amount": "40.00", "currency": "EUR" } } })).await;
        }
    }
}

/// What a race did.
pub struct RaceReport {
    pub operations: usize,
    pub elapsed: Duration,
}

/// Creates the race's orders through `app`, then runs the race through the
/// GraphQL endpoints at `urls` (servers on `app`'s database).
pub async fn run(app: &TestApp, urls: Vec<String>) -> RaceReport {
    let shop = app.staff(&[Role::Integration]).await;
    let mut orders = Vec::new();
    for i in 0..ORDERS {
        orders.push(
            app.delivered_order(&shop.token, &format!("SO-INV{i}"), "100.00", None)
                .await,
        );
    }
    let client = Arc::new(Client {
        http: reqwest::Client::new(),
        urls,
        agent: app.staff(&[Role::SupportAgent]).await.token,
        manager: app.staff(&[Role::RefundManager]).await.token,
        finance: app.staff(&[Role::Finance]).await.token,
    });
    let orders = Arc::new(orders);
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS as u64)
        .map(|t| tokio::spawn(worker(t, client.clone(), orders.clone(), done.clone())))
        .collect();
    for t in tasks {
        t.await.expect("worker");
    }
    RaceReport {
        operations: done.load(Ordering::SeqCst),
        elapsed: started.elapsed(),
    }
}

async fn sum_by_order(db: &Db, sql: &str) -> HashMap<String, i64> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("sums");
    rows.into_iter()
        .map(|r| {
            let id: uuid::Uuid = r.try_get("", "order_id").expect("order id");
            let n: i64 = r.try_get("", "n").expect("sum");
            (id.to_string(), n)
        })
        .collect()
}

/// Asserts the invariant for every order; returns a one-line summary.
pub async fn check_invariant(db: &Db) -> String {
    let cast = match db.get_database_backend() {
        sea_orm::DbBackend::MySql => "SIGNED",
        _ => "BIGINT",
    };
    let live = sum_by_order(db, &format!("SELECT order_id, CAST(SUM(amount_minor) AS {cast}) AS n FROM payouts WHERE status IN ('PENDING','SENT','SETTLED') GROUP BY order_id")).await;
    let charged = sum_by_order(db, &format!("SELECT order_id, CAST(SUM(amount_minor) AS {cast}) AS n FROM chargebacks WHERE status IN ('OPEN','LOST') GROUP BY order_id")).await;
    assert!(!live.is_empty(), "the race created payouts");
    for (order, paid) in &live {
        let cb = charged.get(order).copied().unwrap_or(0);
        assert!(
            *paid <= ORDER_TOTAL_MINOR,
            "{order}: live payouts {paid} exceed the total"
        );
        assert!(
            paid + cb <= ORDER_TOTAL_MINOR,
            "{order}: payouts {paid} + chargebacks {cb} exceed the total"
        );
    }
    let retries = sum_by_order(db, &format!("SELECT order_id, CAST(COUNT(*) AS {cast}) AS n FROM payouts WHERE retry_of_id IS NOT NULL GROUP BY order_id")).await;
    format!(
        "{} orders with live payouts, {} with retries, {} with chargebacks",
        live.len(),
        retries.len(),
        charged.len()
    )
}
