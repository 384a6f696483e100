//! Activations: one per paid order, delivery once, expiry by calendar months,
//! credentials encrypted and readable by ADMIN/SUPPORT_AGENT only (audited).

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use tests::{assert_error, on_every_backend, order_input, TestApp};

use api::domain::Role;

const RECORD: &str = "mutation($i: RecordActivationInput!){ recordActivation(input: $i) { id channel destination deliveredAt used startsAt expiresAt status order { number } } }";
const DELIVER: &str = "mutation($id: ID!, $t: DateTime!){ markActivationDelivered(activationId: $id, deliveredAt: $t) { deliveredAt startsAt expiresAt status used } }";

async fn paid_order(app: &TestApp, token: &str, number: &str, months: i32) -> Value {
    let mut input = order_input(number, "act@example.com");
    input["planMonths"] = json!(months);
    input["placedAt"] = json!("2026-01-31T09:00:00Z");
    input["paidAt"] = json!("2026-01-31T09:30:00Z");
    app.create_order(token, input).await
}

fn activation(order_id: &Value) -> Value {
    json!({
        "orderId": order_id, "channel": "EMAIL", "destination": "Act@Example.com",
        "username": "jane42", "password": "s3cr3t-pa55", "activationCode": "ACT-777", "serverUrl": "http://tv.example:8080",
    })
}

#[tokio::test]
async fn recording_and_delivering_an_activation() {
    on_every_backend(|app| async move {
        let agent = app.staff(&[Role::SupportAgent]).await;
        let order = paid_order(&app, &agent.token, "SO-A1", 1).await;
        let body = app
            .graphql(
                RECORD,
                json!({ "i": activation(&order["id"]) }),
                Some(&agent.token),
            )
            .await;
        let act = &body["data"]["recordActivation"];
        assert_eq!(act["status"], "PENDING_DELIVERY", "{body}");
        assert_eq!(act["destination"], "act@example.com");
        assert_eq!(act["used"], false);
        assert!(act["expiresAt"].is_null());
        let id = act["id"].clone();

        // A second activation for the order is a conflict.
        let dup = app
            .graphql(
                RECORD,
                json!({ "i": activation(&order["id"]) }),
                Some(&agent.token),
            )
            .await;
        assert_error(&dup, "CONFLICT");

        // 31 Jan + 1 month clamps to 28 Feb (2026 is not a leap year).
        let body = app
            .graphql(
                DELIVER,
                json!({ "id": id, "t": "2026-01-31T12:00:00Z" }),
                Some(&agent.token),
            )
            .await;
        let delivered = &body["data"]["markActivationDelivered"];
        assert_eq!(delivered["startsAt"], "2026-01-31T12:00:00Z", "{body}");
        assert_eq!(delivered["expiresAt"], "2026-02-28T12:00:00Z");
        assert_eq!(delivered["used"], true);
        // Past its expiry by now: derived, not stored.
        assert_eq!(delivered["status"], "EXPIRED");

        // deliveredAt is set once: a retry with the same value is fine, another value is not.
        let same = app
            .graphql(
                DELIVER,
                json!({ "id": id, "t": "2026-01-31T12:00:00Z" }),
                Some(&agent.token),
            )
            .await;
        assert!(same["errors"].is_null(), "{same}");
        let moved = app
            .graphql(
                DELIVER,
                json!({ "id": id, "t": "2026-02-01T12:00:00Z" }),
                Some(&agent.token),
            )
            .await;
        assert_error(&moved, "INVALID_TRANSITION");
        let actions: Vec<String> = {
            let admin = app.staff(&[Role::Admin]).await;
            let audit = app
                .graphql(
                    "query($id: ID!){ auditLog(filter: { entityId: $id }) { nodes { action } } }",
                    json!({ "id": id }),
                    Some(&admin.token),
                )
                .await;
            audit["data"]["auditLog"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["action"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(actions, ["activation.deliver", "activation.record"]);
    })
    .await;
}

#[tokio::test]
async fn activation_rules_are_enforced() {
    on_every_backend(|app| async move {
        let agent = app.staff(&[Role::SupportAgent]).await;
        let mut pending = order_input("SO-A2", "act@example.com");
        pending["paidAt"] = Value::Null;
        let pending = app.create_order(&agent.token, pending).await;
        let body = app.graphql(RECORD, json!({ "i": activation(&pending["id"]) }), Some(&agent.token)).await;
        assert_error(&body, "INVALID_TRANSITION");

        let order = paid_order(&app, &agent.token, "SO-A3", 12).await;
        let with = |f: &dyn Fn(&mut Value)| {
            let mut v = activation(&order["id"]);
            f(&mut v);
            json!({ "i": v })
        };
        for (name, vars) in [
            ("email channel needs an email", with(&|v| v["destination"] = json!("+4915112345689"))),
            ("whatsapp needs E.164", with(&|v| { v["channel"] = json!("WHATSAPP"); v["destination"] = json!("0151 1234") })),
            ("empty destination", with(&|v| { v["channel"] = json!("OTHER"); v["destination"] = json!(" ") })),
            ("delivered in the future", with(&|v| v["deliveredAt"] = json!("2099-01-01T00:00:00Z"))),
            ("delivered before the order", with(&|v| v["deliveredAt"] = json!("2025-01-01T00:00:00Z"))),
        ] {
            assert_eq!(tests::error_code(&app.graphql(RECORD, vars, Some(&agent.token)).await), Some("BAD_USER_INPUT"), "{name}");
        }
        let missing = json!({ "i": activation(&json!(uuid::Uuid::now_v7().to_string())) });
        assert_error(&app.graphql(RECORD, missing, Some(&agent.token)).await, "NOT_FOUND");
        assert_eq!(app.count("activations").await, 0);

        // WhatsApp with an E.164 number, already delivered on a leap day: +12 months clamps to 28 Feb.
        let mut leap = order_input("SO-A4", "act@example.com");
        leap["planMonths"] = json!(12);
        leap["placedAt"] = json!("2024-02-29T08:00:00Z");
        leap["paidAt"] = json!("2024-02-29T08:00:00Z");
        let leap = app.create_order(&agent.token, leap).await;
        let vars = json!({ "i": { "orderId": leap["id"], "channel": "WHATSAPP", "destination": "+49 151 1234 5689", "deliveredAt": "2024-02-29T10:00:00Z" } });
        let body = app.graphql(RECORD, vars, Some(&agent.token)).await;
        assert_eq!(body["data"]["recordActivation"]["destination"], "+4915112345689", "{body}");
        assert_eq!(body["data"]["recordActivation"]["expiresAt"], "2025-02-28T10:00:00Z");
        assert_eq!(body["data"]["recordActivation"]["status"], "EXPIRED");
    })
    .await;
}

#[tokio::test]
async fn credentials_are_encrypted_at_rest_and_readable_by_admin_and_support_only() {
    on_every_backend(|app| async move {
        let agent = app.staff(&[Role::SupportAgent]).await;
        let order = paid_order(&app, &agent.token, "SO-A5", 6).await;
        let body = app.graphql(RECORD, json!({ "i": activation(&order["id"]) }), Some(&agent.token)).await;
        let activation_id = body["data"]["recordActivation"]["id"].as_str().unwrap().to_string();

        // The raw column holds none of the secrets.
        let backend = app.db.get_database_backend();
        let row = app
            .db
            .query_one_raw(Statement::from_string(backend, "SELECT credentials_ciphertext FROM activations"))
            .await
            .unwrap()
            .unwrap();
        let raw: String = row.try_get("", "credentials_ciphertext").unwrap();
        for secret in ["jane42", "s3cr3t-pa55", "ACT-777", "tv.example"] {
            assert!(!raw.contains(secret), "{secret} in {raw}");
        }

        let q = "query($id: ID!){ order(id: $id) { number activation { status credentials { username password activationCode serverUrl } } } }";
        let viewed = || async { app.count("audit_log").await };
        for role in [Role::SupportAgent, Role::Admin] {
            let who = app.staff(&[role]).await;
            let before = viewed().await;
            let body = app.graphql(q, json!({ "id": order["id"] }), Some(&who.token)).await;
            assert_eq!(
                body["data"]["order"]["activation"]["credentials"],
                json!({ "username": "jane42", "password": "s3cr3t-pa55", "activationCode": "ACT-777", "serverUrl": "http://tv.example:8080" }),
                "{role:?}: {body}"
            );
            assert_eq!(viewed().await, before + 1, "one credentials.viewed entry per read");
        }
        for role in [Role::RefundManager, Role::Finance, Role::Analyst, Role::Integration] {
            let who = app.staff(&[role]).await;
            let before = viewed().await;
            let body = app.graphql(q, json!({ "id": order["id"] }), Some(&who.token)).await;
            assert_error(&body, "FORBIDDEN");
            assert_eq!(body["errors"][0]["path"], json!(["order", "activation", "credentials"]));
            // The rest of the query still answers.
            assert_eq!(body["data"]["order"]["number"], "SO-A5", "{role:?}: {body}");
            assert!(body["data"]["order"]["activation"]["credentials"].is_null());
            assert_eq!(viewed().await, before, "a refused read writes nothing");
        }
        let admin = app.staff(&[Role::Admin]).await;
        let audit = app
            .graphql(
                "query($id: ID!){ auditLog(filter: { entityId: $id, action: \"activation.credentials.viewed\" }) { totalCount nodes { actor { id } } } }",
                json!({ "id": activation_id }),
                Some(&admin.token),
            )
            .await;
        assert_eq!(audit["data"]["auditLog"]["totalCount"], 2, "{audit}");
    })
    .await;
}
