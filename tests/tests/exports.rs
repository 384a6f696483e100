//! CSV exports: columns and values, RFC 4180 quoting, filters and sorts,
//! masking, access rules, and exports longer than one database page.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use tests::{on_every_backend, Staff, TestApp};

use api::domain::Role;

const CLAIM_HEADER: &str = "id,submitted_at,status,reason,eligibility,rule,order_number,customer_email,requested_amount,approved_amount,currency,decided_at,decided_by";
const PAYOUT_HEADER: &str = "id,claim_id,order_number,amount,currency,method,status,initiated_at,expected_latest,settled_at,external_reference";

type Row = HashMap<String, String>;

/// GETs an export; returns the response for status and header checks.
async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request sent")
}

/// GETs an export that must succeed; returns its header line and rows.
async fn export(app: &TestApp, path: &str, token: &str) -> (String, Vec<Row>) {
    let res = get(app, path, Some(token)).await;
    assert_eq!(res.status(), 200, "{path}");
    let body = res.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.expect("record").iter().map(String::from))
                .collect()
        })
        .collect();
    (header.join(","), rows)
}

/// Asserts a JSON error body with `code` and the HTTP status.
async fn assert_refused(app: &TestApp, path: &str, token: Option<&str>, status: u16, code: &str) {
    let res = get(app, path, token).await;
    assert_eq!(res.status(), status, "{path}");
    let body: Value = res.json().await.expect("JSON error body");
    tests::assert_error(&body, code);
}

fn ids(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|r| r["id"].as_str()).collect()
}

/// An order of `total` (never delivered: a full refund) with a claim submitted at `at`.
async fn claim(
    app: &TestApp,
    shop: &Staff,
    agent: &Staff,
    number: &str,
    total: &str,
    at: &str,
) -> String {
    let order = app.delivered_order(&shop.token, number, total, None).await;
    let body = app
        .submit_claim(&agent.token, json!({ "orderId": order, "reason": "NOT_DELIVERED", "description": "Broken, \"really\"", "channel": "EMAIL", "submittedAt": at }))
        .await;
    body["data"]["submitClaim"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

#[tokio::test]
async fn claims_csv_has_the_contract_columns_filters_sorts_and_masking() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let agent = app.staff(&[Role::SupportAgent]).await;
        let manager = app.staff(&[Role::RefundManager]).await;
        let finance = app.staff(&[Role::Finance]).await;
        let analyst = app.staff(&[Role::Analyst]).await;
        // The order number carries a comma and quotes: RFC 4180 quoting must round-trip it.
        let approved = claim(
            &app,
            &shop,
            &agent,
            "SO-EXP,\"1\"",
            "25.00",
            "2026-02-04T00:00:00Z",
        )
        .await;
        let open = claim(
            &app,
            &shop,
            &agent,
            "SO-EXP2",
            "10.00",
            "2026-02-05T00:00:00Z",
        )
        .await;
        let body = app
            .approve(&manager.token, json!({ "claimId": approved }))
            .await;
        assert_eq!(body["data"]["approveClaim"]["status"], "APPROVED", "{body}");

        let res = get(&app, "/exports/claims.csv", Some(&finance.token)).await;
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            res.headers()["content-disposition"],
            "attachment; filename=\"claims.csv\""
        );
        assert!(
            res.text().await.unwrap().contains("\"SO-EXP,\"\"1\"\"\""),
            "quoted per RFC 4180"
        );

        let (header, rows) = export(&app, "/exports/claims.csv", &finance.token).await;
        assert_eq!(header, CLAIM_HEADER);
        assert_eq!(
            ids(&rows),
            [open.as_str(), approved.as_str()],
            "newest first by default"
        );
        let a = &rows[1];
        assert_eq!(a["submitted_at"], "2026-02-04T00:00:00Z");
        assert_eq!(a["status"], "APPROVED");
        assert_eq!(a["reason"], "NOT_DELIVERED");
        assert_eq!(a["eligibility"], "FULL_REFUND");
        assert_eq!(a["rule"], "NOT_ACTIVATED");
        assert_eq!(a["order_number"], "SO-EXP,\"1\"");
        assert_eq!(a["customer_email"], "claimant@example.com");
        assert_eq!(a["requested_amount"], "25.00");
        assert_eq!(a["approved_amount"], "25.00");
        assert_eq!(a["currency"], "EUR");
        assert!(
            a["decided_at"].ends_with('Z') && a["decided_at"].parse::<DateTime<Utc>>().is_ok(),
            "{a:?}"
        );
        assert_eq!(a["decided_by"], manager.email);
        let o = &rows[0];
        assert_eq!(
            (o["status"].as_str(), o["requested_amount"].as_str()),
            ("SUBMITTED", "10.00")
        );
        assert_eq!(
            (
                o["approved_amount"].as_str(),
                o["decided_at"].as_str(),
                o["decided_by"].as_str()
            ),
            ("", "", ""),
            "nulls are empty cells"
        );

        let (approved, open) = (approved.as_str(), open.as_str());
        let by_assignee = format!("assigneeId={}", manager.id);
        let cases: &[(&str, &[&str])] = &[
            ("status=APPROVED", &[approved]),
            ("status=APPROVED,SUBMITTED", &[open, approved]),
            ("status=REJECTED", &[]),
            ("status=", &[open, approved]),
            ("sort=SUBMITTED_AT_ASC", &[approved, open]),
            ("sort=AMOUNT_DESC", &[approved, open]),
            ("submittedFrom=2026-02-05T00:00:00Z", &[open]),
            ("submittedTo=2026-02-05T01:00:00%2B02:00", &[approved]),
            ("orderNumber=SO-EXP2", &[open]),
            ("eligibility=DISCRETIONARY", &[]),
            (
                "reason=NOT_DELIVERED&customerEmail=Claimant@example.com",
                &[open, approved],
            ),
            (&by_assignee, &[]),
        ];
        for (query, want) in cases {
            let (_, rows) = export(
                &app,
                &format!("/exports/claims.csv?{query}"),
                &finance.token,
            )
            .await;
            assert_eq!(ids(&rows), *want, "{query}");
        }

        // ANALYST sees masked customer emails; staff emails stay plain.
        let (_, rows) = export(&app, "/exports/claims.csv?status=APPROVED", &analyst.token).await;
        assert_eq!(rows[0]["customer_email"], "c***@example.com");
        assert_eq!(rows[0]["decided_by"], manager.email);
        let admin = app.staff(&[Role::Admin, Role::Analyst]).await;
        let (_, rows) = export(&app, "/exports/claims.csv?status=APPROVED", &admin.token).await;
        assert_eq!(
            rows[0]["customer_email"], "claimant@example.com",
            "ANALYST plus ADMIN sees plain"
        );
    })
    .await;
}

#[tokio::test]
async fn payouts_csv_round_trips_references_and_filters() {
    on_every_backend(|app| async move {
        let shop = app.staff(&[Role::Integration]).await;
        let agent = app.staff(&[Role::SupportAgent]).await;
        let manager = app.staff(&[Role::RefundManager]).await;
        let finance = app.staff(&[Role::Finance]).await;
        let mut payouts = Vec::new();
        for (number, at) in [("SO-PX1", "2026-02-04T00:00:00Z"), ("SO-PX2", "2026-02-05T00:00:00Z")] {
            let id = claim(&app, &shop, &agent, number, "20.00", at).await;
            let body = app.approve(&manager.token, json!({ "claimId": id })).await;
            let payout = body["data"]["approveClaim"]["payouts"][0]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
            payouts.push((id, payout.to_string()));
        }
        // Starts as a spreadsheet formula would.
        let reference = "=re_1, \"quoted\"\nsecond line";
        let body = app
            .graphql("mutation($id: ID!, $r: String!){ markPayoutSent(payoutId: $id, externalReference: $r) { status } }", json!({ "id": payouts[0].1, "r": reference }), Some(&finance.token))
            .await;
        assert_eq!(body["data"]["markPayoutSent"]["status"], "SENT", "{body}");

        let (header, rows) = export(&app, "/exports/payouts.csv", &finance.token).await;
        assert_eq!(header, PAYOUT_HEADER);
        assert_eq!(ids(&rows), [payouts[1].1.as_str(), payouts[0].1.as_str()], "newest first");
        let sent = &rows[1];
        assert_eq!(sent["claim_id"], payouts[0].0);
        assert_eq!(sent["order_number"], "SO-PX1");
        assert_eq!((sent["amount"].as_str(), sent["currency"].as_str()), ("20.00", "EUR"));
        assert_eq!((sent["method"].as_str(), sent["status"].as_str()), ("CARD", "SENT"));
        assert!(sent["initiated_at"].ends_with('Z') && sent["initiated_at"].parse::<DateTime<Utc>>().is_ok(), "{sent:?}");
        assert!(sent["expected_latest"].parse::<chrono::NaiveDate>().is_ok(), "{sent:?}");
        assert_eq!(sent["settled_at"], "");
        assert_eq!(
            sent["external_reference"],
            format!("'{reference}"),
            "comma, quotes and newline round-trip; a leading = is quoted for spreadsheets"
        );
        assert_eq!(rows[0]["external_reference"], "");

        // After 2038, which MariaDB once matched as NULL (`service::db::bind`).
        let far = "2040-12-31T00:00:00Z";
        let cases: Vec<(String, Vec<&str>)> = vec![
            ("status=PENDING".into(), vec![payouts[1].1.as_str()]),
            ("status=SENT,PENDING".into(), vec![payouts[1].1.as_str(), payouts[0].1.as_str()]),
            ("overdueOnly=true".into(), vec![]),
            ("overdueOnly=false".into(), vec![payouts[1].1.as_str(), payouts[0].1.as_str()]),
            (format!("initiatedFrom={far}"), vec![]),
            (format!("initiatedTo={far}"), vec![payouts[1].1.as_str(), payouts[0].1.as_str()]),
        ];
        for (query, want) in cases {
            let (header, rows) = export(&app, &format!("/exports/payouts.csv?{query}"), &finance.token).await;
            assert_eq!(header, PAYOUT_HEADER, "a header even when empty");
            assert_eq!(ids(&rows), want, "{query}");
        }
    })
    .await;
}

#[tokio::test]
async fn exports_check_the_token_the_role_and_the_parameters() {
    on_every_backend(|app| async move {
        for path in ["/exports/claims.csv", "/exports/payouts.csv"] {
            assert_refused(&app, path, None, 401, "UNAUTHENTICATED").await;
            assert_refused(&app, path, Some("not-a-token"), 401, "UNAUTHENTICATED").await;
            for role in [Role::SupportAgent, Role::Integration] {
                let staff = app.staff(&[role]).await;
                assert_refused(&app, path, Some(&staff.token), 403, "FORBIDDEN").await;
                // The role is checked before the parameters are.
                assert_refused(
                    &app,
                    &format!("{path}?status=NOPE"),
                    Some(&staff.token),
                    403,
                    "FORBIDDEN",
                )
                .await;
            }
            for role in [
                Role::Admin,
                Role::RefundManager,
                Role::Finance,
                Role::Analyst,
            ] {
                let staff = app.staff(&[role]).await;
                let (_, rows) = export(&app, path, &staff.token).await;
                assert!(rows.is_empty(), "{role:?}");
            }
        }
        let finance = app.staff(&[Role::Finance]).await;
        for bad in [
            "/exports/claims.csv?status=NOPE",
            "/exports/claims.csv?status=APPROVED,approved",
            "/exports/claims.csv?reason=SUBMITTED",
            "/exports/claims.csv?eligibility=MAYBE",
            "/exports/claims.csv?sort=NEWEST",
            "/exports/claims.csv?submittedFrom=yesterday",
            "/exports/claims.csv?customerEmail=not-an-email",
            "/exports/claims.csv?assigneeId=42",
            "/exports/claims.csv?stauts=APPROVED",
            "/exports/claims.csv?status=APPROVED&status=REJECTED",
            "/exports/payouts.csv?status=APPROVED",
            "/exports/payouts.csv?overdueOnly=yes",
            "/exports/payouts.csv?initiatedTo=2026-13-01T00:00:00Z",
            "/exports/payouts.csv?initiatedTo=3000-01-01T00:00:00Z",
            "/exports/claims.csv?submittedFrom=1969-12-31T23:59:59Z",
        ] {
            assert_refused(&app, bad, Some(&finance.token), 400, "BAD_USER_INPUT").await;
        }
    })
    .await;
}

/// Asserts every id once, in the order `key` (descending or not) then id.
fn assert_sorted_once<K: PartialOrd + std::fmt::Debug>(
    rows: &[Row],
    want: &HashSet<String>,
    descending: bool,
    key: impl Fn(&Row) -> K,
) {
    let got: HashSet<String> = rows.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(got.len(), rows.len(), "an id appears twice");
    assert_eq!(&got, want, "every row exactly once");
    for pair in rows.windows(2) {
        let (a, b) = (
            (key(&pair[0]), &pair[0]["id"]),
            (key(&pair[1]), &pair[1]["id"]),
        );
        let ordered = if descending { a > b } else { a < b };
        assert!(ordered, "out of order: {a:?} then {b:?}");
    }
}

#[tokio::test]
async fn exports_longer_than_a_page_list_every_row_once_in_order() {
    use entity::{payout, refund_claim};
    on_every_backend(|app| async move {
        let (manager, finance) = one_approved_claim(&app, "SO-BIG").await;
        // Pages are 500 rows and making rows through the API is slow, so
        // copies of the real rows are inserted directly: 1,101 claims (three
        // pages) and 601 payouts (two), with runs of equal sort keys that
        // straddle page boundaries.
        let base_claim = refund_claim::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        for batch in 0..11 {
            let claims = (0..100).map(|i| {
                let n = batch * 100 + i;
                let mut m = base_claim.clone();
                m.id = uuid::Uuid::now_v7();
                m.status = "REJECTED".into();
                m.open_order_id = None;
                m.submitted_at = start + chrono::Duration::hours(n / 7);
                m.requested_minor = 100 + n % 13;
                refund_claim::ActiveModel::from(m)
            });
            refund_claim::Entity::insert_many(claims)
                .exec_without_returning(&app.db)
                .await
                .unwrap();
        }
        copy_payouts(&app, 600).await;
        let claim_ids: HashSet<String> = refund_claim::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .iter()
            .map(|c| c.id.to_string())
            .collect();
        let payout_ids: HashSet<String> = payout::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id.to_string())
            .collect();
        assert_eq!((claim_ids.len(), payout_ids.len()), (1101, 601));

        let at = |r: &Row| r["submitted_at"].parse::<DateTime<Utc>>().unwrap();
        let amount = |r: &Row| r["requested_amount"].parse::<f64>().unwrap();
        let t = &finance.token;
        let (_, rows) = export(&app, "/exports/claims.csv", t).await;
        assert_sorted_once(&rows, &claim_ids, true, at);
        let (_, rows) = export(&app, "/exports/claims.csv?sort=SUBMITTED_AT_ASC", t).await;
        assert_sorted_once(&rows, &claim_ids, false, at);
        let (_, rows) = export(&app, "/exports/claims.csv?sort=AMOUNT_DESC", t).await;
        assert_sorted_once(&rows, &claim_ids, true, amount);
        assert!(rows.iter().all(|r| r["decided_by"] == manager.email));
        let (_, rows) = export(&app, "/exports/payouts.csv", t).await;
        assert_sorted_once(&rows, &payout_ids, true, |_| 0);
    })
    .await;
}

#[tokio::test]
async fn an_export_past_its_time_limit_is_cut_not_complete_looking() {
    use tests::{fresh_database, settings_for, Backend};
    let backend = Backend::Sqlite;
    let mut settings = settings_for(fresh_database(backend).await);
    // Any export longer than its first page overruns a zero limit.
    settings.export_time_limit = std::time::Duration::ZERO;
    let app = TestApp::spawn_with(backend, settings).await;
    let (_, finance) = one_approved_claim(&app, "SO-SLOW").await;
    copy_payouts(&app, 600).await;

    let res = get(&app, "/exports/payouts.csv", Some(&finance.token)).await;
    assert_eq!(res.status(), 200, "the first page was read in time");
    assert!(
        res.bytes().await.is_err(),
        "the body ends without its last chunk, so the client knows it is cut"
    );
    // One page fits: a short export is unaffected.
    let res = get(&app, "/exports/claims.csv", Some(&finance.token)).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().starts_with(CLAIM_HEADER));
}

/// Inserts `n` copies of the first payout (new ids): pages of 500 rows are
/// slow to make through the API.
async fn copy_payouts(app: &TestApp, n: usize) {
    use entity::payout;
    let base = payout::Entity::find().one(&app.db).await.unwrap().unwrap();
    let copies: Vec<_> = (0..n)
        .map(|_| {
            let mut m = base.clone();
            m.id = uuid::Uuid::now_v7();
            payout::ActiveModel::from(m)
        })
        .collect();
    for batch in copies.chunks(100) {
        payout::Entity::insert_many(batch.to_vec())
            .exec_without_returning(&app.db)
            .await
            .unwrap();
    }
}

/// One claim on order `number`, approved (so it has a payout); the manager
/// who approved it and a finance user who may export.
async fn one_approved_claim(app: &TestApp, number: &str) -> (Staff, Staff) {
    let shop = app.staff(&[Role::Integration]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let manager = app.staff(&[Role::RefundManager]).await;
    let finance = app.staff(&[Role::Finance]).await;
    let id = claim(app, &shop, &agent, number, "20.00", "2026-02-04T00:00:00Z").await;
    let body = app.approve(&manager.token, json!({ "claimId": id })).await;
    assert!(body["errors"].is_null(), "{body}");
    (manager, finance)
}
