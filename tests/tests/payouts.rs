//! Payouts: their lifecycle, retries, the expected window, and what
//! settlement does to claims and orders.

use serde_json::{json, Value};
use tests::{assert_error, on_every_backend, TestApp};

use api::domain::Role;

const PAYOUT: &str = "id status amount { amount } method sameMethodAsOrder externalReference initiatedAt expectedEarliest expectedLatest overdue settledAt failureReason claim { id status } order { status refundedTotal { amount } refundable { amount } }";

/// An approved claim of `amount` on a fresh order of `total`; returns the payout id.
async fn approved_payout(
    app: &TestApp,
    number: &str,
    total: &str,
    amount: &str,
) -> (String, String) {
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let manager = app.staff(&[Role::RefundManager]).await;
    let order = app.delivered_order(&shop.token, number, total, None).await;
    let body = app
        .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "never arrived", "channel": "EMAIL" }))
        .await;
    let claim = body["data"]["submitClaim"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    let body = app
        .approve(
            &manager.token,
            json!({ "claimId": claim, "amount": { "amount": amount, "currency": "EUR" } }),
        )
        .await;
    let payout = body["data"]["approveClaim"]["payouts"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    (order, payout)
}

async fn op(app: &TestApp, token: &str, call: &str) -> Value {
    let name = call.split('(').next().unwrap();
    let body = app
        .graphql(
            &format!("mutation {{ {call} {{ {PAYOUT} }} }}"),
            json!({}),
            Some(token),
        )
        .await;
    if body["errors"].is_null() {
        body["data"][name].clone()
    } else {
        body
    }
}

#[tokio::test]
async fn a_payout_is_sent_then_settled_and_the_claim_and_order_follow() {
    on_every_backend(|app| async move {
        let finance = app.staff(&[Role::Finance]).await;
        let (_, payout) = approved_payout(&app, "SO-PAY1", "20.00", "20.00").await;
        let listed = app.graphql(&format!("{{ payouts(filter: {{ status: [PENDING] }}) {{ totalCount nodes {{ {PAYOUT} }} }} }}"), json!({}), Some(&finance.token)).await;
        let p = &listed["data"]["payouts"]["nodes"][0];
        assert_eq!(listed["data"]["payouts"]["totalCount"], 1, "{listed}");
        // 3..10 business days after today's date (UTC).
        let today = chrono::Utc::now().date_naive();
        assert_eq!(p["expectedEarliest"], api::domain::period::add_business_days(today, 3).to_string());
        assert_eq!(p["expectedLatest"], api::domain::period::add_business_days(today, 10).to_string());
        assert_eq!(p["overdue"], false);

        // No shortcut from PENDING to SETTLED; references are required.
        assert_error(&op(&app, &finance.token, &format!("markPayoutSettled(payoutId: \"{payout}\")")).await, "INVALID_TRANSITION");
        assert_error(&op(&app, &finance.token, &format!("markPayoutSent(payoutId: \"{payout}\", externalReference: \" \")")).await, "BAD_USER_INPUT");
        let manager = app.staff(&[Role::RefundManager]).await;
        assert_error(&op(&app, &manager.token, &format!("markPayoutSent(payoutId: \"{payout}\", externalReference: \"re_1\")")).await, "FORBIDDEN");

        let sent = op(&app, &finance.token, &format!("markPayoutSent(payoutId: \"{payout}\", externalReference: \"re_1\")")).await;
        assert_eq!(sent["status"], "SENT", "{sent}");
        assert_eq!(sent["externalReference"], "re_1");
        assert_eq!(sent["order"]["status"], "PAID", "the order stays PAID until settlement");
        assert_error(&op(&app, &finance.token, &format!("markPayoutSettled(payoutId: \"{payout}\", settledAt: \"2099-01-01T00:00:00Z\")")).await, "BAD_USER_INPUT");
        let settled = op(&app, &finance.token, &format!("markPayoutSettled(payoutId: \"{payout}\")")).await;
        assert_eq!(settled["status"], "SETTLED", "{settled}");
        assert!(settled["settledAt"].is_string());
        assert_eq!(settled["claim"]["status"], "REFUNDED");
        assert_eq!(settled["order"]["status"], "REFUNDED");
        assert_eq!(settled["order"]["refundedTotal"]["amount"], "20.00");
        assert_eq!(settled["order"]["refundable"]["amount"], "0.00");
        assert_error(&op(&app, &finance.token, &format!("markPayoutFailed(payoutId: \"{payout}\", reason: \"x\")")).await, "INVALID_TRANSITION");

        // A partial refund leaves the order PARTIALLY_REFUNDED.
        let (_, partial) = approved_payout(&app, "SO-PAY2", "20.00", "5.00").await;
        op(&app, &finance.token, &format!("markPayoutSent(payoutId: \"{partial}\", externalReference: \"re_2\")")).await;
        let settled = op(&app, &finance.token, &format!("markPayoutSettled(payoutId: \"{partial}\")")).await;
        assert_eq!(settled["order"]["status"], "PARTIALLY_REFUNDED", "{settled}");
        assert_eq!(settled["claim"]["status"], "REFUNDED");
    })
    .await;
}

#[tokio::test]
async fn failed_payouts_are_retried_once_and_other_methods_need_a_note() {
    on_every_backend(|app| async move {
        let finance = app.staff(&[Role::Finance]).await;
        let (_, payout) = approved_payout(&app, "SO-RETRY", "20.00", "20.00").await;
        assert_error(&op(&app, &finance.token, &format!("retryPayout(payoutId: \"{payout}\")")).await, "INVALID_TRANSITION");
        assert_error(&op(&app, &finance.token, &format!("markPayoutFailed(payoutId: \"{payout}\", reason: \"\")")).await, "BAD_USER_INPUT");
        let failed = op(&app, &finance.token, &format!("markPayoutFailed(payoutId: \"{payout}\", reason: \"card expired\")")).await;
        assert_eq!(failed["status"], "FAILED", "{failed}");
        assert_eq!(failed["failureReason"], "card expired");
        assert_eq!(failed["order"]["refundable"]["amount"], "20.00", "a failed payout frees its amount");

        assert_error(&op(&app, &finance.token, &format!("retryPayout(payoutId: \"{payout}\", method: BANK_TRANSFER)")).await, "BAD_USER_INPUT");
        // Ten simultaneous retries create exactly one payout.
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (client, url, token, payout) = (app.client.clone(), app.url("/graphql"), finance.token.clone(), payout.clone());
            tasks.push(tokio::spawn(async move {
                let q = format!("mutation {{ retryPayout(payoutId: \"{payout}\", method: BANK_TRANSFER, note: \"card closed, IBAN given\", idempotencyKey: \"k{i}\") {{ id sameMethodAsOrder method status }} }}");
                client.post(url).bearer_auth(token).json(&json!({ "query": q })).send().await.unwrap().json::<Value>().await.unwrap()
            }));
        }
        let mut created = Vec::new();
        for t in tasks {
            let body = t.await.unwrap();
            match tests::error_code(&body) {
                None => created.push(body["data"]["retryPayout"].clone()),
                Some("INVALID_TRANSITION") | Some("CONFLICT") => {}
                other => panic!("{:?}: unexpected {other:?}: {body}", app.backend),
            }
        }
        assert_eq!(created.len(), 1, "{:?}", app.backend);
        assert_eq!(created[0]["status"], "PENDING");
        assert_eq!(created[0]["method"], "BANK_TRANSFER");
        assert_eq!(created[0]["sameMethodAsOrder"], false);
        assert_eq!(app.count("payouts").await, 2);
        // A second retry of the same failure is refused.
        assert_error(&op(&app, &finance.token, &format!("retryPayout(payoutId: \"{payout}\", note: \"again\")")).await, "INVALID_TRANSITION");
    })
    .await;
}

#[tokio::test]
async fn payouts_list_filters_overdue_ones() {
    on_every_backend(|app| async move {
        let finance = app.staff(&[Role::Finance]).await;
        let (_, late) = approved_payout(&app, "SO-LATE", "20.00", "20.00").await;
        approved_payout(&app, "SO-ONTIME", "20.00", "20.00").await;
        // Pretend the first was initiated a month ago.
        use sea_orm::ConnectionTrait;
        let sql = "UPDATE payouts SET expected_latest = '2026-01-15' WHERE id IN (SELECT id FROM (SELECT id FROM payouts ORDER BY id LIMIT 1) AS first_payout)";
        app.db.execute_unprepared(sql).await.unwrap();
        let q = "{ payouts(filter: { overdueOnly: true }) { totalCount nodes { id overdue } } }";
        let body = app.graphql(q, json!({}), Some(&finance.token)).await;
        assert_eq!(body["data"]["payouts"]["totalCount"], 1, "{body}");
        assert_eq!(body["data"]["payouts"]["nodes"][0]["id"], late.as_str());
        assert_eq!(body["data"]["payouts"]["nodes"][0]["overdue"], true);
        let all = app.graphql("{ payouts { totalCount } }", json!({}), Some(&finance.token)).await;
        assert_eq!(all["data"]["payouts"]["totalCount"], 2);
        let shop = app.staff(&[Role::Integration]).await;
        assert_error(&app.graphql("{ payouts { totalCount } }", json!({}), Some(&shop.token)).await, "FORBIDDEN");
    })
    .await;
}
