//! Orders from the storefront: idempotent ingest, validation, payment, listing.

use serde_json::{json, Value};
use tests::{assert_error, on_every_backend, order_input, CREATE_ORDER};

use api::domain::Role;

#[tokio::test]
async fn the_storefront_creates_orders_idempotently() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let mut input = order_input("SO-1001", "  Jane@Example.com ");
        let created = app.create_order(&shop.token, input.clone()).await;
        assert_eq!(created["status"], "PAID");
        assert_eq!(created["total"], json!({ "amount": "29.99", "currency": "EUR" }));
        assert_eq!(created["refundable"]["amount"], "29.99");
        assert_eq!(created["refundedTotal"]["amount"], "0.00");
        assert_eq!(created["placedAt"], "2026-11-01T10:00:00Z");
        assert_eq!(created["customer"]["email"], "jane@example.com");
        assert_eq!(created["customer"]["phone"], "+4915112345689");

        // The same order again (a retry) returns the same order, writes nothing.
        let audit_before = app.count("audit_log").await;
        let again = app.create_order(&shop.token, input.clone()).await;
        assert_eq!(again["id"], created["id"]);
        assert_eq!(app.count("orders").await, 1);
        assert_eq!(app.count("customers").await, 1);
        assert_eq!(app.count("audit_log").await, audit_before);

        // Same number, other data: conflict.
        input["total"]["amount"] = json!("30.00");
        let body = app.graphql(CREATE_ORDER, json!({ "i": input }), Some(&shop.token)).await;
        assert_error(&body, "CONFLICT");

        // A second order of the same customer reuses the customer.
        let second = app.create_order(&shop.token, order_input("SO-1002", "jane@example.com")).await;
        assert_eq!(second["customer"]["id"], created["customer"]["id"]);
        assert_eq!(app.count("customers").await, 1);

        // The creation is audited with the integration account as actor.
        let admin = app.staff(&[Role::Admin]).await;
        let audit = app
            .graphql(
                "query($id: ID!){ auditLog(filter: { entityId: $id }) { nodes { action actor { id } } } }",
                json!({ "id": created["id"] }),
                Some(&admin.token),
            )
            .await;
        assert_eq!(audit["data"]["auditLog"]["nodes"][0]["action"], "order.create", "{audit}");
        assert_eq!(audit["data"]["auditLog"]["nodes"][0]["actor"]["id"], shop.id.as_str());
    })
    .await;
}

#[tokio::test]
async fn concurrent_creates_of_one_order_make_exactly_one() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let input = order_input("SO-RACE", "race@example.com");
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (client, url, token, input) = (
                app.client.clone(),
                app.url("/graphql"),
                shop.token.clone(),
                input.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let res = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "query": CREATE_ORDER, "variables": { "i": input } }))
                    .send()
                    .await
                    .unwrap();
                res.json::<Value>().await.unwrap()
            }));
        }
        let mut ids = std::collections::HashSet::new();
        for t in tasks {
            let body = t.await.unwrap();
            assert!(body["errors"].is_null(), "{:?}: {body}", app.backend);
            ids.insert(
                body["data"]["createOrder"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        assert_eq!(ids.len(), 1);
        assert_eq!(app.count("orders").await, 1);
        assert_eq!(app.count("customers").await, 1);
    })
    .await;
}

#[tokio::test]
async fn invalid_orders_are_refused_with_bad_user_input_and_nothing_is_written() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let base = order_input("SO-BAD", "bad@example.com");
        let mutate = |f: &dyn Fn(&mut Value)| {
            let mut v = base.clone();
            f(&mut v);
            v
        };
        let cases: Vec<(&str, Value)> = vec![
            ("bad email", mutate(&|v| v["customerEmail"] = json!("nope"))),
            (
                "bad phone",
                mutate(&|v| v["customerPhone"] = json!("12345")),
            ),
            ("2 months", mutate(&|v| v["planMonths"] = json!(2))),
            ("0 devices", mutate(&|v| v["devices"] = json!(0))),
            ("11 devices", mutate(&|v| v["devices"] = json!(11))),
            (
                "too many decimals",
                mutate(&|v| v["total"]["amount"] = json!("1.005")),
            ),
            (
                "JPY decimals",
                mutate(&|v| v["total"] = json!({ "amount": "100.5", "currency": "JPY" })),
            ),
            (
                "zero total",
                mutate(&|v| v["total"]["amount"] = json!("0.00")),
            ),
            (
                "negative total",
                mutate(&|v| v["total"]["amount"] = json!("-5.00")),
            ),
            (
                "overflow",
                mutate(&|v| v["total"]["amount"] = json!("99999999999999999999.99")),
            ),
            (
                "float amount",
                mutate(&|v| v["total"]["amount"] = json!(29.99)),
            ),
            (
                "unknown currency",
                mutate(&|v| v["total"]["currency"] = json!("XXX")),
            ),
            ("empty number", mutate(&|v| v["number"] = json!("  "))),
            (
                "paid before placed",
                mutate(&|v| v["paidAt"] = json!("2026-10-01T00:00:00Z")),
            ),
            (
                "placed in the future",
                mutate(&|v| v["placedAt"] = json!("2099-01-01T00:00:00Z")),
            ),
            (
                "bad timestamp",
                mutate(&|v| v["placedAt"] = json!("yesterday")),
            ),
            (
                "unknown method",
                mutate(&|v| v["paymentMethod"] = json!("CASH")),
            ),
        ];
        for (name, input) in cases {
            let body = app
                .graphql(CREATE_ORDER, json!({ "i": input }), Some(&shop.token))
                .await;
            assert_eq!(
                tests::error_code(&body),
                Some("BAD_USER_INPUT"),
                "{name}: {body}"
            );
        }
        assert_eq!(app.count("orders").await, 0);
        assert_eq!(app.count("customers").await, 0);
    })
    .await;
}

#[tokio::test]
async fn restricted_customers_cannot_order_until_an_admin_lifts_it() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let admin = app.staff(&[Role::Admin]).await;
        let first = app.create_order(&shop.token, order_input("SO-R1", "r@example.com")).await;
        let customer_id = first["customer"]["id"].as_str().unwrap().to_string();
        // Restriction comes from chargebacks; set it directly here.
        use sea_orm::ConnectionTrait;
        let sql = "UPDATE customers SET restricted = true, restriction_reason = 'CHARGEBACK_WITHOUT_PRIOR_CONTACT'";
        app.db.execute_unprepared(sql).await.unwrap();

        let audit_before = app.count("audit_log").await;
        let body = app
            .graphql(CREATE_ORDER, json!({ "i": order_input("SO-R2", "r@example.com") }), Some(&shop.token))
            .await;
        assert_error(&body, "CUSTOMER_RESTRICTED");
        assert_eq!(app.count("orders").await, 1);
        assert_eq!(app.count("audit_log").await, audit_before);

        let lift = "mutation($id: ID!, $n: String!){ liftCustomerRestriction(customerId: $id, note: $n) { restricted restrictionReason } }";
        let manager = app.staff(&[Role::RefundManager]).await;
        assert_error(&app.graphql(lift, json!({ "id": customer_id, "n": "ok" }), Some(&manager.token)).await, "FORBIDDEN");
        assert_error(&app.graphql(lift, json!({ "id": customer_id, "n": " " }), Some(&admin.token)).await, "BAD_USER_INPUT");
        let body = app.graphql(lift, json!({ "id": customer_id, "n": "resolved with the bank" }), Some(&admin.token)).await;
        assert_eq!(body["data"]["liftCustomerRestriction"], json!({ "restricted": false, "restrictionReason": null }), "{body}");
        assert_error(&app.graphql(lift, json!({ "id": customer_id, "n": "again" }), Some(&admin.token)).await, "INVALID_TRANSITION");
        app.create_order(&shop.token, order_input("SO-R2", "r@example.com")).await;
    })
    .await;
}

#[tokio::test]
async fn pending_orders_are_marked_paid_once() {
    on_every_backend(|app| async move {
        let agent = app.staff(&[Role::SupportAgent]).await;
        let mut input = order_input("SO-P1", "p@example.com");
        input["paidAt"] = Value::Null;
        let order = app.create_order(&agent.token, input).await;
        assert_eq!(order["status"], "PENDING");
        let q = "mutation($id: ID!, $t: DateTime!){ markOrderPaid(orderId: $id, paidAt: $t, paymentReference: \"pi_9\") { status paidAt paymentReference } }";
        let early = app.graphql(q, json!({ "id": order["id"], "t": "2026-10-01T00:00:00Z" }), Some(&agent.token)).await;
        assert_error(&early, "BAD_USER_INPUT");
        let body = app.graphql(q, json!({ "id": order["id"], "t": "2026-11-02T00:00:00+01:00" }), Some(&agent.token)).await;
        assert_eq!(
            body["data"]["markOrderPaid"],
            json!({ "status": "PAID", "paidAt": "2026-11-01T23:00:00Z", "paymentReference": "pi_9" }),
            "{body}"
        );
        let again = app.graphql(q, json!({ "id": order["id"], "t": "2026-11-03T00:00:00Z" }), Some(&agent.token)).await;
        assert_error(&again, "INVALID_TRANSITION");
        let missing = app.graphql(q, json!({ "id": uuid::Uuid::now_v7().to_string(), "t": "2026-11-03T00:00:00Z" }), Some(&agent.token)).await;
        assert_error(&missing, "NOT_FOUND");
    })
    .await;
}

#[tokio::test]
async fn only_order_writers_write_orders_and_integration_reads_only_orders_and_customers() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let order = app.create_order(&shop.token, order_input("SO-W1", "w@example.com")).await;
        for role in [Role::RefundManager, Role::Finance, Role::Analyst] {
            let who = app.staff(&[role]).await;
            let body = app.graphql(CREATE_ORDER, json!({ "i": order_input("SO-W2", "w@example.com") }), Some(&who.token)).await;
            assert_error(&body, "FORBIDDEN");
            let paid = app
                .graphql(
                    "mutation($id: ID!){ markOrderPaid(orderId: $id, paidAt: \"2026-11-02T00:00:00Z\") { id } }",
                    json!({ "id": order["id"] }),
                    Some(&who.token),
                )
                .await;
            assert_error(&paid, "FORBIDDEN");
            // Every staff role reads orders.
            let read = app.graphql("query($id: ID!){ order(id: $id) { number } }", json!({ "id": order["id"] }), Some(&who.token)).await;
            assert_eq!(read["data"]["order"]["number"], "SO-W1");
        }
        assert_eq!(app.count("orders").await, 1);
        let contact = app
            .graphql(
                "mutation($c: ID!){ logContact(input: { customerId: $c, channel: EMAIL, summary: \"hi\" }) { id } }",
                json!({ "c": order["customer"]["id"] }),
                Some(&shop.token),
            )
            .await;
        assert_error(&contact, "FORBIDDEN");
        assert_error(&app.graphql("{ auditLog { totalCount } }", json!({}), Some(&shop.token)).await, "FORBIDDEN");
        let read = app.graphql("{ customers { totalCount } orders { totalCount } }", json!({}), Some(&shop.token)).await;
        assert_eq!(read["data"]["customers"]["totalCount"], 1, "{read}");
        assert_error(&app.graphql("{ orders { totalCount } }", json!({}), None).await, "UNAUTHENTICATED");
    })
    .await;
}

#[tokio::test]
async fn orders_page_forwards_and_backwards_with_filters() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        for i in 0..7 {
            let mut input = order_input(&format!("SO-L{i}"), if i % 2 == 0 { "even@example.com" } else { "odd@example.com" });
            input["placedAt"] = json!(format!("2026-10-0{}T10:00:00Z", i + 1));
            input["paidAt"] = if i == 6 { Value::Null } else { json!(format!("2026-10-0{}T11:00:00Z", i + 1)) };
            app.create_order(&shop.token, input).await;
        }
        let q = "query($f: Int, $a: String, $l: Int, $b: String, $filter: OrderFilter){ orders(first: $f, after: $a, last: $l, before: $b, filter: $filter) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { number } } }";
        let numbers = |body: &Value| -> Vec<String> {
            body["data"]["orders"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).iter().map(|n| n["number"].as_str().unwrap().to_string()).collect()
        };
        let p1 = app.graphql(q, json!({ "f": 3 }), Some(&shop.token)).await;
        assert_eq!(numbers(&p1), ["SO-L6", "SO-L5", "SO-L4"], "newest first");
        assert_eq!(p1["data"]["orders"]["totalCount"], 7);
        assert_eq!(p1["data"]["orders"]["pageInfo"]["hasNextPage"], true);
        let after = p1["data"]["orders"]["pageInfo"]["endCursor"].clone();
        // An insert between pages does not shift the next page.
        app.create_order(&shop.token, order_input("SO-NEW", "new@example.com")).await;
        let p2 = app.graphql(q, json!({ "f": 3, "a": after }), Some(&shop.token)).await;
        assert_eq!(numbers(&p2), ["SO-L3", "SO-L2", "SO-L1"]);
        let before = p2["data"]["orders"]["pageInfo"]["startCursor"].clone();
        let back = app.graphql(q, json!({ "l": 2, "b": before }), Some(&shop.token)).await;
        assert_eq!(numbers(&back), ["SO-L5", "SO-L4"]);
        assert_eq!(back["data"]["orders"]["pageInfo"]["hasPreviousPage"], true);
        let last = app.graphql(q, json!({ "l": 2 }), Some(&shop.token)).await;
        assert_eq!(numbers(&last), ["SO-L1", "SO-L0"]);
        assert_eq!(last["data"]["orders"]["pageInfo"]["hasNextPage"], false);

        let filtered = |filter: Value| app.graphql(q, json!({ "f": 100, "filter": filter }), Some(&shop.token));
        assert_eq!(numbers(&filtered(json!({ "status": ["PENDING"] })).await), ["SO-L6"]);
        assert_eq!(numbers(&filtered(json!({ "customerEmail": "ODD@example.com" })).await), ["SO-L5", "SO-L3", "SO-L1"]);
        assert_eq!(numbers(&filtered(json!({ "number": "SO-L2" })).await), ["SO-L2"]);
        assert_eq!(
            numbers(&filtered(json!({ "placedFrom": "2026-10-02T00:00:00Z", "placedTo": "2026-10-04T00:00:00Z" })).await),
            ["SO-L2", "SO-L1"]
        );
        assert_error(&app.graphql(q, json!({ "f": 101 }), Some(&shop.token)).await, "BAD_USER_INPUT");
        assert_error(&app.graphql(q, json!({ "f": 1, "l": 1 }), Some(&shop.token)).await, "BAD_USER_INPUT");
        let by_number = app.graphql("{ orderByNumber(number: \"SO-L3\") { number customer { orders(first: 10) { totalCount } } } }", json!({}), Some(&shop.token)).await;
        assert_eq!(by_number["data"]["orderByNumber"]["customer"]["orders"]["totalCount"], 3, "{by_number}");
        let none = app.graphql("{ orderByNumber(number: \"nope\") { number } }", json!({}), Some(&shop.token)).await;
        assert!(none["data"]["orderByNumber"].is_null());
    })
    .await;
}

#[tokio::test]
async fn a_look_alike_address_does_not_escape_a_restriction() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        app.create_order(&shop.token, order_input("SO-L1", "r@example.com")).await;
        use sea_orm::ConnectionTrait;
        app.db
            .execute_unprepared("UPDATE customers SET restricted = true, restriction_reason = 'CHARGEBACK_WITHOUT_PRIOR_CONTACT'")
            .await
            .unwrap();
        for (n, email, code) in [
            (2, "r\u{200B}@example.com", "BAD_USER_INPUT"),
            (3, "\u{2060}r@example.com", "BAD_USER_INPUT"),
            (4, "Ｒ@example.com", "CUSTOMER_RESTRICTED"),
            (5, "r@ＥＸＡＭＰＬＥ.com", "CUSTOMER_RESTRICTED"),
        ] {
            let body = app
                .graphql(CREATE_ORDER, json!({ "i": order_input(&format!("SO-L{n}"), email) }), Some(&shop.token))
                .await;
            assert_error(&body, code);
        }
        assert_eq!((app.count("orders").await, app.count("customers").await), (1, 1), "{:?}", app.backend);
    })
    .await;
}

#[tokio::test]
async fn amounts_stop_at_ten_to_the_twelve_and_sums_at_the_ceiling_are_exact() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let finance = app.staff(&[Role::Finance]).await;
        let ctx = format!("{:?}", app.backend);
        let jpy = |n: &str, amount: &str| {
            let mut i = order_input(n, "big@example.com");
            i["total"] = json!({ "amount": amount, "currency": "JPY" });
            i
        };
        // One minor unit over the ceiling, and the audit's i64::MAX.
        for amount in ["1000000000001", "9223372036854775807"] {
            let body = app.graphql(CREATE_ORDER, json!({ "i": jpy("SO-OVER", amount) }), Some(&shop.token)).await;
            assert_error(&body, "BAD_USER_INPUT");
        }
        // Enough orders at the ceiling that a 64-bit sum would be near its end:
        // 9 of them plus a normal one, and chargebacks past the total.
        let mut ids = Vec::new();
        for i in 0..9 {
            ids.push(app.create_order(&shop.token, jpy(&format!("SO-MAX{i}"), "1000000000000")).await["id"].as_str().unwrap().to_string());
        }
        app.create_order(&shop.token, jpy("SO-NORMAL", "500")).await;
        let report = app
            .graphql(
                "{ refundReport(from: \"2026-11-01T00:00:00Z\", to: \"2026-12-01T00:00:00Z\", interval: MONTH, currency: \"JPY\") { totals { ordersPaid revenue { amount } } } }",
                json!({}),
                Some(&finance.token),
            )
            .await;
        let totals = &report["data"]["refundReport"]["totals"];
        assert_eq!(totals["ordersPaid"], 10, "{ctx} {report}");
        assert_eq!(totals["revenue"]["amount"], "9000000000500", "{ctx} {report}");
        let record = "mutation($o: ID!, $r: String!){ recordChargeback(input: { orderId: $o, amount: { amount: \"1000000000000\", currency: \"JPY\" }, reasonCode: \"fraud\", providerReference: $r, openedAt: \"2026-11-05T00:00:00Z\" }) { overlapsRefund order { refundable { amount } } } }";
        for n in 0..3 {
            let body = app.graphql(record, json!({ "o": ids[0], "r": format!("dp_max_{n}") }), Some(&finance.token)).await;
            assert!(body["errors"].is_null(), "{ctx} chargeback {n}: {body}");
            let cb = &body["data"]["recordChargeback"];
            assert_eq!(cb["order"]["refundable"]["amount"], "0", "{ctx} {body}");
            // Chargebacks past the total overlap (DESIGN.md: SENT/SETTLED
            // payouts plus chargebacks exceed the total), computed exactly.
            assert_eq!(cb["overlapsRefund"], n > 0, "{ctx} {body}");
        }
    })
    .await;
}
