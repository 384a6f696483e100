//! Bad input to every mutation of the schema: each mutation is found by
//! introspection and sent hostile values in every argument slot of the
//! kind a variant targets (NUL bytes, overflowing and negative numbers,
//! unknown enum values, wrong scalar types, long and huge strings), plus
//! malformed JSON and invalid UTF-8 bodies. Every answer must be a clean 4xx
//! or a GraphQL error with a client code; never a 5xx, an internal error, or
//! a message that shows SQL, file paths or panics.

use api::domain::Role;
use serde_json::{json, Map, Value};
use tests::{backends, TestApp};

const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Nul,
    Overflow,
    Negative,
    UnknownEnum,
    WrongType,
    LongText,
    HugeText,
    /// A plausible value (for the slots not being spoiled).
    None,
}

const VARIANTS: [Variant; 7] = [
    Variant::Nul,
    Variant::Overflow,
    Variant::Negative,
    Variant::UnknownEnum,
    Variant::WrongType,
    Variant::LongText,
    Variant::HugeText,
];

/// Words that must never reach a client.
const LEAKS: [&str; 14] = [
    "SELECT",
    "INSERT",
    "UPDATE ",
    "DELETE ",
    "sqlx",
    "sea_orm",
    "DbErr",
    ".rs:",
    "/src/",
    "panicked",
    "/root",
    "/home",
    "syntax error at",
    "stack backtrace",
];

/// Real ids, so hostile values meet the deep validation, not NOT_FOUND.
struct Fixtures {
    ids: Vec<(&'static str, String)>,
}

impl Fixtures {
    fn id_for(&self, slot: &str) -> String {
        let slot = slot.to_lowercase();
        self.ids
            .iter()
            .find(|(k, _)| slot.contains(k))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| self.ids[0].1.clone())
    }
}

struct Types(Vec<Value>);

impl Types {
    fn named(&self, name: &str) -> &Value {
        self.0
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no type {name}"))
    }
}

/// The GraphQL type expression of a type reference (`[Role!]!`).
fn type_expr(t: &Value) -> String {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", type_expr(&t["ofType"])),
        "LIST" => format!("[{}]", type_expr(&t["ofType"])),
        _ => t["name"].as_str().unwrap().to_string(),
    }
}

struct Builder<'a> {
    variant: Variant,
    types: &'a Types,
    fixtures: &'a Fixtures,
    /// Spoilable slots met so far; only the one numbered `target` is spoiled,
    /// so one field's check cannot hide a missing check on another.
    seen: usize,
    target: usize,
}

impl Builder<'_> {
    fn value(&mut self, t: &Value, slot: &str) -> Value {
        match t["kind"].as_str().unwrap() {
            "NON_NULL" => self.value(&t["ofType"], slot),
            "LIST" => json!([self.value(&t["ofType"], slot)]),
            "ENUM" => {
                if self.variant == Variant::UnknownEnum && self.take() {
                    return json!("NOT_A_VALUE");
                }
                let ty = self.types.named(t["name"].as_str().unwrap());
                ty["enumValues"][0]["name"].clone()
            }
            "INPUT_OBJECT" => {
                let ty = self.types.named(t["name"].as_str().unwrap());
                let mut obj = Map::new();
                for f in ty["inputFields"].as_array().unwrap() {
                    let name = f["name"].as_str().unwrap();
                    obj.insert(name.to_string(), self.value(&f["type"], name));
                }
                Value::Object(obj)
            }
            _ => self.scalar(t["name"].as_str().unwrap(), slot),
        }
    }

    /// Counts a spoilable slot; true when it is the one to spoil.
    fn take(&mut self) -> bool {
        self.seen += 1;
        self.seen - 1 == self.target
    }

    fn scalar(&mut self, name: &str, slot: &str) -> Value {
        use Variant::*;
        let spoilable = matches!(
            (name, self.variant),
            ("String", Nul | LongText | HugeText | WrongType)
                | (
                    "ID" | "Boolean" | "DateTime" | "NaiveDate" | "Date",
                    WrongType
                )
                | ("Int" | "Decimal", Overflow | Negative | WrongType)
        );
        let variant = if spoilable && self.take() {
            self.variant
        } else {
            Variant::None
        };
        match (name, variant) {
            ("String", Nul) => json!("bad\u{0}value"),
            ("String", LongText) => json!("x".repeat(100_000)),
            ("String", HugeText) => json!("x".repeat(1_100_000)),
            ("String", WrongType) => json!(12345),
            ("String", _) => json!(plausible_text(slot)),
            ("ID", WrongType) => json!({ "id": 1 }),
            ("ID", _) => json!(self.fixtures.id_for(slot)),
            ("Int", Overflow) => json!(2_147_483_648i64),
            ("Int", Negative) => json!(-1),
            ("Int", WrongType) => json!("abc"),
            // A stale version would answer CONFLICT before the spoiled value is seen.
            ("Int", _) if slot == "expectedVersion" => Value::Null,
            ("Int", _) => json!(plausible_int(slot)),
            ("Boolean", WrongType) => json!("yes"),
            ("Boolean", _) => json!(false),
            ("Decimal", Overflow) => json!("99999999999999999999.99"),
            ("Decimal", Negative) => json!("-5.00"),
            ("Decimal", WrongType) => json!(12.5),
            ("Decimal", _) => json!("1.00"),
            ("DateTime", WrongType) => json!("yesterday"),
            ("DateTime", _) => json!("2026-02-03T00:00:00Z"),
            ("NaiveDate" | "Date", WrongType) => json!("31/02/2026"),
            ("NaiveDate" | "Date", _) => json!("2026-02-03"),
            ("JSON", _) => json!({ "k": "v" }),
            // A file only comes in a multipart request; in JSON its slot is
            // null, or a string that names no uploaded file.
            ("Upload", WrongType) => json!("#__graphql_file__:7"),
            ("Upload", _) => Value::Null,
            (other, _) => panic!("no value for scalar {other}"),
        }
    }
}

fn plausible_text(slot: &str) -> String {
    let slot = slot.to_lowercase();
    if slot.contains("email") {
        "sweep@example.com".into()
    } else if slot.contains("password") {
        tests::PASSWORD.into()
    } else if slot.contains("url") {
        "https://example.com/proof".into()
    } else if slot.contains("currency") {
        "EUR".into()
    } else if slot.contains("phone") {
        "+4915112345689".into()
    } else {
        "sweep value".into()
    }
}

fn plausible_int(slot: &str) -> i64 {
    match slot {
        "planMonths" => 3,
        "devices" => 2,
        "refundWindowDays" => 14,
        "payoutBusinessDaysMin" => 3,
        "payoutBusinessDaysMax" => 10,
        _ => 1,
    }
}

/// What an answer may be for a variant. Spoiled values are always refused.
fn check(variant: Variant, mutation: &str, status: u16, body: &str) {
    let ctx = format!(
        "{variant:?} {mutation}: HTTP {status} {}",
        &body[..body.len().min(400)]
    );
    assert!(status < 500, "server error: {ctx}");
    for leak in LEAKS {
        assert!(!body.contains(leak), "leaks {leak:?}: {ctx}");
    }
    if variant == Variant::HugeText {
        assert_eq!(status, 413, "{ctx}");
        return;
    }
    let json: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {ctx}"));
    let code = json["errors"][0]["extensions"]["code"].as_str();
    assert!(
        json["data"][mutation].is_null(),
        "a spoiled call succeeded: {ctx}"
    );
    assert_eq!(code, Some("BAD_USER_INPUT"), "{ctx}");
}

async fn fixtures(app: &TestApp, admin: &tests::Staff) -> Fixtures {
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let manager = app.staff(&[Role::RefundManager]).await;
    let finance = app.staff(&[Role::Finance]).await;
    let order = app
        .delivered_order(&shop.token, "SO-SWEEP", "20.00", None)
        .await;
    let claim = app
        .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "never arrived", "channel": "EMAIL", "requestedAmount": { "amount": "5.00", "currency": "EUR" } }))
        .await;
    let claim = claim["data"]["submitClaim"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let approved = app
        .approve(
            &manager.token,
            json!({ "claimId": claim, "amount": { "amount": "5.00", "currency": "EUR" } }),
        )
        .await;
    let payout = approved["data"]["approveClaim"]["payouts"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A second, open claim for the claim mutations.
    let open = app
        .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "still nothing", "channel": "EMAIL", "requestedAmount": { "amount": "5.00", "currency": "EUR" } }))
        .await;
    let open = open["data"]["submitClaim"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{open}"))
        .to_string();
    let cb = app
        .graphql("mutation($i: RecordChargebackInput!){ recordChargeback(input: $i) { id order { customer { id } activation { id } } } }", json!({ "i": { "orderId": order, "amount": { "amount": "1.00", "currency": "EUR" }, "reasonCode": "13.1", "providerReference": "cb-sweep", "openedAt": chrono::Utc::now().to_rfc3339() } }), Some(&finance.token))
        .await;
    let c = &cb["data"]["recordChargeback"];
    Fixtures {
        ids: vec![
            ("order", order),
            ("claim", open),
            ("payout", payout),
            (
                "chargeback",
                c["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{cb}"))
                    .to_string(),
            ),
            (
                "customer",
                c["order"]["customer"]["id"].as_str().unwrap().to_string(),
            ),
            (
                "activation",
                c["order"]["activation"]["id"].as_str().unwrap().to_string(),
            ),
            ("staff", agent.id.clone()),
            ("assignee", admin.id.clone()),
            ("actor", admin.id.clone()),
        ],
    }
}

#[tokio::test]
async fn every_mutation_refuses_hostile_input_cleanly() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.staff(&[Role::Admin]).await;
        let fixtures = fixtures(&app, &admin).await;
        let schema = app
            .graphql(&format!("{{ __schema {{ mutationType {{ fields {{ name args {{ name type {{ ...T }} }} }} }} types {{ name kind inputFields {{ name type {{ ...T }} }} enumValues {{ name }} }} }} }} {TYPE_REF}"), json!({}), Some(&admin.token))
            .await;
        let types = Types(
            schema["data"]["__schema"]["types"]
                .as_array()
                .unwrap()
                .clone(),
        );
        let mutations = schema["data"]["__schema"]["mutationType"]["fields"]
            .as_array()
            .unwrap();
        assert!(mutations.len() >= 25, "{schema}");
        let mut calls = 0;
        for m in mutations {
            let name = m["name"].as_str().unwrap();
            let args = m["args"].as_array().unwrap();
            let decls: Vec<String> = args
                .iter()
                .map(|a| {
                    format!(
                        "${}: {}",
                        a["name"].as_str().unwrap(),
                        type_expr(&a["type"])
                    )
                })
                .collect();
            let uses: Vec<String> = args
                .iter()
                .map(|a| format!("{0}: ${0}", a["name"].as_str().unwrap()))
                .collect();
            let query = format!(
                "mutation({}) {{ {name}({}) {{ __typename }} }}",
                decls.join(", "),
                uses.join(", ")
            );
            for (variant, target) in VARIANTS
                .into_iter()
                .flat_map(|v| (0..64).map(move |t| (v, t)))
            {
                let mut b = Builder {
                    variant,
                    types: &types,
                    fixtures: &fixtures,
                    seen: 0,
                    target,
                };
                let vars: Map<String, Value> = args
                    .iter()
                    .map(|a| {
                        let n = a["name"].as_str().unwrap();
                        (n.to_string(), b.value(&a["type"], n))
                    })
                    .collect();
                if b.seen <= target {
                    continue; // no slot left of this kind to spoil
                }
                let res = app
                    .client
                    .post(app.url("/graphql"))
                    .bearer_auth(&admin.token)
                    .json(&json!({ "query": query, "variables": vars }))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                check(variant, name, status, &res.text().await.unwrap());
                calls += 1;
            }
            // Bodies that are not JSON at all.
            let bodies: [&[u8]; 3] = [
                b"{\"query\": \"mutation { ",
                b"{\"query\": \"mutation { x }\", \"variables\": {\"a\": \"\xff\xfe\"}}",
                b"\x00\x01\x02",
            ];
            for raw in bodies {
                let mut raw = raw.to_vec();
                raw.extend_from_slice(name.as_bytes());
                let res = app
                    .client
                    .post(app.url("/graphql"))
                    .bearer_auth(&admin.token)
                    .header("content-type", "application/json")
                    .body(raw)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let text = res.text().await.unwrap();
                assert_eq!(status, 400, "{name}: {text}");
                assert!(text.contains("BAD_USER_INPUT"), "{name}: {text}");
                calls += 1;
            }
        }
        println!(
            "{backend:?}: {} mutations, {calls} hostile requests, all refused cleanly",
            mutations.len()
        );
    }
}
