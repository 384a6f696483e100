//! Chargebacks: recording is never refused for money reasons, prior contact
//! decides the policy action, approvals wait while one is open.

use serde_json::{json, Value};
use tests::{assert_error, on_every_backend, order_input, TestApp, CREATE_ORDER};

use api::domain::Role;

const RECORD: &str = "mutation($i: RecordChargebackInput!){ recordChargeback(input: $i) { id status priorContact actionTaken overlapsRefund amount { amount } order { status activation { status } customer { restricted restrictionReason } claims { status rejectionReason } payouts { status } } } }";

fn chargeback(order: &str, amount: &str, reference: &str, opened_at: &str) -> Value {
    json!({ "i": { "orderId": order, "amount": { "amount": amount, "currency": "EUR" }, "reasonCode": "10.4", "providerReference": reference, "openedAt": opened_at } })
}

struct Setup {
    finance: tests::Staff,
    agent: tests::Staff,
    manager: tests::Staff,
    shop: tests::Staff,
}

async fn setup(app: &TestApp) -> Setup {
    Setup {
        finance: app.staff(&[Role::Finance]).await,
        agent: app.staff(&[Role::SupportAgent]).await,
        manager: app.staff(&[Role::RefundManager]).await,
        shop: app.staff(&[Role::Integration]).await,
    }
}

#[tokio::test]
async fn a_chargeback_without_prior_contact_suspends_restricts_and_rejects() {
    on_every_backend(|app| async move {
        let s = setup(&app).await;
        let order = app.delivered_order(&s.shop.token, "SO-CB1", "30.00", Some("2026-02-01T00:00:00Z")).await;
        // A claim submitted after the chargeback opened is no prior contact.
        let claim = app
            .submit_claim(&s.agent.token, json!({ "orderId": order, "reason": "NOT_WORKING", "description": "x", "channel": "EMAIL", "submittedAt": "2026-02-05T00:00:00Z" }))
            .await;
        assert!(claim["errors"].is_null(), "{claim}");
        let body = app.graphql(RECORD, chargeback(&order, "30.00", "cb_1", "2026-02-04T00:00:00Z"), Some(&s.finance.token)).await;
        let cb = &body["data"]["recordChargeback"];
        assert_eq!(cb["status"], "OPEN", "{body}");
        assert_eq!(cb["priorContact"], false);
        assert_eq!(cb["actionTaken"], "SUSPEND");
        assert_eq!(cb["order"]["activation"]["status"], "SUSPENDED");
        assert_eq!(cb["order"]["customer"], json!({ "restricted": true, "restrictionReason": "CHARGEBACK_WITHOUT_PRIOR_CONTACT" }));
        assert_eq!(cb["order"]["claims"], json!([{ "status": "REJECTED", "rejectionReason": "CHARGEBACK_OPENED" }]));

        // The same report again is the same chargeback; other data is a conflict.
        let again = app.graphql(RECORD, chargeback(&order, "30.00", "cb_1", "2026-02-04T00:00:00Z"), Some(&s.finance.token)).await;
        assert_eq!(again["data"]["recordChargeback"]["id"], cb["id"], "{again}");
        assert_eq!(app.count("chargebacks").await, 1);
        let other = app.graphql(RECORD, chargeback(&order, "29.00", "cb_1", "2026-02-04T00:00:00Z"), Some(&s.finance.token)).await;
        assert_error(&other, "CONFLICT");

        // The restricted customer cannot order.
        let blocked = app.graphql(CREATE_ORDER, json!({ "i": order_input("SO-CB1-NEXT", "claimant@example.com") }), Some(&s.shop.token)).await;
        assert_error(&blocked, "CUSTOMER_RESTRICTED");

        // Lost with nothing left refundable: CHARGED_BACK. Resolving twice is refused.
        let resolve = "mutation($id: ID!, $o: ChargebackStatus!){ resolveChargeback(chargebackId: $id, outcome: $o) { status resolvedAt order { status activation { status } } } }";
        assert_error(&app.graphql(resolve, json!({ "id": cb["id"], "o": "OPEN" }), Some(&s.finance.token)).await, "BAD_USER_INPUT");
        assert_error(&app.graphql(resolve, json!({ "id": cb["id"], "o": "LOST" }), Some(&s.manager.token)).await, "FORBIDDEN");
        let lost = app.graphql(resolve, json!({ "id": cb["id"], "o": "LOST" }), Some(&s.finance.token)).await;
        assert_eq!(lost["data"]["resolveChargeback"]["status"], "LOST", "{lost}");
        assert_eq!(lost["data"]["resolveChargeback"]["order"]["status"], "CHARGED_BACK");
        assert_error(&app.graphql(resolve, json!({ "id": cb["id"], "o": "WON" }), Some(&s.finance.token)).await, "INVALID_TRANSITION");
    })
    .await;
}

#[tokio::test]
async fn with_prior_contact_approvals_wait_for_the_outcome() {
    on_every_backend(|app| async move {
        let s = setup(&app).await;
        let order = app.delivered_order(&s.shop.token, "SO-CB2", "30.00", None).await;
        let claim = app
            .submit_claim(&s.agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "x", "channel": "EMAIL", "submittedAt": "2026-02-02T00:00:00Z" }))
            .await;
        let claim_id = claim["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        let body = app.graphql(RECORD, chargeback(&order, "10.00", "cb_2", "2026-02-03T00:00:00Z"), Some(&s.finance.token)).await;
        let cb = &body["data"]["recordChargeback"];
        assert_eq!(cb["priorContact"], true, "{body}");
        assert_eq!(cb["actionTaken"], "NONE");
        assert_eq!(cb["order"]["customer"]["restricted"], false);
        assert_eq!(cb["order"]["claims"][0]["status"], "SUBMITTED");

        let refused = app
            .approve(&s.manager.token, json!({ "claimId": claim_id, "amount": { "amount": "10.00", "currency": "EUR" }, "overrideReason": "try to override" }))
            .await;
        assert_error(&refused, "POLICY_VIOLATION");
        assert_eq!(refused["errors"][0]["extensions"]["rule"], "CHARGEBACK_OPEN");

        let resolve = "mutation($id: ID!){ resolveChargeback(chargebackId: $id, outcome: WON) { status order { refundable { amount } } } }";
        let won = app.graphql(resolve, json!({ "id": cb["id"] }), Some(&s.finance.token)).await;
        assert_eq!(won["data"]["resolveChargeback"]["order"]["refundable"]["amount"], "30.00", "WON frees the amount: {won}");
        let ok = app.approve(&s.manager.token, json!({ "claimId": claim_id })).await;
        assert_eq!(ok["data"]["approveClaim"]["status"], "APPROVED", "{ok}");

        // A logged contact also counts as prior contact.
        let order = app.delivered_order(&s.shop.token, "SO-CB3", "30.00", None).await;
        let customer = app.graphql("query($id: ID!){ order(id: $id) { customer { id } } }", json!({ "id": order }), Some(&s.agent.token)).await;
        let log = "mutation($c: ID!){ logContact(input: { customerId: $c, channel: PHONE, summary: \"asked for help\", contactedAt: \"2026-02-01T00:00:00Z\" }) { id } }";
        app.graphql(log, json!({ "c": customer["data"]["order"]["customer"]["id"] }), Some(&s.agent.token)).await;
        let body = app.graphql(RECORD, chargeback(&order, "10.00", "cb_3", "2026-02-03T00:00:00Z"), Some(&s.finance.token)).await;
        assert_eq!(body["data"]["recordChargeback"]["priorContact"], true, "{body}");
    })
    .await;
}

#[tokio::test]
async fn chargebacks_cancel_pending_payouts_that_no_longer_fit_and_flag_overlaps() {
    on_every_backend(|app| async move {
        let s = setup(&app).await;
        // A pending payout of 20 on a 30 order; a chargeback of 15 leaves room for 15 only.
        let order = app.delivered_order(&s.shop.token, "SO-CB4", "30.00", None).await;
        let claim = app
            .submit_claim(&s.agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "x", "channel": "EMAIL", "requestedAmount": { "amount": "20.00", "currency": "EUR" }, "submittedAt": "2026-02-02T00:00:00Z" }))
            .await;
        let claim_id = claim["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        app.approve(&s.manager.token, json!({ "claimId": claim_id })).await;
        let body = app.graphql(RECORD, chargeback(&order, "15.00", "cb_4", "2026-02-03T00:00:00Z"), Some(&s.finance.token)).await;
        let cb = &body["data"]["recordChargeback"];
        assert_eq!(cb["order"]["payouts"], json!([{ "status": "CANCELLED" }]), "{body}");
        assert_eq!(cb["overlapsRefund"], false);

        // A settled payout plus a chargeback beyond the total: recorded anyway, flagged.
        let (order2, payout) = {
            let order = app.delivered_order(&s.shop.token, "SO-CB5", "30.00", None).await;
            let claim = app
                .submit_claim(&s.agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "x", "channel": "EMAIL", "submittedAt": "2026-02-02T00:00:00Z" }))
                .await;
            let approved = app.approve(&s.manager.token, json!({ "claimId": claim["data"]["submitClaim"]["id"] })).await;
            (order, approved["data"]["approveClaim"]["payouts"][0]["id"].as_str().unwrap_or_else(|| panic!("{approved}")).to_string())
        };
        for call in [format!("markPayoutSent(payoutId: \"{payout}\", externalReference: \"re\")"), format!("markPayoutSettled(payoutId: \"{payout}\")")] {
            let b = app.graphql(&format!("mutation {{ {call} {{ status }} }}"), json!({}), Some(&s.finance.token)).await;
            assert!(b["errors"].is_null(), "{b}");
        }
        let body = app.graphql(RECORD, chargeback(&order2, "30.00", "cb_5", "2026-02-03T00:00:00Z"), Some(&s.finance.token)).await;
        assert_eq!(body["data"]["recordChargeback"]["overlapsRefund"], true, "{body}");
        assert_eq!(body["data"]["recordChargeback"]["status"], "OPEN");

        let list = app.graphql("{ chargebacks(status: [OPEN]) { totalCount nodes { providerReference } } }", json!({}), Some(&s.manager.token)).await;
        assert_eq!(list["data"]["chargebacks"]["totalCount"], 2, "{list}");
        for bad in [
            chargeback(&order2, "0", "cb_x", "2026-02-03T00:00:00Z"),
            chargeback(&order2, "5.00", "", "2026-02-03T00:00:00Z"),
            chargeback(&order2, "5.00", "cb_y", "2099-02-03T00:00:00Z"),
        ] {
            assert_error(&app.graphql(RECORD, bad, Some(&s.finance.token)).await, "BAD_USER_INPUT");
        }
        assert_error(&app.graphql(RECORD, chargeback(&order2, "5.00", "cb_z", "2026-02-03T00:00:00Z"), Some(&s.agent.token)).await, "FORBIDDEN");
    })
    .await;
}
