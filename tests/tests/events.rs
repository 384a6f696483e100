//! The outbox and its feed: every change writes its events in its own
//! transaction, and a poller that keeps its cursor sees every event exactly
//! once, even while two `serve` processes commit concurrently.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::domain::Role;
use api::service::faults::{Fault, FaultPlan};
use serde_json::{json, Value};
use tests::process::ServerProcess;
use tests::{assert_error, backends, fresh_database, settings_for, Backend, TestApp};

const BINARY: &str = env!("CARGO_BIN_EXE_server-under-test");

const FEED: &str = "query($after: String) { events(first: 100, after: $after) { nodes { id sequence type subjectType subjectId source actor { id } data } pageInfo { endCursor hasNextPage } } }";

/// Reads the feed from `cursor` until it is empty; returns the events and
/// moves the cursor on.
async fn drain(app: &TestApp, token: &str, cursor: &mut Option<String>) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let body = app
            .graphql(FEED, json!({ "after": cursor }), Some(token))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let page = &body["data"]["events"];
        let nodes = page["nodes"].as_array().unwrap().clone();
        if let Some(end) = page["pageInfo"]["endCursor"].as_str() {
            *cursor = Some(end.to_string());
        }
        let more = page["pageInfo"]["hasNextPage"] == true;
        out.extend(nodes);
        if !more {
            return out;
        }
    }
}

/// Waits until the feed holds exactly `types` (in any order: the order
/// within a change is not promised) after `cursor`, and nothing more a
/// little later.
async fn expect_events(
    app: &TestApp,
    token: &str,
    cursor: &mut Option<String>,
    types: &[&str],
) -> Vec<Value> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < types.len() && Instant::now() < deadline {
        got.extend(drain(app, token, cursor).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Three polls more: nothing else may come.
    tokio::time::sleep(Duration::from_millis(350)).await;
    got.extend(drain(app, token, cursor).await);
    let mut seen: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let mut want = types.to_vec();
    seen.sort_unstable();
    want.sort_unstable();
    assert_eq!(
        seen,
        want,
        "{:?}: {}",
        app.backend,
        Value::Array(got.clone())
    );
    got
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

struct Cast {
    admin: tests::Staff,
    shop: tests::Staff,
    agent: tests::Staff,
    manager: tests::Staff,
    finance: tests::Staff,
}

async fn cast(app: &TestApp) -> Cast {
    Cast {
        admin: app.staff(&[Role::Admin]).await,
        shop: app.staff(&[Role::Integration]).await,
        agent: app.staff(&[Role::SupportAgent]).await,
        manager: app.staff(&[Role::RefundManager]).await,
        finance: app.staff(&[Role::Finance]).await,
    }
}

#[tokio::test]
async fn every_change_writes_its_events_and_replays_write_none() {
    for backend in backends() {
        let plan = Arc::new(FaultPlan::default());
        let mut settings = settings_for(fresh_database(backend).await);
        settings.faults = Some(plan.clone());
        let app = TestApp::spawn_with(backend, settings).await;
        let c = cast(&app).await;
        let t = c.admin.token.clone();
        let mut cursor = None;

        // Orders: created (and paid), a retry of the same order writes nothing.
        let input = tests::order_input("SO-EV1", "events@example.com");
        let order = app.create_order(&c.shop.token, input.clone()).await;
        let evs = expect_events(&app, &t, &mut cursor, &["ORDER_CREATED", "ORDER_PAID"]).await;
        let created = of_type(&evs, "ORDER_CREATED");
        assert_eq!(created["subjectType"], "order");
        assert_eq!(created["subjectId"], order["id"]);
        assert_eq!(created["source"], "staff");
        assert_eq!(created["actor"]["id"], c.shop.id.as_str());
        assert_eq!(created["data"]["number"], "SO-EV1");
        assert_eq!(
            created["data"]["total"],
            json!({ "amount": "29.99", "currency": "EUR" })
        );
        assert_eq!(created["data"]["status"], "PAID");
        app.create_order(&c.shop.token, input).await;
        expect_events(&app, &t, &mut cursor, &[]).await;
        let mut pending = tests::order_input("SO-EV2", "events@example.com");
        pending["paidAt"] = Value::Null;
        let pending = app.create_order(&c.shop.token, pending).await;
        expect_events(&app, &t, &mut cursor, &["ORDER_CREATED"]).await;
        let paid = app
            .graphql("mutation($o: ID!){ markOrderPaid(orderId: $o, paidAt: \"2026-11-02T00:00:00Z\") { id } }", json!({ "o": pending["id"] }), Some(&c.shop.token))
            .await;
        assert!(paid["errors"].is_null(), "{paid}");
        expect_events(&app, &t, &mut cursor, &["ORDER_PAID"]).await;

        // An activation with credentials: delivered, and no secret in the data.
        let delivered = app
            .delivered_order(
                &c.shop.token,
                "SO-EV3",
                "28.00",
                Some("2026-02-01T00:00:00Z"),
            )
            .await;
        let evs = expect_events(
            &app,
            &t,
            &mut cursor,
            &["ORDER_CREATED", "ORDER_PAID", "ACTIVATION_DELIVERED"],
        )
        .await;
        let data = of_type(&evs, "ACTIVATION_DELIVERED")["data"].to_string();
        assert!(
            !data.contains("credentials") && !data.contains("\"u\""),
            "{data}"
        );

        // A claim through its life.
        let claim = app
            .submit_claim(&c.agent.token, json!({ "orderId": delivered, "reason": "NOT_WORKING", "description": "stops", "channel": "EMAIL", "submittedAt": "2026-02-03T00:00:00Z" }))
            .await;
        let id = claim["data"]["submitClaim"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let evs = expect_events(&app, &t, &mut cursor, &["CLAIM_SUBMITTED"]).await;
        let data = &evs[0]["data"];
        assert_eq!(data["status"], "SUBMITTED");
        assert_eq!(
            data["eligibility"]["rule"],
            "DISCRETIONARY_AFTER_ACTIVATION"
        );
        assert_eq!(data["orderId"], json!(delivered));
        for (op, args, kind) in [
            ("assignClaim", format!("claimId: \"{id}\", assigneeId: \"{}\"", c.manager.id), "CLAIM_ASSIGNED"),
            ("requestClaimInfo", format!("claimId: \"{id}\", message: \"a screenshot, please\""), "CLAIM_INFO_REQUESTED"),
            ("addClaimEvidence", format!("claimId: \"{id}\", input: {{ kind: SCREENSHOT, url: \"https://files.example/s.png\" }}"), "CLAIM_EVIDENCE_ADDED"),
            ("addClaimNote", format!("claimId: \"{id}\", note: \"checked the logs\""), "CLAIM_NOTE_ADDED"),
        ] {
            let body = app.claim_op(&c.agent.token, op, &args).await;
            assert!(body["errors"].is_null(), "{op}: {body}");
            expect_events(&app, &t, &mut cursor, &[kind]).await;
        }
        // A failed approval (injected after its first write) writes nothing.
        plan.arm("claim.approve", Fault::Fail);
        let failed = app
            .approve(&c.manager.token, json!({ "claimId": id }))
            .await;
        assert_error(&failed, "INTERNAL_SERVER_ERROR");
        expect_events(&app, &t, &mut cursor, &[]).await;
        plan.disarm("claim.approve");
        let body = app
            .approve(
                &c.manager.token,
                json!({ "claimId": id, "idempotencyKey": "approve-ev" }),
            )
            .await;
        let payout = body["data"]["approveClaim"]["payouts"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let evs = expect_events(&app, &t, &mut cursor, &["CLAIM_APPROVED", "PAYOUT_CREATED"]).await;
        assert_eq!(
            of_type(&evs, "PAYOUT_CREATED")["data"]["claimId"],
            json!(id)
        );
        // The same idempotency key again: a replay, no events.
        app.approve(
            &c.manager.token,
            json!({ "claimId": id, "idempotencyKey": "approve-ev" }),
        )
        .await;
        expect_events(&app, &t, &mut cursor, &[]).await;
        let sent = app
            .graphql("mutation($p: ID!){ markPayoutSent(payoutId: $p, externalReference: \"re_1\") { id } }", json!({ "p": payout }), Some(&c.finance.token))
            .await;
        assert!(sent["errors"].is_null(), "{sent}");
        expect_events(&app, &t, &mut cursor, &["PAYOUT_SENT"]).await;
        let settled = app
            .graphql(
                "mutation($p: ID!){ markPayoutSettled(payoutId: $p) { id } }",
                json!({ "p": payout }),
                Some(&c.finance.token),
            )
            .await;
        assert!(settled["errors"].is_null(), "{settled}");
        let evs = expect_events(&app, &t, &mut cursor, &["PAYOUT_SETTLED", "CLAIM_REFUNDED"]).await;
        assert_eq!(
            of_type(&evs, "CLAIM_REFUNDED")["data"]["status"],
            "REFUNDED"
        );

        // Rejected and withdrawn claims.
        let other = app
            .delivered_order(&c.shop.token, "SO-EV4", "20.00", None)
            .await;
        expect_events(&app, &t, &mut cursor, &["ORDER_CREATED", "ORDER_PAID"]).await;
        let submit = json!({ "orderId": other, "reason": "NOT_DELIVERED", "description": "x", "channel": "EMAIL" });
        let first = app.submit_claim(&c.agent.token, submit.clone()).await["data"]["submitClaim"]
            ["id"]
            .as_str()
            .unwrap()
            .to_string();
        let rejected = app
            .graphql("mutation($c: ID!){ rejectClaim(input: { claimId: $c, reason: OTHER, note: \"no\" }) { id } }", json!({ "c": first }), Some(&c.manager.token))
            .await;
        assert!(rejected["errors"].is_null(), "{rejected}");
        expect_events(
            &app,
            &t,
            &mut cursor,
            &["CLAIM_SUBMITTED", "CLAIM_REJECTED"],
        )
        .await;
        let second = app.submit_claim(&c.agent.token, submit).await["data"]["submitClaim"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let withdrawn = app
            .claim_op(
                &c.agent.token,
                "withdrawClaim",
                &format!("claimId: \"{second}\", note: \"resolved\""),
            )
            .await;
        assert!(withdrawn["errors"].is_null(), "{withdrawn}");
        expect_events(
            &app,
            &t,
            &mut cursor,
            &["CLAIM_SUBMITTED", "CLAIM_WITHDRAWN"],
        )
        .await;

        // A chargeback without prior contact: its effects each have their event.
        let third = app.submit_claim(&c.agent.token, json!({ "orderId": other, "reason": "NOT_DELIVERED", "description": "x", "channel": "EMAIL", "submittedAt": "2026-11-20T00:00:00Z" })).await;
        assert!(third["errors"].is_null(), "{third}");
        expect_events(&app, &t, &mut cursor, &["CLAIM_SUBMITTED"]).await;
        let cb = app
            .graphql("mutation($o: ID!){ recordChargeback(input: { orderId: $o, amount: { amount: \"20.00\", currency: \"EUR\" }, reasonCode: \"fraud\", providerReference: \"dp_ev\", openedAt: \"2026-02-02T00:00:00Z\" }) { id } }", json!({ "o": other }), Some(&c.finance.token))
            .await;
        let cb_id = cb["data"]["recordChargeback"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        expect_events(
            &app,
            &t,
            &mut cursor,
            &["CHARGEBACK_OPENED", "CLAIM_REJECTED", "CUSTOMER_RESTRICTED"],
        )
        .await;
        // The same providerReference again is a replay.
        app.graphql("mutation($o: ID!){ recordChargeback(input: { orderId: $o, amount: { amount: \"20.00\", currency: \"EUR\" }, reasonCode: \"fraud\", providerReference: \"dp_ev\", openedAt: \"2026-02-02T00:00:00Z\" }) { id } }", json!({ "o": other }), Some(&c.finance.token)).await;
        expect_events(&app, &t, &mut cursor, &[]).await;
        app.graphql(
            "mutation($c: ID!){ resolveChargeback(chargebackId: $c, outcome: WON) { id } }",
            json!({ "c": cb_id }),
            Some(&c.finance.token),
        )
        .await;
        expect_events(&app, &t, &mut cursor, &["CHARGEBACK_RESOLVED"]).await;
        let customer = app
            .graphql(
                "query($o: ID!){ order(id: $o) { customer { id } } }",
                json!({ "o": other }),
                Some(&t),
            )
            .await;
        let customer = customer["data"]["order"]["customer"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let lifted = app.graphql("mutation($c: ID!){ liftCustomerRestriction(customerId: $c, note: \"bank confirmed\") { id } }", json!({ "c": customer }), Some(&t)).await;
        assert!(lifted["errors"].is_null(), "{lifted}");
        expect_events(&app, &t, &mut cursor, &["CUSTOMER_RESTRICTION_LIFTED"]).await;

        // A policy with a threshold: the first approval waits for a second.
        let publish = app.graphql("mutation($i: PublishPolicyInput!){ publishPolicyVersion(input: $i) { version } }", json!({ "i": { "lastUpdated": "2026-11-29", "refundWindowDays": 7, "excludedReasonsAfterActivation": [], "evidenceRequiredReasons": [], "dualApprovalThreshold": { "amount": "1.00", "currency": "EUR" }, "chargebackWithoutContactAction": "SUSPEND", "payoutBusinessDaysMin": 3, "payoutBusinessDaysMax": 10, "text": "v2" } }), Some(&t)).await;
        assert!(publish["errors"].is_null(), "{publish}");
        expect_events(&app, &t, &mut cursor, &["POLICY_PUBLISHED"]).await;
        let big = app
            .delivered_order(&c.shop.token, "SO-EV5", "20.00", None)
            .await;
        let claim = app.submit_claim(&c.agent.token, json!({ "orderId": big, "reason": "NOT_DELIVERED", "description": "x", "channel": "EMAIL" })).await;
        let claim = claim["data"]["submitClaim"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        expect_events(
            &app,
            &t,
            &mut cursor,
            &["ORDER_CREATED", "ORDER_PAID", "CLAIM_SUBMITTED"],
        )
        .await;
        app.approve(&c.manager.token, json!({ "claimId": claim }))
            .await;
        expect_events(&app, &t, &mut cursor, &["CLAIM_AWAITING_SECOND_APPROVAL"]).await;
    }
}

#[tokio::test]
async fn the_feed_is_for_admin_and_integration_and_filters_by_type_and_subject() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shop = app.staff(&[Role::Integration]).await;
    for role in [
        Role::RefundManager,
        Role::Finance,
        Role::SupportAgent,
        Role::Analyst,
    ] {
        let staff = app.staff(&[role]).await;
        assert_error(
            &app.graphql("{ events { nodes { id } } }", json!({}), Some(&staff.token))
                .await,
            "FORBIDDEN",
        );
    }
    let a = app
        .create_order(&shop.token, tests::order_input("SO-F1", "f@example.com"))
        .await;
    app.create_order(&shop.token, tests::order_input("SO-F2", "f@example.com"))
        .await;
    let q = "query($t: [EventType!], $s: ID){ events(types: $t, subjectId: $s) { nodes { type subjectId } } }";
    let mut body = Value::Null;
    for _ in 0..50 {
        body = app
            .graphql(
                q,
                json!({ "t": ["ORDER_PAID"], "s": a["id"] }),
                Some(&shop.token),
            )
            .await;
        if !body["data"]["events"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        body["data"]["events"]["nodes"],
        json!([{ "type": "ORDER_PAID", "subjectId": a["id"] }]),
        "{body}"
    );
    // Not base64, base64 of something else, a negative number.
    for bad in ["not a cursor", "YWJj", "ZXY6LTE", ""] {
        let body = app
            .graphql(
                "query($a: String){ events(after: $a) { nodes { id } } }",
                json!({ "a": bad }),
                Some(&shop.token),
            )
            .await;
        assert_error(&body, "BAD_USER_INPUT");
    }
    assert_error(
        &app.graphql(
            "{ events(first: 101) { nodes { id } } }",
            json!({}),
            Some(&shop.token),
        )
        .await,
        "BAD_USER_INPUT",
    );
}

/// Creates orders through `url` as fast as it can for `run`.
async fn writer(
    client: reqwest::Client,
    url: String,
    token: String,
    prefix: String,
    run: Duration,
) -> usize {
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < run {
        let input = tests::order_input(&format!("{prefix}-{n}"), &format!("{prefix}@example.com"));
        let res = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({ "query": tests::CREATE_ORDER, "variables": { "i": input } }))
            .send()
            .await;
        if let Ok(res) = res {
            let body: Value = res.json().await.unwrap_or_default();
            if body["errors"].is_null() {
                n += 1;
            }
        }
    }
    n
}

#[tokio::test]
async fn a_poller_keeping_its_cursor_sees_every_event_once_while_two_processes_write() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let shop = app.staff(&[Role::Integration]).await;
        let reader = app.staff(&[Role::Admin]).await;
        let a = ServerProcess::start(BINARY, &app.database_url);
        let b = ServerProcess::start(BINARY, &app.database_url);
        let run = Duration::from_secs(4);
        let mut writers = Vec::new();
        for (i, url) in [a.url("/graphql"), b.url("/graphql")]
            .into_iter()
            .cycle()
            .take(8)
            .enumerate()
        {
            writers.push(tokio::spawn(writer(
                app.client.clone(),
                url,
                shop.token.clone(),
                format!("SO-W{i}"),
                run,
            )));
        }
        // The poller reads through one process while both write.
        let mut seen: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        let poller_url = a.url("/graphql");
        let started = Instant::now();
        let mut written = None;
        loop {
            let body: Value = app
                .client
                .post(&poller_url)
                .bearer_auth(&reader.token)
                .json(&json!({ "query": FEED, "variables": { "after": cursor } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let page = &body["data"]["events"];
            seen.extend(page["nodes"].as_array().unwrap().iter().cloned());
            if let Some(end) = page["pageInfo"]["endCursor"].as_str() {
                cursor = Some(end.to_string());
            }
            if written.is_none() && writers.iter().all(|w| w.is_finished()) {
                let mut total = 0;
                for w in writers.drain(..) {
                    total += w.await.unwrap();
                }
                written = Some(total);
            }
            // Done once every event of the table has been seen (each order
            // writes two), or give up after a while.
            if let Some(total) = written {
                if seen.len() >= total * 2 || started.elapsed() > run + Duration::from_secs(20) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let total = written.unwrap();
        assert!(total > 20, "{backend:?}: only {total} orders were written");
        let table = app.count("events").await as usize;
        let ids: Vec<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(
            ids.len(),
            unique.len(),
            "{backend:?}: an event was seen twice"
        );
        assert_eq!(
            unique.len(),
            table,
            "{backend:?}: the poller missed events ({} of {table})",
            unique.len()
        );
        assert_eq!(
            table,
            total * 2,
            "{backend:?}: each order wrote its two events"
        );
        let sequences: Vec<i64> = seen
            .iter()
            .map(|e| e["sequence"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(
            sequences.windows(2).all(|w| w[0] < w[1]),
            "{backend:?}: sequences grow"
        );
        // Both processes numbered events (the sequencer runs everywhere).
        let by_type: BTreeMap<&str, usize> = seen.iter().fold(BTreeMap::new(), |mut m, e| {
            *m.entry(e["type"].as_str().unwrap()).or_default() += 1;
            m
        });
        assert_eq!(by_type.get("ORDER_CREATED"), Some(&total), "{backend:?}");
        println!("{backend:?}: {total} orders, {table} events, polled through one of two writing processes");
    }
}
