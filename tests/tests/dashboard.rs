//! The claims dashboard: its SQL statement count does not grow with the page
//! size (every relation goes through a DataLoader).

use serde_json::json;
use tests::TestApp;

use api::domain::Role;

/// The dashboard's page, with everything a row shows.
const CLAIMS_PAGE: &str = "query($n: Int!){ claims(first: $n) { totalCount nodes { id status requestedAmount { amount currency } eligibility { outcome rule suggestedAmount { amount } } order { number total { amount currency } refundable { amount } customer { email } activation { status deliveredAt } } payouts { status amount { amount } } assignee { name } } } }";
/// The page as the reporting issue describes it (no total, no refundable).
const LEAN_PAGE: &str = "query($n: Int!){ claims(first: $n) { edges { cursor node { id status eligibility { outcome rule explanation suggestedAmount { amount } evidenceRequired policyVersion } order { number total { amount currency } customer { email } activation { status deliveredAt } } payouts { status amount { amount } } assignee { id name } } } pageInfo { hasNextPage endCursor } } }";

async fn statements(app: &TestApp) -> u64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("refund_desk_sql_statements_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("statement counter in /metrics")
}

async fn page_cost(app: &TestApp, query: &str, token: &str, n: i64) -> (u64, usize) {
    let before = statements(app).await;
    let body = app.graphql(query, json!({ "n": n }), Some(token)).await;
    let after = statements(app).await;
    assert!(body["errors"].is_null(), "{body}");
    let claims = &body["data"]["claims"];
    let rows = claims["nodes"]
        .as_array()
        .or_else(|| claims["edges"].as_array())
        .unwrap()
        .len();
    (after - before, rows)
}

#[tokio::test]
async fn the_claims_page_costs_the_same_statements_for_10_and_100_rows() {
    tests::on_every_backend(claims_page_cost).await;
}

async fn claims_page_cost(app: TestApp) {
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let manager = app.staff(&[Role::RefundManager]).await;
    for i in 0..24 {
        let delivered = (i % 2 == 0).then_some("2026-02-01T00:00:00Z");
        let order = app
            .delivered_order(&shop.token, &format!("SO-DASH{i}"), "20.00", delivered)
            .await;
        let body = app
            .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "x", "channel": "EMAIL", "submittedAt": "2026-02-03T00:00:00Z" }))
            .await;
        if i % 3 == 0 {
            let id = body["data"]["submitClaim"]["id"].as_str().unwrap();
            app.approve(
                &manager.token,
                json!({ "claimId": id, "overrideReason": "test data" }),
            )
            .await;
        }
    }
    // Some claims have an assignee, some do not.
    let q = "{ claims(first: 100, filter: { status: [SUBMITTED] }) { nodes { id } } }";
    let body = app.graphql(q, json!({}), Some(&manager.token)).await;
    for (i, claim) in body["data"]["claims"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        if i % 2 == 1 {
            let id = claim["id"].as_str().unwrap();
            let body = app
                .graphql(
                    "mutation($c: ID!, $s: ID!){ assignClaim(claimId: $c, assigneeId: $s) { id } }",
                    json!({ "c": id, "s": manager.id }),
                    Some(&manager.token),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
        }
    }
    // One statement authenticates, one reads the page with its joined rows,
    // one the payouts; the full page adds the total and the money figures.
    for (name, query, most) in [("full", CLAIMS_PAGE, 5), ("lean", LEAN_PAGE, 3)] {
        let (ten, rows_ten) = page_cost(&app, query, &manager.token, 10).await;
        let (hundred, rows_hundred) = page_cost(&app, query, &manager.token, 100).await;
        assert_eq!((rows_ten, rows_hundred), (10, 24));
        println!(
            "{:?} {name} claims page: {ten} statements for 10 rows, {hundred} for 24 rows",
            app.backend
        );
        assert_eq!(ten, hundred, "statement count grows with the page size");
        assert!(hundred <= most, "{hundred} statements for one {name} page");
    }
}

#[tokio::test]
async fn customers_with_their_orders_cost_the_same_statements_for_any_page() {
    tests::on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        for c in 0..6 {
            for o in 0..=c {
                let input = tests::order_input(&format!("SO-C{c}-{o}"), &format!("c{c}@example.com"));
                app.create_order(&shop.token, input).await;
            }
        }
        let q = "query($n: Int!){ customers(first: $n) { nodes { email orders(first: 2) { totalCount pageInfo { hasNextPage } nodes { number } } } } }";
        let cost = |n: i64| {
            let app = &app;
            let token = shop.token.clone();
            async move {
                let before = statements(app).await;
                let body = app.graphql(q, json!({ "n": n }), Some(&token)).await;
                (statements(app).await - before, body)
            }
        };
        let (two, _) = cost(2).await;
        let (six, body) = cost(6).await;
        assert_eq!(two, six, "{:?}: statements grow with the number of customers", app.backend);
        let nodes = body["data"]["customers"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
        // Newest customer first: c5 has 6 orders, newest first, two per page.
        assert_eq!(nodes[0]["email"], "c5@example.com");
        assert_eq!(nodes[0]["orders"]["totalCount"], 6);
        assert_eq!(nodes[0]["orders"]["pageInfo"]["hasNextPage"], true);
        assert_eq!(nodes[0]["orders"]["nodes"], json!([{ "number": "SO-C5-5" }, { "number": "SO-C5-4" }]));
        assert_eq!(nodes[5]["orders"]["totalCount"], 1);
        assert_eq!(nodes[5]["orders"]["pageInfo"]["hasNextPage"], false);
    })
    .await;
}
