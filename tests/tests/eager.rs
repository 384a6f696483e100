//! Objects resolved eagerly (`api/src/graphql/eager.rs`) answer exactly as
//! async-graphql's own resolution does: fragments, aliases, repeated keys,
//! `__typename`, `@skip`/`@include`, guarded fields and their error paths,
//! and loaders that still batch. Claims on a page are eager; `claim(id)` is
//! resolved the stock way, so the two are compared field for field.

use serde_json::{json, Value};
use tests::TestApp;

use api::domain::Role;

/// One selection with every feature the eager path must replay.
const SELECTION: &str = "
    ...claimBits
    __typename
    kind: __typename
    ... on RefundClaim { reason version }
    ... { description }
    amt: requestedAmount { amount }
    requestedAmount { currency __typename }
    order { number }
    order { total { ...money } customer { email } activation { status } }
    payouts { status }
    payouts { amount { amount } }
    hidden: id @skip(if: true)
    shown: id @include(if: true)
    gone: status @include(if: false)
    eligibility { outcome ... on EligibilityAssessment { rule } }
    assignee { name }
    approvedAmount { amount }
";
const FRAGMENTS: &str = "
    fragment money on Money { amount currency }
    fragment claimBits on RefundClaim { id status requestedAmount { ...money } }
";

/// A server with three claims (one approved and paid out), and a refund
/// manager to read them.
async fn three_claims() -> (TestApp, tests::Staff) {
    let app = TestApp::spawn(tests::Backend::Sqlite).await;
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let manager = app.staff(&[Role::RefundManager]).await;
    for i in 0..3 {
        let delivered = (i != 1).then_some("2026-02-02T00:00:00Z");
        let order = app
            .delivered_order(&shop.token, &format!("SO-EAGER{i}"), "30.00", delivered)
            .await;
        let body = app
            .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_WORKING", "description": format!("claim {i}"), "channel": "EMAIL", "submittedAt": "2026-02-03T00:00:00Z" }))
            .await;
        let id = body["data"]["submitClaim"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        if i == 0 {
            let body = app
                .approve(
                    &manager.token,
                    json!({ "claimId": id, "overrideReason": "goodwill" }),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
        }
    }
    (app, manager)
}

/// The claims page's nodes under `selection` (and `fragments`), without errors.
async fn page_nodes(app: &TestApp, token: &str, selection: &str, fragments: &str) -> Vec<Value> {
    let q = format!("{{ claims(first: 10) {{ nodes {{ {selection} }} }} }} {fragments}");
    let body = app.graphql(&q, json!({}), Some(token)).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["claims"]["nodes"].as_array().unwrap().clone()
}

/// One claim through `claim(id)`, the stock resolution, without errors.
async fn one_claim(
    app: &TestApp,
    token: &str,
    id: &Value,
    selection: &str,
    fragments: &str,
) -> Value {
    let q = format!("query($id: ID!) {{ claim(id: $id) {{ {selection} }} }} {fragments}");
    let body = app.graphql(&q, json!({ "id": id }), Some(token)).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["claim"].clone()
}

#[tokio::test]
async fn eager_claims_answer_as_the_stock_resolution_does() {
    let (app, manager) = three_claims().await;
    let nodes = page_nodes(&app, &manager.token, SELECTION, FRAGMENTS).await;
    assert_eq!(nodes.len(), 3);
    for node in &nodes {
        let one = one_claim(&app, &manager.token, &node["id"], SELECTION, FRAGMENTS).await;
        assert_eq!(node, &one, "eager and stock differ");
        // And what the selection means, so both cannot be wrong alike.
        assert_eq!(node["__typename"], "RefundClaim");
        assert_eq!(node["kind"], "RefundClaim");
        assert_eq!(node["shown"], node["id"]);
        assert!(node.get("hidden").is_none() && node.get("gone").is_none());
        assert_eq!(node["amt"]["amount"], "30.00");
        assert_eq!(
            node["requestedAmount"],
            json!({ "amount": "30.00", "currency": "EUR", "__typename": "Money" })
        );
        assert_eq!(node["order"]["total"]["currency"], "EUR");
        assert!(node["order"]["number"]
            .as_str()
            .unwrap()
            .starts_with("SO-EAGER"));
        assert!(node["eligibility"]["rule"].is_string());
        assert!(node["reason"] == "NOT_WORKING" && node["version"].is_number());
    }
    let paid: Vec<&Value> = nodes
        .iter()
        .filter(|n| !n["payouts"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(paid.len(), 1, "{nodes:?}");
    assert_eq!(
        paid[0]["payouts"][0]["amount"]["amount"], paid[0]["approvedAmount"]["amount"],
        "repeated list fields are merged item by item"
    );
    assert!(paid[0]["payouts"][0]["status"].is_string());
}

#[tokio::test]
async fn eager_objects_keep_the_selection_order_even_when_a_loader_answers_last() {
    let (app, manager) = three_claims().await;
    // `events` waits for its DataLoader (the page does not prime it); the
    // other fields are ready at once.
    let q = "{ claims(first: 10) { nodes { events { kind } id order { number } status } } }";
    let text = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&manager.token)
        .json(&json!({ "query": q }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Each node's keys, in order: events, then id, order and status.
    for joint in [
        r#"{"events":["#,
        r#"}],"id":""#,
        r#"","order":{"number":""#,
        r#""},"status":""#,
    ] {
        assert_eq!(
            text.matches(joint).count(),
            3,
            "keys out of selection order at {joint}: {text}"
        );
    }
}

#[tokio::test]
async fn a_guarded_field_inside_an_eager_object_fails_as_it_does_in_a_stock_one() {
    let app = TestApp::spawn(tests::Backend::Sqlite).await;
    let shop = app.staff(&[Role::Integration]).await;
    let mut input = tests::order_input("SO-EAGER-G", "guard@example.com");
    input["placedAt"] = json!("2026-02-01T00:00:00Z");
    input["paidAt"] = json!("2026-02-01T00:00:00Z");
    let order = app.create_order(&shop.token, input).await["id"].clone();
    // Stock: the mutation's own Activation. INTEGRATION may not read credentials.
    let stock = app
        .graphql(
            "mutation($i: RecordActivationInput!){ recordActivation(input: $i) { channel credentials { username } destination } }",
            json!({ "i": { "orderId": order, "channel": "EMAIL", "destination": "guard@example.com", "username": "u" } }),
            Some(&shop.token),
        )
        .await;
    // Eager: the same activation under its order.
    let eager = app
        .graphql(
            "query($id: ID!){ order(id: $id) { activation { channel credentials { username } destination } } }",
            json!({ "id": order }),
            Some(&shop.token),
        )
        .await;
    assert_eq!(
        stock["data"]["recordActivation"], eager["data"]["order"]["activation"],
        "stock {stock}\neager {eager}"
    );
    assert_eq!(
        eager["data"]["order"]["activation"]["destination"],
        "guard@example.com"
    );
    let (stock_error, eager_error) = (&stock["errors"][0], &eager["errors"][0]);
    assert_eq!(stock_error["message"], eager_error["message"]);
    assert_eq!(tests::error_code(&eager), Some("FORBIDDEN"), "{eager}");
    assert_eq!(
        eager_error["path"],
        json!(["order", "activation", "credentials"])
    );
    assert_eq!(
        stock_error["path"],
        json!(["recordActivation", "credentials"])
    );
}

#[tokio::test]
async fn more_pending_fields_than_join_all_polls_inline_all_resolve() {
    // Past 30 futures `join_all` gives each its own waker; every alias of a
    // loader field waits, so this object has 32 pending fields.
    let (app, manager) = three_claims().await;
    let aliases: String = (0..32)
        .map(|i| format!("e{i}: events {{ kind }} "))
        .collect();
    let nodes = page_nodes(&app, &manager.token, &format!("id {aliases}"), "").await;
    assert_eq!(nodes.len(), 3);
    for node in &nodes {
        let one = one_claim(&app, &manager.token, &node["id"], "events { kind }", "").await;
        assert!(!one["events"].as_array().unwrap().is_empty(), "{one}");
        for i in 0..32 {
            assert_eq!(node[format!("e{i}")], one["events"], "alias e{i}");
        }
    }
}
