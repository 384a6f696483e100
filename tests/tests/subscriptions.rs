//! Live updates over `graphql-transport-ws` with a real WebSocket client:
//! authorization and close codes, limits, `events` and `claimUpdated`, and a
//! change made through one process reaching a subscriber on another.

use std::time::{Duration, Instant};

use api::domain::Role;
use serde_json::{json, Value};
use tests::process::ServerProcess;
use tests::ws::{Received, WsClient};
use tests::{backends, Backend, TestApp};
use tokio_tungstenite::tungstenite::Message;

const BINARY: &str = env!("CARGO_BIN_EXE_server-under-test");
const EVENTS: &str =
    "subscription($t: [EventType!]) { events(types: $t) { id type subjectId source data } }";
const CLAIMS: &str = "subscription($s: [ClaimStatus!]) { claimUpdated(status: $s) { id status version customer { email } } }";
const WAIT: Duration = Duration::from_secs(3);

fn closed_with(received: Received, code: u16) {
    match received {
        Received::Closed(c, _) => assert_eq!(c, code, "closed with {c}, not {code}"),
        other => panic!("expected close {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_socket_without_a_valid_token_is_closed_4403() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let staff = app.staff(&[Role::Admin]).await;
    for payload in [
        json!({}),
        json!({ "authorization": "Bearer not-a-token" }),
        json!({ "authorization": staff.token }),
        json!(null),
    ] {
        let mut ws = WsClient::connect(&app.address).await;
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        closed_with(ws.receive(WAIT).await, 4403);
    }
    // Subscribing before the handshake is unauthorized.
    let mut ws = WsClient::connect(&app.address).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    closed_with(ws.receive(WAIT).await, 4401);
}

#[tokio::test]
async fn no_connection_init_within_ten_seconds_is_closed_4408() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut ws = WsClient::connect(&app.address).await;
    let started = Instant::now();
    // A ping is answered, but does not count as the handshake.
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(
        ws.receive(WAIT).await,
        Received::Message(json!({ "type": "pong" }))
    );
    closed_with(ws.receive(Duration::from_secs(15)).await, 4408);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(13),
        "{took:?}"
    );
}

#[tokio::test]
async fn garbage_duplicate_ids_and_second_inits_close_the_socket() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    for frame in [
        Message::Text("not json".into()),
        Message::Text("{\"type\":\"bogus\"}".into()),
        Message::Text("{\"type\":\"subscribe\"}".into()),
        Message::Binary(vec![1, 2, 3].into()),
        Message::Text(
            format!(
                "{{\"type\":\"ping\",\"payload\":\"{}\"}}",
                "x".repeat(70 * 1024)
            )
            .into(),
        ),
    ] {
        let mut ws = WsClient::connected(&app.address, &admin.token).await;
        ws.send_raw(frame.clone()).await;
        match ws.receive(WAIT).await {
            Received::Closed(code, _) => assert!(code == 4400 || code == 1009, "{frame:?}: {code}"),
            other => panic!("{frame:?}: {other:?}"),
        }
    }
    let mut ws = WsClient::connected(&app.address, &admin.token).await;
    ws.subscribe("a", EVENTS, json!({})).await;
    ws.subscribe("a", EVENTS, json!({})).await;
    closed_with(ws.receive(WAIT).await, 4409);
    let mut ws = WsClient::connected(&app.address, &admin.token).await;
    ws.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", admin.token) } })).await;
    closed_with(ws.receive(WAIT).await, 4429);
}

#[tokio::test]
async fn only_subscriptions_within_the_limits_and_twenty_per_socket() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let finance = app.staff(&[Role::Finance]).await;
    let mut ws = WsClient::connected(&app.address, &admin.token).await;
    let refusals = [
        ("q", "{ me { id } }".to_string()),
        ("m", "mutation { logout }".to_string()),
        ("v", "subscription { nope }".to_string()),
        (
            "c",
            format!(
                "subscription {{ events {{ {} }} }}",
                (0..150)
                    .map(|i| format!("a{i}: id"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ),
    ];
    for (id, query) in &refusals {
        ws.subscribe(id, query, json!({})).await;
        match ws.receive(WAIT).await {
            Received::Message(m) => {
                assert_eq!(m["type"], "error", "{id}: {m}");
                assert_eq!(m["id"], *id);
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    // A role that may not read events is refused per subscription.
    let mut ws_finance = WsClient::connected(&app.address, &finance.token).await;
    ws_finance.subscribe("e", EVENTS, json!({})).await;
    match ws_finance.receive(WAIT).await {
        Received::Message(m) => {
            assert!(m["type"] == "next" || m["type"] == "error", "{m}");
            assert_eq!(
                m["payload"]["errors"][0]["extensions"]["code"]
                    .as_str()
                    .or(m["payload"][0]["extensions"]["code"].as_str()),
                Some("FORBIDDEN"),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
    for i in 0..20 {
        ws.subscribe(&format!("s{i}"), EVENTS, json!({})).await;
    }
    ws.subscribe("s20", EVENTS, json!({})).await;
    match ws.receive(WAIT).await {
        Received::Message(m) => {
            assert_eq!(
                (m["type"].as_str(), m["id"].as_str()),
                (Some("error"), Some("s20")),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Completing one frees a place.
    ws.send(json!({ "type": "complete", "id": "s0" })).await;
    ws.subscribe("s20", EVENTS, json!({})).await;
    assert_eq!(
        ws.receive(Duration::from_millis(500)).await,
        Received::Nothing
    );
}

#[tokio::test]
async fn events_arrive_live_and_claim_updates_once_per_change_masked_for_analysts() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let manager = app.staff(&[Role::RefundManager]).await;
    let analyst = app.staff(&[Role::Analyst]).await;
    let mut events = WsClient::connected(&app.address, &shop.token).await;
    events
        .subscribe(
            "ev",
            EVENTS,
            json!({ "t": ["CLAIM_APPROVED", "ORDER_CREATED"] }),
        )
        .await;
    let mut claims = WsClient::connected(&app.address, &analyst.token).await;
    claims
        .subscribe("cl", CLAIMS, json!({ "s": ["APPROVED"] }))
        .await;
    let mut everything = WsClient::connected(&app.address, &manager.token).await;
    everything.subscribe("all", CLAIMS, json!({})).await;
    // INTEGRATION may not read claims.
    let mut shop_claims = WsClient::connected(&app.address, &shop.token).await;
    shop_claims.subscribe("x", CLAIMS, json!({})).await;
    let refused = shop_claims.receive(WAIT).await;
    assert!(
        refused.clone() != Received::Nothing && format!("{refused:?}").contains("FORBIDDEN"),
        "{refused:?}"
    );

    let order = app
        .delivered_order(&shop.token, "SO-LIVE", "20.00", None)
        .await;
    let created = events
        .next_payload("ev", WAIT)
        .await
        .expect("ORDER_CREATED live");
    assert_eq!(created["data"]["events"]["type"], "ORDER_CREATED");
    assert_eq!(created["data"]["events"]["subjectId"], json!(order));
    let body = app
        .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "x", "channel": "EMAIL" }))
        .await;
    let claim = body["data"]["submitClaim"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let submitted = everything
        .next_payload("all", WAIT)
        .await
        .expect("submitted");
    assert_eq!(submitted["data"]["claimUpdated"]["status"], "SUBMITTED");
    // Approving writes CLAIM_APPROVED and PAYOUT_CREATED: one update.
    app.approve(&manager.token, json!({ "claimId": claim }))
        .await;
    let approved = everything
        .next_payload("all", WAIT)
        .await
        .expect("approved");
    assert_eq!(
        approved["data"]["claimUpdated"]["status"], "APPROVED",
        "{approved}"
    );
    assert_eq!(
        everything.receive(Duration::from_millis(700)).await,
        Received::Nothing,
        "once per change"
    );
    // The analyst's filtered subscription saw only the approval, masked.
    let seen = claims
        .next_payload("cl", WAIT)
        .await
        .expect("analyst update");
    assert_eq!(seen["data"]["claimUpdated"]["status"], "APPROVED");
    assert_eq!(
        seen["data"]["claimUpdated"]["customer"]["email"], "c***@example.com",
        "{seen}"
    );
    let live = events
        .next_payload("ev", WAIT)
        .await
        .expect("CLAIM_APPROVED live");
    assert_eq!(live["data"]["events"]["type"], "CLAIM_APPROVED");
    assert_eq!(live["data"]["events"]["source"], "staff");
    assert_eq!(live["data"]["events"]["data"]["status"], "APPROVED");
}

#[tokio::test]
async fn a_revoked_token_ends_the_socket_within_ten_seconds() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let mut ws = WsClient::connected(&app.address, &admin.token).await;
    ws.subscribe("ev", EVENTS, json!({})).await;
    let logout = app
        .graphql("mutation { logout }", json!({}), Some(&admin.token))
        .await;
    assert_eq!(logout["data"]["logout"], true);
    let started = Instant::now();
    closed_with(ws.receive(Duration::from_secs(12)).await, 4403);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_change_on_one_process_reaches_a_subscriber_on_another() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let shop = app.staff(&[Role::Integration]).await;
        let listener = ServerProcess::start(BINARY, &app.database_url);
        let writer = ServerProcess::start(BINARY, &app.database_url);
        let mut ws = WsClient::connected(&listener.address, &shop.token).await;
        ws.subscribe("ev", EVENTS, json!({ "t": ["ORDER_CREATED"] }))
            .await;
        // Give the subscription a moment to be registered.
        tokio::time::sleep(Duration::from_millis(200)).await;
        for n in 0..3 {
            let input = tests::order_input(&format!("SO-X{n}"), "x@example.com");
            let started = Instant::now();
            let body: Value = app
                .client
                .post(writer.url("/graphql"))
                .bearer_auth(&shop.token)
                .json(&json!({ "query": tests::CREATE_ORDER, "variables": { "i": input } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = body["data"]["createOrder"]["id"].clone();
            let live = ws.next_payload("ev", Duration::from_secs(2)).await;
            let took = started.elapsed();
            let live = live.unwrap_or_else(|| panic!("{backend:?}: nothing within 2 s"));
            assert_eq!(live["data"]["events"]["subjectId"], id, "{backend:?}");
            println!("{backend:?}: committed on one process, received on the other after {took:?}");
        }
    }
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_and_holds_up_no_one() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let admin = app.staff(&[Role::Admin]).await;
    // Each event carries a 10,000-character description of 3-byte
    // characters, so the transport's buffers fill after a few hundred.
    let query = "subscription { events(types: [CLAIM_SUBMITTED, CLAIM_WITHDRAWN]) { id data } }";
    let mut stuck = WsClient::connected(&app.address, &admin.token).await;
    stuck.subscribe("s", query, json!({})).await;
    let mut reader = WsClient::connected(&app.address, &admin.token).await;
    reader.subscribe("r", query, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.metric("refund_desk_ws_connections").await, 2);
    let order = app
        .delivered_order(&shop.token, "SO-FLOOD", "20.00", None)
        .await;
    let description = "€".repeat(10_000);
    let started = Instant::now();
    let mut received = 0;
    // Claims submitted and withdrawn in turn: two big events each.
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(25) {
        let body = app
            .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": description, "channel": "EMAIL" }))
            .await;
        let claim = body["data"]["submitClaim"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.claim_op(
            &agent.token,
            "withdrawClaim",
            &format!("claimId: \"{claim}\", note: \"again\""),
        )
        .await;
        n += 2;
        // The reader keeps up all along.
        while let Some(_payload) = reader.next_payload("r", Duration::from_millis(1)).await {
            received += 1;
        }
        if app.metric("refund_desk_ws_connections").await == 1 {
            break;
        }
    }
    assert_eq!(
        app.metric("refund_desk_ws_connections").await,
        1,
        "the client that never read is dropped ({n} events in {:?})",
        started.elapsed()
    );
    while let Some(_payload) = reader.next_payload("r", Duration::from_secs(2)).await {
        received += 1;
    }
    assert_eq!(received, n, "the reader got every event");
    drop(stuck);
}
