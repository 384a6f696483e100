//! The claims dashboard: its SQL statement count does not grow with the page
//! size (every relation goes through a DataLoader).

use serde_json::json;
use tests::{Backend, TestApp};

use api::domain::Role;

const CLAIMS_PAGE: &str = "query($n: Int!){ claims(first: $n) { totalCount nodes { id status requestedAmount { amount currency } eligibility { outcome rule suggestedAmount { amount } } order { number total { amount currency } refundable { amount } customer { email } activation { status deliveredAt } } payouts { status amount { amount } } assignee { name } } } }";

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

async fn page_cost(app: &TestApp, token: &str, n: i64) -> (u64, usize) {
    let before = statements(app).await;
    let body = app
        .graphql(CLAIMS_PAGE, json!({ "n": n }), Some(token))
        .await;
    let after = statements(app).await;
    assert!(body["errors"].is_null(), "{body}");
    (
        after - before,
        body["data"]["claims"]["nodes"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn the_claims_page_costs_the_same_statements_for_10_and_100_rows() {
    let app = TestApp::spawn(Backend::Sqlite).await;
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
    let (ten, rows_ten) = page_cost(&app, &manager.token, 10).await;
    let (hundred, rows_hundred) = page_cost(&app, &manager.token, 100).await;
    assert_eq!((rows_ten, rows_hundred), (10, 24));
    println!("claims page: {ten} statements for 10 rows, {hundred} for 24 rows");
    assert_eq!(ten, hundred, "statement count grows with the page size");
    assert!(hundred <= 10, "{hundred} statements for one dashboard page");
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
