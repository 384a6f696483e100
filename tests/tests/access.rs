//! Who may read what, checked the way an attacker would look: the whole
//! schema, by introspection, as every role, through every object-typed field
//! of every type the role can reach, against DESIGN.md's roles table. And
//! what ANALYST sees of contact details.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use api::domain::Role;
use serde_json::{json, Value};
use tests::{assert_error, Backend, TestApp};

/// DESIGN.md's roles table, per object type; `None`: part of whatever holds
/// it (money, page info, report buckets).
fn readers(type_name: &str) -> Option<Vec<Role>> {
    use Role::*;
    let all = vec![
        Admin,
        RefundManager,
        Finance,
        SupportAgent,
        Analyst,
        Integration,
    ];
    let claim_readers = vec![Admin, RefundManager, Finance, SupportAgent, Analyst];
    let base = type_name
        .trim_end_matches("Connection")
        .trim_end_matches("Edge");
    Some(match base {
        "Order" | "Customer" | "CustomerContact" | "Activation" => all,
        "RefundClaim"
        | "Evidence"
        | "ClaimEvent"
        | "Payout"
        | "Chargeback"
        | "EligibilityAssessment" => claim_readers,
        "ActivationCredentials" => vec![Admin, SupportAgent],
        "AuditEntry" => vec![Admin, Analyst],
        "RefundReport" => vec![Admin, RefundManager, Finance, Analyst],
        "Staff" | "PolicyVersion" => all,
        "Event" => vec![Admin, Integration],
        "WebhookEndpoint" | "WebhookDelivery" | "InboundMessage" => vec![Admin],
        "ProductPlan" => vec![Admin, Integration],
        _ => return None,
    })
}

/// Root fields that are narrower than the type they return.
fn root_readers(field: &str) -> Option<Vec<Role>> {
    match field {
        // Listing all staff is staff administration.
        "staff" => Some(vec![Role::Admin]),
        _ => None,
    }
}

const INTROSPECTION: &str =
    "{ __schema { types { name kind fields { name args { name type { ...T } } type { ...T } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

struct Field {
    name: String,
    /// Required arguments: (name, named type).
    required: Vec<(String, String)>,
    /// The named type it returns, when that is an object type.
    object: Option<String>,
}

fn named(t: &Value) -> (String, String) {
    let mut t = t;
    while t["name"].is_null() {
        t = &t["ofType"];
    }
    (
        t["kind"].as_str().unwrap().to_string(),
        t["name"].as_str().unwrap().to_string(),
    )
}

fn schema_fields(schema: &Value) -> BTreeMap<String, Vec<Field>> {
    let mut out = BTreeMap::new();
    for t in schema["data"]["__schema"]["types"].as_array().unwrap() {
        let Some(fields) = t["fields"].as_array() else {
            continue;
        };
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") || t["kind"] != "OBJECT" {
            continue;
        }
        let fields = fields
            .iter()
            .map(|f| {
                let (kind, ret) = named(&f["type"]);
                Field {
                    name: f["name"].as_str().unwrap().to_string(),
                    required: f["args"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|a| a["type"]["kind"] == "NON_NULL")
                        .map(|a| (a["name"].as_str().unwrap().to_string(), named(&a["type"]).1))
                        .collect(),
                    object: (kind == "OBJECT").then_some(ret),
                }
            })
            .collect();
        out.insert(name.to_string(), fields);
    }
    out
}

/// Every value under `key` anywhere in `v`.
fn find_key<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == key {
                    out.push(x);
                }
                find_key(x, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| find_key(x, key, out)),
        _ => {}
    }
}

struct World {
    order: String,
    order_number: String,
    customer: String,
    customer_email: String,
    claim: String,
}

async fn seed(app: &TestApp, tokens: &BTreeMap<Role, String>) -> World {
    // An endpoint that receives every event (nothing listens there: its
    // deliveries stay pending), so deliveries exist to be read.
    let hook = app
        .graphql(
            "mutation { createWebhookEndpoint(input: { url: \"http://127.0.0.1:9/hook\", eventTypes: [] }) { endpoint { id } } }",
            json!({}),
            Some(&tokens[&Role::Admin]),
        )
        .await;
    assert!(hook["errors"].is_null(), "{hook}");
    // A product plan, and an inbound message (an unknown topic, kept IGNORED).
    let plan = app
        .graphql(
            "mutation { upsertProductPlan(input: { sku: \"ACCESS-1\", planMonths: 1, devices: 1 }) { sku } }",
            json!({}),
            Some(&tokens[&Role::Admin]),
        )
        .await;
    assert!(plan["errors"].is_null(), "{plan}");
    let inbound = app
        .post_woocommerce("product.updated", "access-1", &json!({ "id": 1 }))
        .await;
    assert_eq!(inbound.body["status"], "IGNORED", "{}", inbound.body);
    let shop = &tokens[&Role::Integration];
    let agent = &tokens[&Role::SupportAgent];
    let manager = &tokens[&Role::RefundManager];
    let finance = &tokens[&Role::Finance];
    let order = app
        .delivered_order(shop, "SO-ACCESS", "28.00", Some("2026-02-01T00:00:00Z"))
        .await;
    let body = app
        .graphql(
            "query($id: ID!){ order(id: $id) { number customer { id email } } }",
            json!({ "id": order }),
            Some(shop),
        )
        .await;
    let customer = body["data"]["order"]["customer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let customer_email = body["data"]["order"]["customer"]["email"]
        .as_str()
        .unwrap()
        .to_string();
    let order_number = body["data"]["order"]["number"]
        .as_str()
        .unwrap()
        .to_string();
    let contact = app
        .graphql(
            "mutation($c: ID!, $o: ID){ logContact(input: { customerId: $c, orderId: $o, channel: PHONE, summary: \"called about the stream\", contactedAt: \"2026-02-02T00:00:00Z\" }) { id } }",
            json!({ "c": customer, "o": order }),
            Some(agent),
        )
        .await;
    assert!(contact["errors"].is_null(), "{contact}");
    let body = app
        .submit_claim(agent, json!({ "orderId": order, "reason": "NOT_WORKING", "description": "stops", "channel": "EMAIL", "submittedAt": "2026-02-03T00:00:00Z", "requestedAmount": { "amount": "10.00", "currency": "EUR" } }))
        .await;
    let claim = body["data"]["submitClaim"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = app
        .claim_op(agent, "addClaimEvidence", &format!("claimId: \"{claim}\", input: {{ kind: SCREENSHOT, url: \"https://files.example/s.png\" }}"))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app
        .approve(
            manager,
            json!({ "claimId": claim, "amount": { "amount": "10.00", "currency": "EUR" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app
        .graphql(
            "mutation($o: ID!){ recordChargeback(input: { orderId: $o, amount: { amount: \"1.00\", currency: \"EUR\" }, reasonCode: \"fraudulent\", providerReference: \"dp_access\", openedAt: \"2026-02-10T00:00:00Z\" }) { id } }",
            json!({ "o": order }),
            Some(finance),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    // The events are numbered (and their deliveries queued) within a poll.
    for _ in 0..100 {
        let d = app
            .graphql(
                "{ webhookDeliveries(first: 1) { totalCount } }",
                json!({}),
                Some(&tokens[&Role::Admin]),
            )
            .await;
        if d["data"]["webhookDeliveries"]["totalCount"].as_i64() > Some(0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    World {
        order,
        order_number,
        customer,
        customer_email,
        claim,
    }
}

/// Arguments for root fields that require some.
fn root_arguments(field: &str, w: &World) -> Option<String> {
    Some(match field {
        "order" => format!("(id: \"{}\")", w.order),
        "orderByNumber" => format!("(number: \"{}\")", w.order_number),
        "customer" => format!("(id: \"{}\")", w.customer),
        "customerByEmail" => format!("(email: \"{}\")", w.customer_email),
        "claim" => format!("(id: \"{}\")", w.claim),
        "assessRefund" => format!("(orderId: \"{}\", reason: NOT_WORKING)", w.order),
        "refundReport" => "(from: \"2026-01-01T00:00:00Z\", to: \"2026-03-01T00:00:00Z\", interval: MONTH, currency: \"EUR\")".to_string(),
        _ => return None,
    })
}

#[tokio::test]
async fn every_object_typed_field_is_guarded_like_its_type_for_every_role() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut tokens = BTreeMap::new();
    for role in Role::ALL {
        tokens.insert(role, app.staff(&[role]).await.token);
    }
    let world = seed(&app, &tokens).await;
    let schema = app
        .graphql(INTROSPECTION, json!({}), Some(&tokens[&Role::Admin]))
        .await;
    let types = schema_fields(&schema);
    let mut checked = 0;
    for role in Role::ALL {
        let token = &tokens[&role];
        let mut seen = BTreeSet::from(["Query".to_string()]);
        // (type, text before the selection, text after it)
        let mut queue = VecDeque::from([("Query".to_string(), String::new(), String::new())]);
        while let Some((ty, before, after)) = queue.pop_front() {
            for field in &types[&ty] {
                let Some(object) = &field.object else {
                    continue;
                };
                let args = if field.required.is_empty() {
                    String::new()
                } else if ty == "Query" {
                    match root_arguments(&field.name, &world) {
                        Some(a) => a,
                        None => {
                            panic!("no arguments for Query.{} {:?}", field.name, field.required)
                        }
                    }
                } else {
                    panic!("{ty}.{} needs arguments {:?}", field.name, field.required);
                };
                let expected = if ty == "Query" {
                    root_readers(&field.name).or_else(|| readers(object))
                } else {
                    readers(object)
                };
                let allowed = expected.as_ref().is_none_or(|r| r.contains(&role));
                let query = format!(
                    "{{ {before} probe: {}{args} {{ __typename }} {after} }}",
                    field.name
                );
                let body = app.graphql(&query, json!({}), Some(token)).await;
                let errors = body["errors"].as_array().cloned().unwrap_or_default();
                let forbidden_here = errors.iter().any(|e| {
                    e["extensions"]["code"] == "FORBIDDEN"
                        && e["path"]
                            .as_array()
                            .and_then(|p| p.iter().rev().find(|s| s.is_string()))
                            == Some(&json!("probe"))
                });
                let mut probes = Vec::new();
                find_key(&body["data"], "probe", &mut probes);
                let context = format!("{role:?} {ty}.{} ({object}): {query}\n{body}", field.name);
                if allowed {
                    assert!(!forbidden_here, "refused: {context}");
                    assert!(errors.is_empty(), "errors: {context}");
                    assert!(!probes.is_empty(), "no data reached the field: {context}");
                    if seen.insert(object.clone()) {
                        queue.push_back((
                            object.clone(),
                            format!("{before} {}{args} {{", field.name),
                            format!("}} {after}"),
                        ));
                    }
                } else {
                    assert!(forbidden_here, "not refused: {context}");
                    assert!(probes.iter().all(|p| p.is_null()), "data leaked: {context}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "only {checked} fields were checked");
}

#[tokio::test]
async fn the_audits_nested_read_is_refused_for_integration() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let order = app
        .delivered_order(&shop.token, "SO-NESTED", "20.00", None)
        .await;
    let body = app
        .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "secret details", "channel": "EMAIL" }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app
        .graphql(
            "{ orders { nodes { claims { description submittedBy { email } } payouts { externalReference } chargebacks { id } } } }",
            json!({}),
            Some(&shop.token),
        )
        .await;
    assert_error(&body, "FORBIDDEN");
    assert!(!body.to_string().contains("secret details"), "{body}");
}

#[tokio::test]
async fn analysts_see_no_contact_detail_anywhere_and_cannot_search_for_one() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let shop = app.staff(&[Role::Integration]).await;
    let analyst = app.staff(&[Role::Analyst]).await;
    let manager = app.staff(&[Role::RefundManager]).await;
    let order = app
        .delivered_order(
            &shop.token,
            "SO-MASK",
            "20.00",
            Some("2026-02-01T00:00:00Z"),
        )
        .await;
    let q =
        "query($id: ID!){ order(id: $id) { customer { email phone } activation { destination } } }";
    let seen = app
        .graphql(q, json!({ "id": order }), Some(&analyst.token))
        .await;
    let o = &seen["data"]["order"];
    assert_eq!(o["customer"]["email"], "c***@example.com", "{seen}");
    assert_eq!(o["activation"]["destination"], "c***@example.com", "{seen}");
    assert!(!seen.to_string().contains("claimant@"), "{seen}");
    let full = app
        .graphql(q, json!({ "id": order }), Some(&manager.token))
        .await;
    assert_eq!(
        full["data"]["order"]["activation"]["destination"],
        "claimant@example.com"
    );

    // The search matches what the analyst sees (names) and whole addresses,
    // never a part of one: no character-by-character oracle.
    let search = "query($s: String!){ customers(search: $s) { totalCount } }";
    let count = |body: Value| body["data"]["customers"]["totalCount"].as_i64();
    for (text, analyst_count, manager_count) in [
        ("claim", 0, 1),
        ("c", 0, 1),
        ("example.com", 0, 1),
        ("claimant@example.com", 1, 1),
        ("CLAIMANT@example.com", 1, 1),
        ("Jane", 1, 1),
        ("%", 0, 0),
        ("_", 0, 0),
    ] {
        let a = app
            .graphql(search, json!({ "s": text }), Some(&analyst.token))
            .await;
        let m = app
            .graphql(search, json!({ "s": text }), Some(&manager.token))
            .await;
        assert_eq!(
            count(a.clone()),
            Some(analyst_count),
            "analyst {text:?}: {a}"
        );
        assert_eq!(
            count(m.clone()),
            Some(manager_count),
            "manager {text:?}: {m}"
        );
    }

    // Other staff members' addresses: ADMIN and the person see them.
    let body = app
        .graphql("{ me { email } }", json!({}), Some(&analyst.token))
        .await;
    assert_eq!(body["data"]["me"]["email"], analyst.email.as_str());
    let staff_q = "{ auditLog(first: 50) { nodes { action actor { id email } details } } }";
    let body = app.graphql(staff_q, json!({}), Some(&analyst.token)).await;
    assert!(body["errors"].is_null(), "{body}");
    let text = body.to_string();
    for email in [&admin.email, &shop.email, &manager.email] {
        assert!(
            !text.contains(email.as_str()),
            "{email} leaked to ANALYST: {body}"
        );
    }
    let body = app.graphql(staff_q, json!({}), Some(&admin.token)).await;
    assert!(body.to_string().contains(analyst.email.as_str()), "{body}");
}

#[tokio::test]
async fn search_and_filter_texts_are_bounded() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let manager = app.staff(&[Role::RefundManager]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let long = "a".repeat(49_999);
    for (query, token) in [
        (
            "query($s: String!){ customers(search: $s) { totalCount } }",
            &manager.token,
        ),
        (
            "query($s: String!){ orders(filter: { number: $s }) { totalCount } }",
            &manager.token,
        ),
        (
            "query($s: String!){ claims(filter: { orderNumber: $s }) { totalCount } }",
            &manager.token,
        ),
        (
            "query($s: String!){ auditLog(filter: { action: $s }) { totalCount } }",
            &admin.token,
        ),
    ] {
        let body = app.graphql(query, json!({ "s": long }), Some(token)).await;
        assert_error(&body, "BAD_USER_INPUT");
        let ok = app
            .graphql(query, json!({ "s": "a".repeat(200) }), Some(token))
            .await;
        assert!(ok["errors"].is_null(), "{query}: {ok}");
    }
}
