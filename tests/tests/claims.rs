//! Refund claims through their whole life, and every check on the way.

use serde_json::{json, Value};
use tests::{assert_error, on_every_backend, TestApp};

use api::domain::Role;

struct Cast {
    shop: tests::Staff,
    agent: tests::Staff,
    manager: tests::Staff,
}

async fn cast(app: &TestApp) -> Cast {
    Cast {
        shop: app.staff(&[Role::Integration]).await,
        agent: app.staff(&[Role::SupportAgent]).await,
        manager: app.staff(&[Role::RefundManager]).await,
    }
}

fn claim_input(order_id: &str, reason: &str, submitted_at: &str) -> Value {
    json!({ "orderId": order_id, "reason": reason, "description": "The stream stops every few minutes", "channel": "EMAIL", "submittedAt": submitted_at })
}

fn kinds(claim: &Value) -> Vec<String> {
    claim["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_claim_runs_its_whole_life_to_a_pro_rata_payout() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        // 1-month plan delivered 1 Feb 2026 (a 28-day period); claim 3 days later.
        let order = app.delivered_order(&c.shop.token, "SO-LIFE", "28.00", Some("2026-02-01T00:00:00Z")).await;
        let body = app.submit_claim(&c.agent.token, claim_input(&order, "NOT_WORKING", "2026-02-04T00:00:00Z")).await;
        let claim = &body["data"]["submitClaim"];
        assert_eq!(claim["status"], "SUBMITTED", "{body}");
        assert_eq!(claim["requestedAmount"], json!({ "amount": "28.00", "currency": "EUR" }), "defaults to refundable");
        let e = &claim["eligibility"];
        assert_eq!(e["outcome"], "DISCRETIONARY");
        assert_eq!(e["rule"], "DISCRETIONARY_AFTER_ACTIVATION");
        assert_eq!(e["suggestedAmount"]["amount"], "25.00", "25 unused days of 28");
        assert_eq!(e["evidenceRequired"], true);
        assert_eq!(e["policyVersion"], 1);
        assert!(!e["explanation"].as_str().unwrap().is_empty());
        assert_eq!(claim["submittedBy"]["id"], c.agent.id.as_str());
        let id = claim["id"].as_str().unwrap().to_string();

        let body = app.claim_op(&c.agent.token, "requestClaimInfo", &format!("claimId: \"{id}\", message: \"Please send a screenshot\"")).await;
        assert_eq!(body["data"]["requestClaimInfo"]["status"], "NEEDS_INFO", "{body}");
        let body = app
            .claim_op(&c.agent.token, "addClaimEvidence", &format!("claimId: \"{id}\", input: {{ kind: SCREENSHOT, url: \"https://files.example/shot.png\" }}"))
            .await;
        assert_eq!(body["data"]["addClaimEvidence"]["status"], "UNDER_REVIEW", "{body}");

        // The manager approves the suggested (pro-rata) amount by default.
        // Decision notes may span lines.
        let note = "partial, as per policy\nscreenshot shows 4 days of use";
        let body = app.approve(&c.manager.token, json!({ "claimId": id, "note": note, "expectedVersion": 3 })).await;
        let approved = &body["data"]["approveClaim"];
        assert_eq!(approved["status"], "APPROVED", "{body}");
        assert_eq!(approved["decisionNote"], note);
        assert_eq!(approved["approvedAmount"]["amount"], "25.00");
        assert_eq!(approved["decidedBy"]["id"], c.manager.id.as_str());
        assert_eq!(approved["version"], 4);
        let payouts = approved["payouts"].as_array().unwrap();
        assert_eq!(payouts.len(), 1);
        assert_eq!(payouts[0]["status"], "PENDING");
        assert_eq!(payouts[0]["amount"]["amount"], "25.00");
        assert_eq!(payouts[0]["method"], "CARD");
        assert_eq!(payouts[0]["sameMethodAsOrder"], true);
        assert_eq!(
            kinds(approved),
            ["submitted", "info_requested", "evidence_added", "payout_created", "approved"]
        );
        let order_view = app
            .graphql("query($id: ID!){ order(id: $id) { refundable { amount } refundedTotal { amount } status claims { id } payouts { id } } }", json!({ "id": order }), Some(&c.manager.token))
            .await;
        assert_eq!(order_view["data"]["order"]["refundable"]["amount"], "3.00", "{order_view}");
        assert_eq!(order_view["data"]["order"]["refundedTotal"]["amount"], "0.00");
        assert_eq!(order_view["data"]["order"]["status"], "PAID", "stays PAID until settlement");

        // Each step was audited, in the same transactions.
        let audit = app
            .graphql("query($id: ID!){ auditLog(filter: { entityId: $id }) { nodes { action } } }", json!({ "id": id }), Some(&app.staff(&[Role::Admin]).await.token))
            .await;
        let actions: Vec<&str> = audit["data"]["auditLog"]["nodes"].as_array().unwrap().iter().map(|n| n["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["claim.approve", "claim.add_evidence", "claim.request_info", "claim.submit"]);
    })
    .await;
}

#[tokio::test]
async fn approval_checks_each_give_their_code_and_change_nothing() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let order = app.delivered_order(&c.shop.token, "SO-CHK", "28.00", Some("2026-02-01T00:00:00Z")).await;
        let body = app.submit_claim(&c.agent.token, claim_input(&order, "NOT_WORKING", "2026-02-04T00:00:00Z")).await;
        let id = body["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        let audit_before = app.count("audit_log").await;

        let cases: Vec<(&str, &str, Value)> = vec![
            ("wrong currency", "BAD_USER_INPUT", json!({ "claimId": id, "amount": { "amount": "5.00", "currency": "USD" } })),
            ("zero", "BAD_USER_INPUT", json!({ "claimId": id, "amount": { "amount": "0", "currency": "EUR" } })),
            ("three decimals", "BAD_USER_INPUT", json!({ "claimId": id, "amount": { "amount": "1.005", "currency": "EUR" } })),
            ("more than refundable", "REFUND_LIMIT_EXCEEDED", json!({ "claimId": id, "amount": { "amount": "28.01", "currency": "EUR" } })),
            ("evidence missing", "POLICY_VIOLATION", json!({ "claimId": id })),
            ("stale version", "CONFLICT", json!({ "claimId": id, "expectedVersion": 7 })),
            ("bell in the note", "BAD_USER_INPUT", json!({ "claimId": id, "overrideReason": "x", "note": "a\u{7}b" })),
            ("escape in the override", "BAD_USER_INPUT", json!({ "claimId": id, "overrideReason": "\u{1b}[2Jx" })),
        ];
        for (name, code, input) in cases {
            let body = app.approve(&c.manager.token, input).await;
            assert_eq!(tests::error_code(&body), Some(code), "{name}: {body}");
            if name == "evidence missing" {
                assert_eq!(body["errors"][0]["extensions"]["rule"], "EVIDENCE_REQUIRED");
            }
        }
        // The submitter may not approve their own claim (an admin submitting and approving).
        let admin = app.staff(&[Role::Admin]).await;
        let order2 = app.delivered_order(&c.shop.token, "SO-CHK2", "10.00", None).await;
        let own = app.submit_claim(&admin.token, claim_input(&order2, "NOT_DELIVERED", "2026-02-04T00:00:00Z")).await;
        let own_id = own["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        assert_eq!(own["data"]["submitClaim"]["eligibility"]["outcome"], "FULL_REFUND");
        let audit_before = audit_before + 1 + 3; // admin account, order2 creation + activation, own claim
        assert_error(&app.approve(&admin.token, json!({ "claimId": own_id })).await, "FORBIDDEN");
        // Roles that may not decide.
        for role in [Role::SupportAgent, Role::Finance, Role::Analyst, Role::Integration] {
            let who = app.staff(&[role]).await;
            assert_error(&app.approve(&who.token, json!({ "claimId": id, "overrideReason": "x" })).await, "FORBIDDEN");
        }
        assert_eq!(app.count("payouts").await, 0);
        assert_eq!(app.count("audit_log").await, audit_before + 4, "only the four accounts above were written");

        // With an override reason the evidence rule is waived, and recorded.
        // Notes may span lines: CR LF is kept as a line feed.
        let body = app.approve(&c.manager.token, json!({ "claimId": id, "amount": { "amount": "10.00", "currency": "EUR" }, "overrideReason": "consumer law", "note": "Checked the logs.\r\n\tCustomer is right." })).await;
        assert_eq!(body["data"]["approveClaim"]["overrideReason"], "consumer law", "{body}");
        assert_eq!(body["data"]["approveClaim"]["decisionNote"], "Checked the logs.\n\tCustomer is right.", "{body}");
        assert_eq!(body["data"]["approveClaim"]["approvedAmount"]["amount"], "10.00");
        // Approving again is an invalid transition.
        assert_error(&app.approve(&c.manager.token, json!({ "claimId": id })).await, "INVALID_TRANSITION");
    })
    .await;
}

#[tokio::test]
async fn not_eligible_claims_need_an_override_and_outside_window_is_detected() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let order = app
            .delivered_order(
                &c.shop.token,
                "SO-NE",
                "30.00",
                Some("2026-02-01T00:00:00Z"),
            )
            .await;
        // 8 days after delivery: outside the 7-day window.
        let body = app
            .submit_claim(
                &c.agent.token,
                claim_input(&order, "NOT_WORKING", "2026-02-09T00:00:01Z"),
            )
            .await;
        let claim = &body["data"]["submitClaim"];
        assert_eq!(claim["eligibility"]["outcome"], "NOT_ELIGIBLE", "{body}");
        assert_eq!(claim["eligibility"]["rule"], "OUTSIDE_REFUND_WINDOW");
        assert_eq!(claim["eligibility"]["suggestedAmount"]["amount"], "0.00");
        let id = claim["id"].as_str().unwrap();
        let refused = app
            .approve(&c.manager.token, json!({ "claimId": id }))
            .await;
        assert_error(&refused, "POLICY_VIOLATION");
        assert_eq!(
            refused["errors"][0]["extensions"]["rule"],
            "OUTSIDE_REFUND_WINDOW"
        );
        // Default amount for a zero suggestion is the requested amount.
        let ok = app
            .approve(
                &c.manager.token,
                json!({ "claimId": id, "overrideReason": "local law grants 14 days" }),
            )
            .await;
        assert_eq!(
            ok["data"]["approveClaim"]["approvedAmount"]["amount"], "30.00",
            "{ok}"
        );

        // Excluded reasons after activation.
        let order = app
            .delivered_order(
                &c.shop.token,
                "SO-NE2",
                "30.00",
                Some("2026-02-01T00:00:00Z"),
            )
            .await;
        let body = app
            .submit_claim(
                &c.agent.token,
                claim_input(&order, "CHANGED_MIND", "2026-02-02T00:00:00Z"),
            )
            .await;
        assert_eq!(
            body["data"]["submitClaim"]["eligibility"]["rule"], "EXCLUDED_REASON",
            "{body}"
        );
        // Entered late is fine; in the future is not.
        let future = app
            .submit_claim(
                &c.agent.token,
                claim_input(&order, "OTHER", "2099-01-01T00:00:00Z"),
            )
            .await;
        assert_error(&future, "BAD_USER_INPUT");
    })
    .await;
}

#[tokio::test]
async fn dual_approval_needs_a_second_person_with_the_same_amount() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let admin = app.staff(&[Role::Admin]).await;
        let publish = "mutation($i: PublishPolicyInput!){ publishPolicyVersion(input: $i) { version dualApprovalThreshold { amount currency } effectiveFrom } }";
        let v2 = json!({ "lastUpdated": "2026-01-01", "effectiveFrom": "2026-01-01T00:00:00Z", "refundWindowDays": 7,
            "excludedReasonsAfterActivation": ["CHANGED_MIND"], "evidenceRequiredReasons": [],
            "dualApprovalThreshold": { "amount": "20.00", "currency": "EUR" }, "chargebackWithoutContactAction": "SUSPEND",
            "payoutBusinessDaysMin": 3, "payoutBusinessDaysMax": 10, "text": "Policy v2" });
        assert_error(&app.graphql(publish, json!({ "i": v2 }), Some(&c.manager.token)).await, "FORBIDDEN");
        let body = app.graphql(publish, json!({ "i": v2 }), Some(&admin.token)).await;
        assert_eq!(body["data"]["publishPolicyVersion"]["version"], 2, "{body}");

        let order = app.delivered_order(&c.shop.token, "SO-DUAL", "50.00", None).await;
        let body = app.submit_claim(&c.agent.token, claim_input(&order, "NOT_DELIVERED", "2026-02-04T00:00:00Z")).await;
        let id = body["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        assert_eq!(body["data"]["submitClaim"]["eligibility"]["policyVersion"], 2);

        let first = app.approve(&c.manager.token, json!({ "claimId": id })).await;
        assert_eq!(first["data"]["approveClaim"]["status"], "AWAITING_SECOND_APPROVAL", "{first}");
        assert_eq!(app.count("payouts").await, 0);
        assert_error(&app.approve(&c.manager.token, json!({ "claimId": id })).await, "FORBIDDEN");
        let second_manager = app.staff(&[Role::RefundManager]).await;
        let other_amount = app.approve(&second_manager.token, json!({ "claimId": id, "amount": { "amount": "40.00", "currency": "EUR" } })).await;
        assert_error(&other_amount, "BAD_USER_INPUT");
        let second = app.approve(&second_manager.token, json!({ "claimId": id })).await;
        let claim = &second["data"]["approveClaim"];
        assert_eq!(claim["status"], "APPROVED", "{second}");
        assert_eq!(claim["approvedAmount"]["amount"], "50.00");
        assert_eq!(claim["payouts"].as_array().unwrap().len(), 1);
        assert_eq!(kinds(claim), ["submitted", "first_approval", "payout_created", "second_approval"]);

        // Below the threshold, or in another currency, one approval is enough.
        let order = app.delivered_order(&c.shop.token, "SO-DUAL2", "19.99", None).await;
        let body = app.submit_claim(&c.agent.token, claim_input(&order, "NOT_DELIVERED", "2026-02-04T00:00:00Z")).await;
        let id = body["data"]["submitClaim"]["id"].as_str().unwrap();
        assert_eq!(app.approve(&c.manager.token, json!({ "claimId": id })).await["data"]["approveClaim"]["status"], "APPROVED");
    })
    .await;
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_result_and_refuse_other_input() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let order = app
            .delivered_order(&c.shop.token, "SO-IDEM", "20.00", None)
            .await;
        let body = app
            .submit_claim(
                &c.agent.token,
                claim_input(&order, "NOT_DELIVERED", "2026-02-04T00:00:00Z"),
            )
            .await;
        let id = body["data"]["submitClaim"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let input = json!({ "claimId": id, "idempotencyKey": "approve-1" });
        let first = app.approve(&c.manager.token, input.clone()).await;
        assert_eq!(
            first["data"]["approveClaim"]["status"], "APPROVED",
            "{first}"
        );
        let audit = app.count("audit_log").await;
        let again = app.approve(&c.manager.token, input).await;
        assert_eq!(
            again["data"]["approveClaim"]["id"], first["data"]["approveClaim"]["id"],
            "{again}"
        );
        assert_eq!(
            again["data"]["approveClaim"]["version"],
            first["data"]["approveClaim"]["version"]
        );
        assert_eq!(app.count("payouts").await, 1);
        assert_eq!(app.count("audit_log").await, audit);
        let other = app
            .approve(
                &c.manager.token,
                json!({ "claimId": id, "idempotencyKey": "approve-1", "note": "different" }),
            )
            .await;
        assert_error(&other, "CONFLICT");
    })
    .await;
}

#[tokio::test]
async fn concurrent_approvals_make_exactly_one_approval_and_one_payout() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let order = app.delivered_order(&c.shop.token, "SO-RACE", "20.00", None).await;
        let body = app.submit_claim(&c.agent.token, claim_input(&order, "NOT_DELIVERED", "2026-02-04T00:00:00Z")).await;
        let id = body["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (client, url, token, id) = (app.client.clone(), app.url("/graphql"), c.manager.token.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let res = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "query": "mutation($i: ApproveClaimInput!){ approveClaim(input: $i) { status } }", "variables": { "i": { "claimId": id } } }))
                    .send()
                    .await
                    .unwrap();
                res.json::<Value>().await.unwrap()
            }));
        }
        let mut approved = 0;
        for t in tasks {
            let body = t.await.unwrap();
            match tests::error_code(&body) {
                None => approved += 1,
                Some("CONFLICT") | Some("INVALID_TRANSITION") => {}
                other => panic!("{:?}: unexpected {other:?}: {body}", app.backend),
            }
        }
        assert_eq!(approved, 1, "{:?}", app.backend);
        assert_eq!(app.count("payouts").await, 1);
        let backend = app.db.get_database_backend();
        use sea_orm::ConnectionTrait;
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(backend, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'claim.approve'"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn one_open_claim_per_order_even_under_concurrent_submissions() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let order = app
            .delivered_order(&c.shop.token, "SO-ONE", "20.00", None)
            .await;
        let q = "mutation($i: SubmitClaimInput!){ submitClaim(input: $i) { id } }".to_string();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (client, url, token, q, input) = (
                app.client.clone(),
                app.url("/graphql"),
                c.agent.token.clone(),
                q.clone(),
                claim_input(&order, "NOT_DELIVERED", "2026-02-04T00:00:00Z"),
            );
            tasks.push(tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "query": q, "variables": { "i": input } }))
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }));
        }
        let mut created = 0;
        for t in tasks {
            let body = t.await.unwrap();
            match tests::error_code(&body) {
                None => created += 1,
                Some("CONFLICT") => {}
                other => panic!("{:?}: unexpected {other:?}: {body}", app.backend),
            }
        }
        assert_eq!(created, 1, "{:?}", app.backend);
        assert_eq!(app.count("refund_claims").await, 1);
        // Once the claim is closed (withdrawn), a new one may be submitted.
        let list = app
            .graphql(
                "{ claims { nodes { id } } }",
                json!({}),
                Some(&c.agent.token),
            )
            .await;
        let id = list["data"]["claims"]["nodes"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let w = app
            .claim_op(
                &c.agent.token,
                "withdrawClaim",
                &format!("claimId: \"{id}\", note: \"customer solved it\""),
            )
            .await;
        assert_eq!(w["data"]["withdrawClaim"]["status"], "WITHDRAWN", "{w}");
        let again = app
            .submit_claim(
                &c.agent.token,
                claim_input(&order, "NOT_DELIVERED", "2026-02-05T00:00:00Z"),
            )
            .await;
        assert!(again["errors"].is_null(), "{again}");
    })
    .await;
}

#[tokio::test]
async fn lifecycle_transitions_and_validation_are_enforced() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let order = app.delivered_order(&c.shop.token, "SO-TR", "20.00", None).await;
        let body = app.submit_claim(&c.agent.token, claim_input(&order, "NOT_DELIVERED", "2026-02-04T00:00:00Z")).await;
        let id = body["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        let op = |op: &'static str, args: String| {
            let app = &app;
            let token = c.agent.token.clone();
            async move { app.claim_op(&token, op, &args).await }
        };
        // Assigning moves SUBMITTED to UNDER_REVIEW; the assignee must handle claims.
        let analyst = app.staff(&[Role::Analyst]).await;
        assert_error(&op("assignClaim", format!("claimId: \"{id}\", assigneeId: \"{}\"", analyst.id)).await, "BAD_USER_INPUT");
        let body = op("assignClaim", format!("claimId: \"{id}\", assigneeId: \"{}\"", c.manager.id)).await;
        assert_eq!(body["data"]["assignClaim"]["status"], "UNDER_REVIEW", "{body}");
        assert_eq!(body["data"]["assignClaim"]["assignee"]["id"], c.manager.id.as_str());
        // Empty texts are refused.
        assert_error(&op("addClaimNote", format!("claimId: \"{id}\", note: \"  \"")).await, "BAD_USER_INPUT");
        assert_error(&op("requestClaimInfo", format!("claimId: \"{id}\", message: \"\"")).await, "BAD_USER_INPUT");
        assert_error(&op("addClaimEvidence", format!("claimId: \"{id}\", input: {{ kind: LOG }}")).await, "BAD_USER_INPUT");
        assert_error(&op("addClaimEvidence", format!("claimId: \"{id}\", input: {{ kind: LOG, url: \"javascript:alert(1)\" }}")).await, "BAD_USER_INPUT");
        let body = op("addClaimNote", format!("claimId: \"{id}\", note: \"called the customer\"")).await;
        assert_eq!(body["data"]["addClaimNote"]["status"], "UNDER_REVIEW");
        // NEEDS_INFO cannot be asked again.
        op("requestClaimInfo", format!("claimId: \"{id}\", message: \"screenshot please\"")).await;
        assert_error(&op("requestClaimInfo", format!("claimId: \"{id}\", message: \"again\"")).await, "INVALID_TRANSITION");
        // Reject (managers only) with a stale version, then properly.
        let reject = |token: String, version: i32| {
            let app = &app;
            let id = id.clone();
            async move {
                app.graphql(
                    "mutation($i: RejectClaimInput!){ rejectClaim(input: $i) { status rejectionReason decisionNote decidedBy { id } } }",
                    json!({ "i": { "claimId": id, "reason": "INSUFFICIENT_EVIDENCE", "note": "no screenshot", "expectedVersion": version } }),
                    Some(&token),
                )
                .await
            }
        };
        assert_error(&reject(c.agent.token.clone(), 4).await, "FORBIDDEN");
        assert_error(&reject(c.manager.token.clone(), 1).await, "CONFLICT");
        let body = reject(c.manager.token.clone(), 4).await;
        assert_eq!(body["data"]["rejectClaim"]["status"], "REJECTED", "{body}");
        assert_eq!(body["data"]["rejectClaim"]["rejectionReason"], "INSUFFICIENT_EVIDENCE");
        // Nothing happens to a closed claim.
        assert_error(&op("withdrawClaim", format!("claimId: \"{id}\", note: \"x\"")).await, "INVALID_TRANSITION");
        assert_error(&op("addClaimNote", format!("claimId: \"{id}\", note: \"x\"")).await, "INVALID_TRANSITION");
        assert_error(&reject(c.manager.token.clone(), 5).await, "INVALID_TRANSITION");
        // Analysts and the storefront cannot handle claims; the storefront cannot read them.
        let shop_read = app.graphql("{ claims { totalCount } }", json!({}), Some(&c.shop.token)).await;
        assert_error(&shop_read, "FORBIDDEN");
        let analyst_submit = app.submit_claim(&analyst.token, claim_input(&order, "OTHER", "2026-02-04T00:00:00Z")).await;
        assert_error(&analyst_submit, "FORBIDDEN");
        assert_error(&op("withdrawClaim", format!("claimId: \"{}\", note: \"x\"", uuid::Uuid::now_v7())).await, "NOT_FOUND");
    })
    .await;
}

#[tokio::test]
async fn claims_list_filters_sorts_and_pages() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let mut ids = Vec::new();
        for (i, (total, reason)) in [("10.00", "NOT_DELIVERED"), ("30.00", "NOT_WORKING"), ("20.00", "OTHER")].iter().enumerate() {
            let order = app.delivered_order(&c.shop.token, &format!("SO-LIST{i}"), total, None).await;
            let body = app.submit_claim(&c.agent.token, claim_input(&order, reason, &format!("2026-02-0{}T00:00:00Z", i + 2))).await;
            ids.push(body["data"]["submitClaim"]["id"].as_str().unwrap().to_string());
        }
        let q = "query($f: ClaimFilter, $s: ClaimSort, $first: Int, $after: String){ claims(filter: $f, sort: $s, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id requestedAmount { amount } } } }";
        let ids_of = |b: &Value| -> Vec<String> { b["data"]["claims"]["nodes"].as_array().unwrap_or_else(|| panic!("{b}")).iter().map(|n| n["id"].as_str().unwrap().to_string()).collect() };
        let t = Some(c.manager.token.as_str());
        let newest = app.graphql(q, json!({}), t).await;
        assert_eq!(ids_of(&newest), [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
        let oldest = app.graphql(q, json!({ "s": "SUBMITTED_AT_ASC" }), t).await;
        assert_eq!(ids_of(&oldest), ids);
        let by_amount = app.graphql(q, json!({ "s": "AMOUNT_DESC", "first": 2 }), t).await;
        assert_eq!(ids_of(&by_amount), [ids[1].clone(), ids[2].clone()]);
        let rest = app.graphql(q, json!({ "s": "AMOUNT_DESC", "first": 2, "after": by_amount["data"]["claims"]["pageInfo"]["endCursor"] }), t).await;
        assert_eq!(ids_of(&rest), [ids[0].clone()]);
        let reason = app.graphql(q, json!({ "f": { "reason": ["NOT_WORKING"] } }), t).await;
        assert_eq!(ids_of(&reason), [ids[1].clone()]);
        let eligibility = app.graphql(q, json!({ "f": { "eligibility": ["FULL_REFUND"], "orderNumber": "SO-LIST2" } }), t).await;
        assert_eq!(ids_of(&eligibility), [ids[2].clone()]);
        let range = app.graphql(q, json!({ "f": { "submittedFrom": "2026-02-03T00:00:00Z", "submittedTo": "2026-02-04T00:00:00Z", "customerEmail": "claimant@example.com" } }), t).await;
        assert_eq!(ids_of(&range), [ids[1].clone()]);
        let status = app.graphql(q, json!({ "f": { "status": ["APPROVED"] } }), t).await;
        assert_eq!(status["data"]["claims"]["totalCount"], 0);
        // A cursor this API did not sign for this list is refused rather than
        // answered with an empty page: a claim's id in the old unsigned form,
        // a signed cursor with one character changed, another list's cursor.
        let end = by_amount["data"]["claims"]["pageInfo"]["endCursor"].as_str().unwrap().to_string();
        let mut changed = end.clone().into_bytes();
        changed[3] = if changed[3] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        let unsigned = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::parse_str(&ids[0]).unwrap().as_bytes())
        };
        for forged in [unsigned, changed] {
            let body = app.graphql(q, json!({ "s": "AMOUNT_DESC", "first": 2, "after": forged }), t).await;
            assert_error(&body, "BAD_USER_INPUT");
        }
        let payouts = app.graphql("query($a: String){ payouts(first: 1, after: $a) { totalCount } }", json!({ "a": end }), t).await;
        assert_error(&payouts, "BAD_USER_INPUT");
    })
    .await;
}

#[tokio::test]
async fn assess_refund_is_a_dry_run_for_readers() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let order = app.delivered_order(&c.shop.token, "SO-DRY", "28.00", Some("2026-02-01T00:00:00Z")).await;
        let q = "query($o: ID!, $r: ClaimReason!, $at: DateTime){ assessRefund(orderId: $o, reason: $r, at: $at) { outcome rule suggestedAmount { amount currency } evidenceRequired policyVersion } }";
        let before = (app.count("audit_log").await, app.count("refund_claims").await);
        let cases = [
            ("NOT_WORKING", "2026-02-04T00:00:00Z", "DISCRETIONARY", "DISCRETIONARY_AFTER_ACTIVATION", "25.00"),
            ("NOT_WORKING", "2026-01-31T00:00:00Z", "FULL_REFUND", "NOT_ACTIVATED", "28.00"),
            ("NETWORK_OR_ISP", "2026-02-02T00:00:00Z", "NOT_ELIGIBLE", "EXCLUDED_REASON", "0.00"),
            ("NOT_WORKING", "2026-02-08T00:00:00Z", "DISCRETIONARY", "DISCRETIONARY_AFTER_ACTIVATION", "21.00"),
            ("NOT_WORKING", "2026-02-08T00:00:01Z", "NOT_ELIGIBLE", "OUTSIDE_REFUND_WINDOW", "0.00"),
        ];
        for role in [Role::Analyst, Role::Finance] {
            let who = app.staff(&[role]).await;
            for (reason, at, outcome, rule, amount) in cases {
                let body = app.graphql(q, json!({ "o": order, "r": reason, "at": at }), Some(&who.token)).await;
                let a = &body["data"]["assessRefund"];
                assert_eq!((a["outcome"].as_str(), a["rule"].as_str(), a["suggestedAmount"]["amount"].as_str()), (Some(outcome), Some(rule), Some(amount)), "{reason} at {at}: {body}");
            }
        }
        assert_eq!((app.count("audit_log").await - 2, app.count("refund_claims").await), before, "only the two accounts were written");
        let shop = app.graphql(q, json!({ "o": order, "r": "OTHER" }), Some(&c.shop.token)).await;
        assert_error(&shop, "FORBIDDEN");
        let policy = app.graphql("{ policy { version refundWindowDays excludedReasonsAfterActivation evidenceRequiredReasons dualApprovalThreshold { amount } chargebackWithoutContactAction payoutBusinessDaysMin payoutBusinessDaysMax lastUpdated effectiveFrom } policyVersions { version } }", json!({}), Some(&c.shop.token)).await;
        let p = &policy["data"]["policy"];
        assert_eq!(p["version"], 1, "{policy}");
        assert_eq!(p["refundWindowDays"], 7);
        assert_eq!(p["excludedReasonsAfterActivation"], json!(["CHANGED_MIND", "DEVICE_INCOMPATIBLE", "NETWORK_OR_ISP"]));
        assert_eq!(p["effectiveFrom"], "1970-01-01T00:00:00Z");
        assert!(p["dualApprovalThreshold"].is_null());
    })
    .await;
}

#[tokio::test]
async fn publishing_policy_versions_is_validated() {
    on_every_backend(|app| async move {
        let admin = app.staff(&[Role::Admin]).await;
        let q = "mutation($i: PublishPolicyInput!){ publishPolicyVersion(input: $i) { version } }";
        let base = json!({ "lastUpdated": "2026-11-27", "refundWindowDays": 14, "excludedReasonsAfterActivation": [], "evidenceRequiredReasons": [],
            "chargebackWithoutContactAction": "TERMINATE", "payoutBusinessDaysMin": 3, "payoutBusinessDaysMax": 10, "text": "v" });
        let with = |k: &str, v: Value| {
            let mut i = base.clone();
            i[k] = v;
            json!({ "i": i })
        };
        for (name, vars) in [
            ("negative window", with("refundWindowDays", json!(-1))),
            ("min > max", with("payoutBusinessDaysMin", json!(11))),
            ("empty text", with("text", json!("  "))),
            ("zero threshold", with("dualApprovalThreshold", json!({ "amount": "0", "currency": "EUR" }))),
            ("bad currency", with("dualApprovalThreshold", json!({ "amount": "10", "currency": "EURO" }))),
        ] {
            assert_eq!(tests::error_code(&app.graphql(q, vars, Some(&admin.token)).await), Some("BAD_USER_INPUT"), "{name}");
        }
        let body = app.graphql(q, json!({ "i": base }), Some(&admin.token)).await;
        assert_eq!(body["data"]["publishPolicyVersion"]["version"], 2, "{body}");
        let now = app.graphql("{ policy { version chargebackWithoutContactAction } }", json!({}), Some(&admin.token)).await;
        assert_eq!(now["data"]["policy"]["version"], 2);
        assert_eq!(now["data"]["policy"]["chargebackWithoutContactAction"], "TERMINATE");
    })
    .await;
}

/// An RFC 3339 instant `days` before now (to the second).
fn days_ago(days: f64) -> String {
    let t = chrono::Utc::now() - chrono::Duration::seconds((days * 86_400.0) as i64);
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A server with the shipped limit on backdating (30 days); the harness's
/// default allows the fixtures' fixed dates of 2026.
async fn with_default_backdating(backend: tests::Backend) -> TestApp {
    let mut settings = tests::settings_for(tests::fresh_database(backend).await);
    settings.claim_backdating = api::service::claims::Backdating::default();
    TestApp::spawn_with(backend, settings).await
}

/// A paid order placed `placed` days ago whose access details were sent
/// `delivered` days ago.
async fn order_placed(
    app: &TestApp,
    token: &str,
    number: &str,
    placed: f64,
    delivered: f64,
) -> String {
    let mut input = tests::order_input(number, "backdate@example.com");
    input["placedAt"] = json!(days_ago(placed));
    input["paidAt"] = json!(days_ago(placed));
    let id = app.create_order(token, input).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = app
        .graphql(
            "mutation($i: RecordActivationInput!){ recordActivation(input: $i) { id } }",
            json!({ "i": { "orderId": id, "channel": "EMAIL", "destination": "backdate@example.com", "deliveredAt": days_ago(delivered) } }),
            Some(token),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    id
}

#[tokio::test]
async fn a_backdated_submission_cannot_reach_before_the_order_or_a_month_back() {
    for backend in tests::backends() {
        let app = with_default_backdating(backend).await;
        let c = cast(&app).await;
        let ctx = format!("{backend:?}");
        // Delivered 25 days ago: well outside the 7-day window today.
        let order = order_placed(&app, &c.shop.token, "SO-BACK", 26.0, 25.0).await;
        for (at, why) in [
            ("1970-01-01T00:00:00Z".to_string(), "the audit's 1970"),
            (days_ago(26.5), "before the order was placed"),
        ] {
            let before = app.count("refund_claims").await;
            let body = app
                .submit_claim(&c.agent.token, claim_input(&order, "NOT_WORKING", &at))
                .await;
            assert_error(&body, "BAD_USER_INPUT");
            assert_eq!(
                app.count("refund_claims").await,
                before,
                "{ctx} {why}: nothing written"
            );
        }
        // An older order: more than 30 days back is refused even after placedAt.
        let old = order_placed(&app, &c.shop.token, "SO-OLD", 45.0, 44.0).await;
        let body = app
            .submit_claim(
                &c.agent.token,
                claim_input(&old, "NOT_WORKING", &days_ago(31.0)),
            )
            .await;
        assert_error(&body, "BAD_USER_INPUT");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("30 days"),
            "{ctx} {body}"
        );

        // Within the bounds a backdated claim is accepted, and both times are kept.
        let received = days_ago(24.5);
        let body = app
            .submit_claim(
                &c.agent.token,
                claim_input(&order, "NOT_WORKING", &received),
            )
            .await;
        let claim = &body["data"]["submitClaim"];
        assert_eq!(claim["status"], "SUBMITTED", "{ctx} {body}");
        assert_eq!(
            claim["eligibility"]["rule"], "DISCRETIONARY_AFTER_ACTIVATION",
            "{ctx} {body}"
        );
        let note = claim["events"][0]["note"].as_str().unwrap_or_default();
        assert!(
            note.starts_with("received ") && note.contains(", entered "),
            "{ctx} {body}"
        );
        let id = claim["id"].as_str().unwrap();
        let admin = app.staff(&[Role::Admin]).await;
        let audit = app
            .graphql(
                "query($id: ID!){ auditLog(filter: { entityId: $id, action: \"claim.submit\" }) { nodes { details } } }",
                json!({ "id": id }),
                Some(&admin.token),
            )
            .await;
        let details = &audit["data"]["auditLog"]["nodes"][0]["details"];
        assert!(
            details["submittedAt"].is_string() && details["enteredAt"].is_string(),
            "{ctx} {audit}"
        );
        assert!(
            details["submittedAt"].as_str() < details["enteredAt"].as_str(),
            "{ctx} {audit}"
        );
    }
}

#[tokio::test]
async fn the_dual_approval_threshold_is_the_one_in_force_when_deciding() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let admin = app.staff(&[Role::Admin]).await;
        let order = app.delivered_order(&c.shop.token, "SO-PIN", "50.00", None).await;
        // Submitted under version 1 (no threshold) ...
        let body = app.submit_claim(&c.agent.token, claim_input(&order, "NOT_DELIVERED", "2026-02-04T00:00:00Z")).await;
        let id = body["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        assert_eq!(body["data"]["submitClaim"]["eligibility"]["policyVersion"], 1, "{body}");
        // ... then a threshold is published, in force from now.
        let publish = "mutation($i: PublishPolicyInput!){ publishPolicyVersion(input: $i) { version } }";
        let v2 = json!({ "lastUpdated": "2026-11-29", "refundWindowDays": 7,
            "excludedReasonsAfterActivation": ["CHANGED_MIND"], "evidenceRequiredReasons": [],
            "dualApprovalThreshold": { "amount": "20.00", "currency": "EUR" }, "chargebackWithoutContactAction": "SUSPEND",
            "payoutBusinessDaysMin": 3, "payoutBusinessDaysMax": 10, "text": "Policy v2" });
        let body = app.graphql(publish, json!({ "i": v2 }), Some(&admin.token)).await;
        assert_eq!(body["data"]["publishPolicyVersion"]["version"], 2, "{body}");
        let first = app.approve(&c.manager.token, json!({ "claimId": id })).await;
        let claim = &first["data"]["approveClaim"];
        assert_eq!(claim["status"], "AWAITING_SECOND_APPROVAL", "{first}");
        assert_eq!(claim["eligibility"]["policyVersion"], 1, "the assessment stays pinned");
        let note = claim["events"].as_array().unwrap().last().unwrap()["note"].as_str().unwrap_or_default().to_string();
        assert!(note.contains("policy version 2") && note.contains("20.00 EUR"), "{first}");
    })
    .await;
}

#[tokio::test]
async fn refunds_split_into_small_claims_still_need_a_second_approver() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let admin = app.staff(&[Role::Admin]).await;
        let publish = "mutation($i: PublishPolicyInput!){ publishPolicyVersion(input: $i) { version } }";
        let v2 = json!({ "lastUpdated": "2026-01-01", "effectiveFrom": "2026-01-01T00:00:00Z", "refundWindowDays": 7,
            "excludedReasonsAfterActivation": [], "evidenceRequiredReasons": [],
            "dualApprovalThreshold": { "amount": "1000", "currency": "JPY" }, "chargebackWithoutContactAction": "SUSPEND",
            "payoutBusinessDaysMin": 3, "payoutBusinessDaysMax": 10, "text": "Policy v2" });
        assert!(app.graphql(publish, json!({ "i": v2 }), Some(&admin.token)).await["errors"].is_null());
        let mut input = tests::order_input("SO-SPLIT", "split@example.com");
        input["total"] = json!({ "amount": "5000", "currency": "JPY" });
        let order = app.create_order(&c.shop.token, input).await["id"].as_str().unwrap().to_string();
        let small = json!({ "amount": "999", "currency": "JPY" });
        let submit = |n: usize| {
            let mut i = claim_input(&order, "NOT_DELIVERED", "2026-11-02T00:00:00Z");
            i["requestedAmount"] = small.clone();
            i["description"] = json!(format!("part {n}"));
            i
        };
        // The first 999 JPY is below the threshold on its own.
        let body = app.submit_claim(&c.agent.token, submit(1)).await;
        let id = body["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        let body = app.approve(&c.manager.token, json!({ "claimId": id, "amount": small })).await;
        assert_eq!(body["data"]["approveClaim"]["status"], "APPROVED", "{body}");
        // The second brings the order's approved total to 1998 JPY.
        let body = app.submit_claim(&c.agent.token, submit(2)).await;
        let id = body["data"]["submitClaim"]["id"].as_str().unwrap().to_string();
        let body = app.approve(&c.manager.token, json!({ "claimId": id, "amount": small })).await;
        let claim = &body["data"]["approveClaim"];
        assert_eq!(claim["status"], "AWAITING_SECOND_APPROVAL", "{body}");
        let note = claim["events"].as_array().unwrap().last().unwrap()["note"].as_str().unwrap_or_default().to_string();
        assert!(note.contains("1998 JPY") && note.contains("999 JPY approved before"), "{note}");
        // The same manager cannot complete it.
        let again = app.approve(&c.manager.token, json!({ "claimId": id, "amount": small })).await;
        assert_error(&again, "FORBIDDEN");
    })
    .await;
}

/// Date-times after 2038-01-19 are stored and compared like any other on
/// every backend (MariaDB once stored them as NULL: `service::db::bind`).
#[tokio::test]
async fn date_times_after_2038_are_kept_and_compared_on_every_backend() {
    on_every_backend(|app| async move {
        let c = cast(&app).await;
        let admin = app.staff(&[Role::Admin]).await;
        let order = app.delivered_order(&c.shop.token, "SO-2040", "28.00", Some("2026-02-01T00:00:00Z")).await;
        let publish = "mutation($i: PublishPolicyInput!){ publishPolicyVersion(input: $i) { version effectiveFrom } }";
        let v2 = json!({ "lastUpdated": "2026-11-29", "effectiveFrom": "2040-03-01T12:00:00.123456Z", "refundWindowDays": 3650,
            "excludedReasonsAfterActivation": [], "evidenceRequiredReasons": [], "chargebackWithoutContactAction": "SUSPEND",
            "payoutBusinessDaysMin": 3, "payoutBusinessDaysMax": 10, "text": "Policy of 2040" });
        let body = app.graphql(publish, json!({ "i": v2 }), Some(&admin.token)).await;
        assert_eq!(body["data"]["publishPolicyVersion"]["effectiveFrom"], "2040-03-01T12:00:00.123456Z", "{body}");

        // Read back from the row, not from the mutation's input.
        let read = app.graphql("{ policy { version } policyVersions { version effectiveFrom } }", json!({}), Some(&admin.token)).await;
        assert_eq!(read["data"]["policy"]["version"], 1, "2040 is not yet in force: {read}");
        assert_eq!(read["data"]["policyVersions"][1]["effectiveFrom"], "2040-03-01T12:00:00.123456Z", "{read}");

        // A bound instant after 2038 compares against the stored one.
        let q = "query($o: ID!, $at: DateTime){ assessRefund(orderId: $o, reason: NOT_WORKING, at: $at) { policyVersion rule } }";
        for (at, version) in [
            ("2040-03-01T12:00:00.123455Z", 1),
            ("2040-03-01T12:00:00.123456Z", 2),
            ("2999-12-31T23:59:59.999999Z", 2),
        ] {
            let body = app.graphql(q, json!({ "o": order, "at": at }), Some(&admin.token)).await;
            assert_eq!(body["data"]["assessRefund"]["policyVersion"], version, "at {at}: {body}");
        }
        let audit = app.graphql("query($f: AuditFilter){ auditLog(filter: $f, first: 50) { nodes { action } } }",
            json!({ "f": { "action": "policy.publish", "from": "2026-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z" } }), Some(&admin.token)).await;
        assert_eq!(audit["data"]["auditLog"]["nodes"].as_array().map(Vec::len), Some(1), "{audit}");

        let refused = app.graphql(q, json!({ "o": order, "at": "3000-01-01T00:00:00Z" }), Some(&admin.token)).await;
        assert_error(&refused, "BAD_USER_INPUT");
    })
    .await;
}
