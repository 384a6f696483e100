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
    app.metric("refund_desk_sql_statements_total").await
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

/// A field of an object type, as introspection describes it.
struct FieldInfo {
    name: String,
    /// The named type under any list or non-null wrappers, and its kind.
    kind: String,
    type_name: String,
    needs_arguments: bool,
}

async fn fields_of(app: &TestApp, token: &str, type_name: &str) -> Vec<FieldInfo> {
    let q = "query($t: String!){ __type(name: $t) { fields { name args { type { kind } defaultValue } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }";
    let body = app.graphql(q, json!({ "t": type_name }), Some(token)).await;
    let fields = body["data"]["__type"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    fields
        .iter()
        .map(|f| {
            let mut ty = &f["type"];
            while ty["name"].is_null() {
                ty = &ty["ofType"];
            }
            FieldInfo {
                name: f["name"].as_str().unwrap().to_string(),
                kind: ty["kind"].as_str().unwrap().to_string(),
                type_name: ty["name"].as_str().unwrap().to_string(),
                needs_arguments: f["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["type"]["kind"] == "NON_NULL" && a["defaultValue"].is_null()),
            }
        })
        .collect()
}

/// How a field is selected: a leaf by name; an object with its own leaves.
async fn select(app: &TestApp, token: &str, field: &FieldInfo) -> String {
    if field.kind != "OBJECT" {
        return field.name.clone();
    }
    let leaves: Vec<String> = fields_of(app, token, &field.type_name)
        .await
        .into_iter()
        .filter(|f| f.kind != "OBJECT" && !f.needs_arguments)
        .map(|f| f.name)
        .collect();
    format!("{} {{ __typename {} }}", field.name, leaves.join(" "))
}

/// An order for its own customer, delivered or not, or without activation.
async fn order_for(app: &TestApp, token: &str, n: u32, activation: Option<Option<&str>>) -> String {
    let mut input = tests::order_input(&format!("SO-EQ{n}"), &format!("eq{n}@example.com"));
    input["placedAt"] = json!("2025-01-01T00:00:00Z");
    input["paidAt"] = json!("2025-01-01T00:05:00Z");
    input["planMonths"] = json!(if n.is_multiple_of(2) { 1 } else { 12 });
    let id = app.create_order(token, input).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    if let Some(delivered_at) = activation {
        let body = app
            .graphql(
                "mutation($i: RecordActivationInput!){ recordActivation(input: $i) { id } }",
                json!({ "i": { "orderId": id, "channel": "EMAIL", "destination": format!("eq{n}@example.com"), "username": "u", "deliveredAt": delivered_at } }),
                Some(token),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    id
}

/// Every field the page can show, at every place the page reads a joined
/// row, reads the same through `claims` (which reads only the columns the
/// selection needs) as through `order(id) { claims }` (whole rows, through
/// loaders), and through `claim(id)` (shaped as the page is).
#[tokio::test]
async fn every_field_reads_the_same_through_the_claims_page_as_through_claim() {
    tests::on_every_backend(page_fields_match_claim).await;
}

async fn page_fields_match_claim(app: TestApp) {
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let manager = app.staff(&[Role::RefundManager]).await;
    let finance = app.staff(&[Role::Finance]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let submit = |order: String, reason: &'static str, at: &'static str| {
        let (app, token) = (&app, agent.token.clone());
        async move {
            let body = app
                .submit_claim(&token, json!({ "orderId": order, "reason": reason, "description": format!("{reason}\nsince the first day"), "channel": "EMAIL", "submittedAt": at }))
                .await;
            body["data"]["submitClaim"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_string()
        }
    };
    let assign = |claim: String, to: String| {
        let (app, token) = (&app, manager.token.clone());
        async move {
            let body = app
                .graphql(
                    "mutation($c: ID!, $s: ID!){ assignClaim(claimId: $c, assigneeId: $s) { id } }",
                    json!({ "c": claim, "s": to }),
                    Some(&token),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
        }
    };
    // Approved with a note and an override, assigned, paid out.
    let o1 = order_for(&app, &shop.token, 1, Some(Some("2025-01-02T00:00:00Z"))).await;
    let c1 = submit(o1, "NOT_WORKING", "2025-01-03T00:00:00Z").await;
    assign(c1.clone(), manager.id.clone()).await;
    let body = app.approve(&manager.token, json!({ "claimId": c1, "note": "checked\nlogs attached", "overrideReason": "goodwill" })).await;
    assert!(body["errors"].is_null(), "{body}");
    // Rejected, activation recorded but never delivered.
    let o2 = order_for(&app, &shop.token, 2, Some(None)).await;
    let c2 = submit(o2, "NOT_DELIVERED", "2025-01-04T00:00:00Z").await;
    let body = app
        .graphql("mutation($i: RejectClaimInput!){ rejectClaim(input: $i) { id } }", json!({ "i": { "claimId": c2, "reason": "OTHER", "note": "duplicate of a phone claim" } }), Some(&manager.token))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    // No activation at all; evidence; assigned to someone else.
    let o3 = order_for(&app, &shop.token, 3, None).await;
    let c3 = submit(o3, "CHANGED_MIND", "2025-01-05T00:00:00Z").await;
    assign(c3.clone(), agent.id.clone()).await;
    let body = app
        .claim_op(&agent.token, "addClaimEvidence", &format!("claimId: \"{c3}\", input: {{ kind: SCREENSHOT, url: \"https://files.example/eq3.png\" }}"))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    // A chargeback without prior contact: suspended, restricted, rejected.
    let o4 = order_for(&app, &shop.token, 4, Some(Some("2025-01-02T00:00:00Z"))).await;
    submit(o4.clone(), "NOT_WORKING", "2025-01-06T00:00:00Z").await;
    let body = app
        .graphql(
            "mutation($i: RecordChargebackInput!){ recordChargeback(input: $i) { id } }",
            json!({ "i": { "orderId": o4, "amount": { "amount": "29.99", "currency": "EUR" }, "reasonCode": "fraud", "providerReference": "cb_eq4", "openedAt": "2025-01-05T00:00:00Z" } }),
            Some(&finance.token),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    let token = admin.token.as_str();
    // (claim id, its order's id): each order has one claim.
    let ids: Vec<(String, String)> = {
        let body = app
            .graphql(
                "{ claims(first: 50) { nodes { id order { id } } } }",
                json!({}),
                Some(token),
            )
            .await;
        body["data"]["claims"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                let id = |v: &serde_json::Value| v.as_str().unwrap().to_string();
                (id(&n["id"]), id(&n["order"]["id"]))
            })
            .collect()
    };
    assert_eq!(ids.len(), 4);
    // Each place a page row reads a joined row or narrows the claim's own
    // columns, as a selection around `{}`.
    let places = [
        ("RefundClaim", "{}"),
        ("EligibilityAssessment", "eligibility { {} }"),
        ("Order", "order { {} }"),
        ("Customer", "customer { {} }"),
        ("Customer", "order { customer { {} } }"),
        ("Activation", "order { activation { {} } }"),
        ("Staff", "assignee { {} }"),
        ("Payout", "payouts { {} }"),
    ];
    let mut compared = 0;
    for (type_name, place) in places {
        for field in fields_of(&app, token, type_name).await {
            if field.needs_arguments {
                continue;
            }
            let selection = place.replace("{}", &select(&app, token, &field).await);
            let page = app
                .graphql(
                    &format!("{{ claims(first: 50) {{ nodes {{ id {selection} }} }} }}"),
                    json!({}),
                    Some(token),
                )
                .await;
            assert!(page["errors"].is_null(), "{selection}: {page}");
            let one_by_one: String = ids
                .iter()
                .enumerate()
                .map(|(i, (id, order))| {
                    format!(
                        "o{i}: order(id: \"{order}\") {{ claims {{ id {selection} }} }} \
                         c{i}: claim(id: \"{id}\") {{ id {selection} }} "
                    )
                })
                .collect();
            let whole = app
                .graphql(&format!("{{ {one_by_one} }}"), json!({}), Some(token))
                .await;
            assert!(whole["errors"].is_null(), "{selection}: {whole}");
            let expected: Vec<&serde_json::Value> = (0..ids.len())
                .map(|i| &whole["data"][format!("o{i}")]["claims"][0])
                .collect();
            let single: Vec<&serde_json::Value> = (0..ids.len())
                .map(|i| &whole["data"][format!("c{i}")])
                .collect();
            assert_eq!(single, expected, "{:?}: claim(id) {selection}", app.backend);
            let got: Vec<&serde_json::Value> = page["data"]["claims"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .collect();
            assert_eq!(got, expected, "{:?}: {selection}", app.backend);
            compared += 1;
        }
    }
    println!("{:?}: {compared} fields compared", app.backend);
    assert!(compared > 60, "only {compared} fields compared");
}

/// `claim(id)` with its order: the caller check and one statement, as the
/// page reads its rows (revocation still checks the caller on every request).
#[tokio::test]
async fn a_claim_with_its_order_costs_two_statements() {
    tests::on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let agent = app.staff(&[Role::SupportAgent]).await;
        let order = app.delivered_order(&shop.token, "SO-ONE", "20.00", None).await;
        let body = app
            .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "never arrived", "channel": "EMAIL" }))
            .await;
        let id = body["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        let q = "query($id: ID!){ claim(id: $id) { id status order { number total { amount currency } customer { email } } } }";
        let before = statements(&app).await;
        let body = app.graphql(q, json!({ "id": id }), Some(&agent.token)).await;
        let cost = statements(&app).await - before;
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(body["data"]["claim"]["order"]["number"], "SO-ONE");
        assert_eq!(body["data"]["claim"]["order"]["total"]["amount"], "20.00");
        assert_eq!(cost, 2, "{:?}: claim(id) with its order", app.backend);
        // An unknown id is null, in the same two statements.
        let before = statements(&app).await;
        let body = app
            .graphql(q, json!({ "id": uuid::Uuid::now_v7().to_string() }), Some(&agent.token))
            .await;
        assert!(body["data"]["claim"].is_null(), "{body}");
        assert_eq!(statements(&app).await - before, 2);
    })
    .await;
}
