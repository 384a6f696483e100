//! The refund report: buckets in UTC, every figure in the bucket of its own
//! timestamp, computed by the database on every backend.

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use tests::{assert_error, on_every_backend, order_input};

use api::domain::Role;

const REPORT: &str = "query($f: DateTime!, $t: DateTime!, $i: ReportInterval!, $c: String!){ refundReport(from: $f, to: $t, interval: $i, currency: $c) { from to currency totals { ordersPaid revenue { amount } claimsSubmitted claimsApproved claimsRejected refunded { amount } refundRate chargebacksOpened medianHoursToDecision payoutsOverdue } buckets { periodStart ordersPaid revenue { amount } claimsSubmitted claimsApproved claimsRejected refunded { amount } chargebacksOpened medianHoursToDecision } byReason { reason count amount { amount } } byStatus { status count } } }";

#[tokio::test]
async fn the_report_buckets_each_figure_by_its_own_timestamp() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let agent = app.staff(&[Role::SupportAgent]).await;
        let manager = app.staff(&[Role::RefundManager]).await;
        let finance = app.staff(&[Role::Finance]).await;
        let analyst = app.staff(&[Role::Analyst]).await;
        // Three EUR orders paid on 1 Feb; one USD order that must not count.
        let mut claims = Vec::new();
        for (i, (total, reason, submitted)) in [("10.00", "NOT_DELIVERED", "2026-02-04T00:00:00Z"), ("20.00", "NOT_DELIVERED", "2026-02-05T00:00:00Z"), ("30.00", "OTHER", "2026-02-06T00:00:00Z")].iter().enumerate() {
            let order = app.delivered_order(&shop.token, &format!("SO-REP{i}"), total, None).await;
            let body = app.submit_claim(&agent.token, json!({ "orderId": order, "reason": reason, "description": "x", "channel": "EMAIL", "submittedAt": submitted })).await;
            claims.push(body["data"]["submitClaim"]["id"].as_str().unwrap().to_string());
        }
        let mut usd = order_input("SO-USD", "usd@example.com");
        usd["total"] = json!({ "amount": "99.00", "currency": "USD" });
        usd["paidAt"] = json!("2026-02-01T00:00:00Z");
        usd["placedAt"] = json!("2026-02-01T00:00:00Z");
        app.create_order(&shop.token, usd).await;

        let a = app.approve(&manager.token, json!({ "claimId": claims[0] })).await;
        app.approve(&manager.token, json!({ "claimId": claims[1] })).await;
        let reject = "mutation($id: ID!){ rejectClaim(input: { claimId: $id, reason: OTHER, note: \"no\" }) { status } }";
        app.graphql(reject, json!({ "id": claims[2] }), Some(&manager.token)).await;
        let payout = a["data"]["approveClaim"]["payouts"][0]["id"].as_str().unwrap().to_string();
        for call in [format!("markPayoutSent(payoutId: \"{payout}\", externalReference: \"r\")"), format!("markPayoutSettled(payoutId: \"{payout}\")")] {
            app.graphql(&format!("mutation {{ {call} {{ status }} }}"), json!({}), Some(&finance.token)).await;
        }
        // Decisions and settlement happened "now"; pin them to February so the test is exact.
        for (claim, decided) in [(&claims[0], "2026-02-04 10:00:00"), (&claims[1], "2026-02-05 20:00:00"), (&claims[2], "2026-02-08 12:00:00")] {
            let sql = format!("UPDATE refund_claims SET decided_at = {} WHERE id = {}", ts(&app, decided), id(&app, claim));
            app.db.execute_unprepared(&sql).await.unwrap();
        }
        app.db.execute_unprepared(&format!("UPDATE payouts SET settled_at = {}", ts(&app, "2026-02-10 09:00:00"))).await.unwrap();
        let record = "mutation($o: ID!){ recordChargeback(input: { orderId: $o, amount: { amount: \"5.00\", currency: \"EUR\" }, reasonCode: \"4837\", providerReference: \"cb-rep\", openedAt: \"2026-03-03T00:00:00Z\" }) { id } }";
        let order_of_claim2 = app.graphql("query($id: ID!){ claim(id: $id) { order { id } } }", json!({ "id": claims[2] }), Some(&manager.token)).await;
        app.graphql(record, json!({ "o": order_of_claim2["data"]["claim"]["order"]["id"] }), Some(&finance.token)).await;

        let vars = json!({ "f": "2026-01-15T00:00:00Z", "t": "2026-04-01T00:00:00Z", "i": "MONTH", "c": "EUR" });
        let body = app.graphql(REPORT, vars, Some(&analyst.token)).await;
        let r = &body["data"]["refundReport"];
        let starts: Vec<&str> = r["buckets"].as_array().unwrap_or_else(|| panic!("{body}")).iter().map(|b| b["periodStart"].as_str().unwrap()).collect();
        assert_eq!(starts, ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"], "{body}");
        let feb = &r["buckets"][1];
        assert_eq!(feb["ordersPaid"], 3, "{:?} {body}", app.backend);
        assert_eq!(feb["revenue"]["amount"], "60.00");
        assert_eq!(feb["claimsSubmitted"], 3);
        assert_eq!(feb["claimsApproved"], 2);
        assert_eq!(feb["claimsRejected"], 1);
        assert_eq!(feb["refunded"]["amount"], "10.00");
        // Decision times 10 h, 20 h and 60 h: the median is 20 h.
        assert_eq!(feb["medianHoursToDecision"], 20.0);
        assert_eq!(r["buckets"][2]["chargebacksOpened"], 1);
        assert!(r["buckets"][0]["medianHoursToDecision"].is_null());
        let totals = &r["totals"];
        assert_eq!(totals["ordersPaid"], 3);
        assert_eq!(totals["refundRate"].as_f64().unwrap(), 10.0 / 60.0);
        assert_eq!(totals["medianHoursToDecision"], 20.0);
        assert_eq!(r["byReason"], json!([{ "reason": "NOT_DELIVERED", "count": 2, "amount": { "amount": "30.00" } }, { "reason": "OTHER", "count": 1, "amount": { "amount": "30.00" } }]));
        let statuses: Vec<(String, i64)> = r["byStatus"].as_array().unwrap().iter().map(|s| (s["status"].as_str().unwrap().to_string(), s["count"].as_i64().unwrap())).collect();
        assert_eq!(statuses, [("APPROVED".to_string(), 1), ("REFUNDED".to_string(), 1), ("REJECTED".to_string(), 1)]);

        // ISO weeks start on Monday (2 Feb 2026 is one).
        let weeks = app.graphql(REPORT, json!({ "f": "2026-02-01T00:00:00Z", "t": "2026-02-09T00:00:00Z", "i": "WEEK", "c": "EUR" }), Some(&analyst.token)).await;
        let w: Vec<(String, Value)> = weeks["data"]["refundReport"]["buckets"].as_array().unwrap().iter().map(|b| (b["periodStart"].as_str().unwrap().to_string(), b["claimsSubmitted"].clone())).collect();
        assert_eq!(w, [("2026-01-26T00:00:00Z".to_string(), json!(0)), ("2026-02-02T00:00:00Z".to_string(), json!(3))], "{weeks}");
        let days = app.graphql(REPORT, json!({ "f": "2026-02-04T00:00:00Z", "t": "2026-02-06T00:00:00Z", "i": "DAY", "c": "EUR" }), Some(&analyst.token)).await;
        let d: Vec<Value> = days["data"]["refundReport"]["buckets"].as_array().unwrap().iter().map(|b| b["claimsSubmitted"].clone()).collect();
        assert_eq!(d, [json!(1), json!(1)], "{days}");
        let usd = app.graphql(REPORT, json!({ "f": "2026-01-01T00:00:00Z", "t": "2026-04-01T00:00:00Z", "i": "MONTH", "c": "USD" }), Some(&analyst.token)).await;
        assert_eq!(usd["data"]["refundReport"]["totals"]["revenue"]["amount"], "99.00", "{usd}");
    })
    .await;
}

fn ts(app: &tests::TestApp, naive: &str) -> String {
    match app.backend {
        tests::Backend::Sqlite => format!("'{}+00:00'", naive.replace(' ', "T")),
        tests::Backend::Postgres => format!("'{naive}+00'"),
        tests::Backend::MySql => format!("'{naive}'"),
    }
}

fn id(app: &tests::TestApp, uuid: &str) -> String {
    let u = uuid::Uuid::parse_str(uuid).unwrap();
    match app.backend {
        tests::Backend::Sqlite => format!("X'{}'", u.simple().to_string().to_uppercase()),
        tests::Backend::Postgres => format!("'{u}'"),
        tests::Backend::MySql => format!("UNHEX('{}')", u.simple()),
    }
}

#[tokio::test]
async fn report_arguments_and_roles_are_checked() {
    on_every_backend(|app| async move {
        let finance = app.staff(&[Role::Finance]).await;
        let agent = app.staff(&[Role::SupportAgent]).await;
        let cases = [
            (json!({ "f": "2026-02-01T00:00:00Z", "t": "2026-02-01T00:00:00Z", "i": "DAY", "c": "EUR" }), "BAD_USER_INPUT"),
            (json!({ "f": "2020-01-01T00:00:00Z", "t": "2026-01-01T00:00:00Z", "i": "DAY", "c": "EUR" }), "BAD_USER_INPUT"),
            (json!({ "f": "2026-01-01T00:00:00Z", "t": "2026-02-01T00:00:00Z", "i": "DAY", "c": "ZZZ" }), "BAD_USER_INPUT"),
        ];
        for (vars, code) in cases {
            assert_error(&app.graphql(REPORT, vars, Some(&finance.token)).await, code);
        }
        let ok = app.graphql(REPORT, json!({ "f": "2020-01-01T00:00:00Z", "t": "2026-01-01T00:00:00Z", "i": "MONTH", "c": "EUR" }), Some(&finance.token)).await;
        assert_eq!(ok["data"]["refundReport"]["buckets"].as_array().map(Vec::len), Some(72), "{ok}");
        let denied = app.graphql(REPORT, json!({ "f": "2026-01-01T00:00:00Z", "t": "2026-02-01T00:00:00Z", "i": "DAY", "c": "EUR" }), Some(&agent.token)).await;
        assert_error(&denied, "FORBIDDEN");
    })
    .await;
}
