//! Customers: lookups, search, masking for analysts, logged contacts.

use serde_json::json;
use tests::{assert_error, on_every_backend, order_input};

use api::domain::Role;

#[tokio::test]
async fn analysts_see_masked_emails_and_phones() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let order = app.create_order(&shop.token, order_input("SO-C1", "jane@example.com")).await;
        let q = "query($id: ID!){ customer(id: $id) { email phone name } order(id: $id2) { customer { email } } }"
            .replace("$id2", "$o")
            .replace("query($id: ID!)", "query($id: ID!, $o: ID!)");
        let vars = json!({ "id": order["customer"]["id"], "o": order["id"] });
        let analyst = app.staff(&[Role::Analyst]).await;
        let body = app.graphql(&q, vars.clone(), Some(&analyst.token)).await;
        assert_eq!(body["data"]["customer"], json!({ "email": "j***@example.com", "phone": "+49*********89", "name": "Jane Doe" }), "{body}");
        assert_eq!(body["data"]["order"]["customer"]["email"], "j***@example.com");
        for role in [Role::Admin, Role::RefundManager, Role::Finance, Role::SupportAgent] {
            let who = app.staff(&[role]).await;
            let body = app.graphql(&q, vars.clone(), Some(&who.token)).await;
            assert_eq!(body["data"]["customer"]["email"], "jane@example.com", "{role:?}");
            assert_eq!(body["data"]["customer"]["phone"], "+4915112345689");
        }
        // An analyst who is also an agent sees what the agent sees.
        let both = app.staff(&[Role::Analyst, Role::SupportAgent]).await;
        let body = app.graphql(&q, vars, Some(&both.token)).await;
        assert_eq!(body["data"]["customer"]["email"], "jane@example.com");
    })
    .await;
}

#[tokio::test]
async fn customers_are_found_by_email_and_search() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        for (n, email, name) in [
            ("1", "alice@example.com", "Alice Smith"),
            ("2", "bob@shop.test", "Bob Jones"),
            ("3", "carol_x@example.com", "Carol 100%"),
        ] {
            let mut input = order_input(&format!("SO-S{n}"), email);
            input["customerName"] = json!(name);
            app.create_order(&shop.token, input).await;
        }
        let by_email = app
            .graphql(
                "{ customerByEmail(email: \" BOB@shop.test \") { name } }",
                json!({}),
                Some(&shop.token),
            )
            .await;
        assert_eq!(by_email["data"]["customerByEmail"]["name"], "Bob Jones");
        let none = app
            .graphql(
                "{ customerByEmail(email: \"nobody@x.test\") { name } }",
                json!({}),
                Some(&shop.token),
            )
            .await;
        assert!(none["data"]["customerByEmail"].is_null());
        let search = |s: &'static str| {
            let q = format!("{{ customers(search: {s:?}) {{ totalCount nodes {{ name }} }} }}");
            let token = shop.token.clone();
            let app = &app;
            async move {
                app.graphql(&q, json!({}), Some(&token)).await["data"]["customers"]["totalCount"]
                    .clone()
            }
        };
        assert_eq!(search("example.com").await, 2);
        assert_eq!(search("SMITH").await, 1);
        assert_eq!(search("100%").await, 1, "% is literal");
        assert_eq!(search("_").await, 1, "_ is literal");
        assert_eq!(search("").await, 3);
    })
    .await;
}

#[tokio::test]
async fn contacts_are_logged_validated_and_listed_oldest_first() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let agent = app.staff(&[Role::SupportAgent]).await;
        let order = app.create_order(&shop.token, order_input("SO-K1", "k@example.com")).await;
        let other = app.create_order(&shop.token, order_input("SO-K2", "other@example.com")).await;
        let customer = order["customer"]["id"].clone();
        let log = "mutation($i: LogContactInput!){ logContact(input: $i) { id channel summary contactedAt loggedBy { id } order { number } customer { email } } }";
        let body = app
            .graphql(log, json!({ "i": { "customerId": customer, "orderId": order["id"], "channel": "WHATSAPP", "summary": " Stream freezes ", "contactedAt": "2026-11-03T08:00:00Z" } }), Some(&agent.token))
            .await;
        let c = &body["data"]["logContact"];
        assert_eq!(c["summary"], "Stream freezes", "{body}");
        assert_eq!(c["loggedBy"]["id"], agent.id.as_str());
        assert_eq!(c["order"]["number"], "SO-K1");
        app.graphql(log, json!({ "i": { "customerId": customer, "channel": "EMAIL", "summary": "earlier", "contactedAt": "2026-11-02T08:00:00Z" } }), Some(&agent.token)).await;

        for (name, input, code) in [
            ("empty summary", json!({ "customerId": customer, "channel": "EMAIL", "summary": "  " }), "BAD_USER_INPUT"),
            ("future", json!({ "customerId": customer, "channel": "EMAIL", "summary": "x", "contactedAt": "2099-01-01T00:00:00Z" }), "BAD_USER_INPUT"),
            ("someone else's order", json!({ "customerId": customer, "orderId": other["id"], "channel": "EMAIL", "summary": "x" }), "BAD_USER_INPUT"),
            ("no customer", json!({ "customerId": uuid::Uuid::now_v7().to_string(), "channel": "EMAIL", "summary": "x" }), "NOT_FOUND"),
        ] {
            let body = app.graphql(log, json!({ "i": input }), Some(&agent.token)).await;
            assert_eq!(tests::error_code(&body), Some(code), "{name}: {body}");
        }
        let analyst = app.staff(&[Role::Analyst]).await;
        let denied = app.graphql(log, json!({ "i": { "customerId": customer, "channel": "EMAIL", "summary": "x" } }), Some(&analyst.token)).await;
        assert_error(&denied, "FORBIDDEN");
        assert_eq!(app.count("customer_contacts").await, 2);

        let q = "query($id: ID!){ customer(id: $id) { contacts { summary } } customers { nodes { contacts { summary } } } }";
        let body = app.graphql(q, json!({ "id": customer }), Some(&agent.token)).await;
        assert_eq!(body["data"]["customer"]["contacts"], json!([{ "summary": "earlier" }, { "summary": "Stream freezes" }]), "{body}");
    })
    .await;
}
