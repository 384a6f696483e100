//! The HTTP surface: health, readiness, metrics, request ids, transport rules
//! and error masking.

use serde_json::{json, Value};
use tests::{assert_error, Backend, TestApp};

use api::domain::Role;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // Some traffic so every metric family has a sample.
    app.graphql("{ me { id } }", json!({}), None).await;
    let text = app.metrics().await;
    for needle in [
        "refund_desk_http_requests_total{route=\"/graphql\",status=\"200\"}",
        "refund_desk_http_request_duration_seconds_bucket{le=\"+Inf\"}",
        "refund_desk_graphql_errors_total{code=\"UNAUTHENTICATED\"} 1",
        "refund_desk_db_pool_connections{state=\"max\"} 5",
        "# TYPE refund_desk_http_request_duration_seconds histogram",
        "refund_desk_http_request_duration_seconds_bucket{le=\"0.25\"}",
        "# HELP refund_desk_sql_statements_total SQL statements",
        "# TYPE refund_desk_ws_connections gauge",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_a_plain_one() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut made_ids = std::collections::HashSet::new();
    for path in ["/healthz", "/readyz", "/metrics", "/nowhere", "/healthz"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let id = res
            .headers()
            .get("x-request-id")
            .expect("request id")
            .to_str()
            .unwrap();
        // Made by the server: a UUIDv7, so ids sort by the time they were made.
        let made = uuid::Uuid::parse_str(id).expect("a UUID");
        assert_eq!(made.get_version_num(), 7, "{path}: {id}");
        assert!(made_ids.insert(made), "{path}: {id} was given twice");
    }
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "has spaces and <html>")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "has spaces and <html>");
}

#[tokio::test]
async fn readiness_fails_and_internal_errors_are_masked_when_the_database_is_gone() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    // Closing the pool makes every database call fail, as an outage would.
    app.db.clone().close().await.unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&admin.token)
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    let rid = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    assert_error(&body, "INTERNAL_SERVER_ERROR");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&rid),
        "message names the request id: {message}"
    );
    let lower = body.to_string().to_lowercase();
    for leak in ["sqlite", "select", "pool", "/tmp", "panick"] {
        assert!(!lower.contains(leak), "leaked {leak:?}: {body}");
    }
}

#[tokio::test]
async fn transport_rules_are_enforced() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let post = |body: String, content_type: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .bearer_auth(&admin.token)
            .body(body)
            .send()
    };
    // Form and text bodies are refused (cross-site request defence).
    let res = post("query={me{id}}".into(), "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = post(r#"{"query":"{ me { id } }"}"#.into(), "text/plain")
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    // Malformed JSON and batches are client errors.
    let res = post("{not json".into(), "application/json").await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_error(&body, "BAD_USER_INPUT");
    let res = post(r#"[{"query":"{ me { id } }"}]"#.into(), "application/json")
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Bodies over 1 MiB are refused.
    let huge = format!(
        r#"{{"query":"{{ me {{ id }} }}","variables":{{"x":"{}"}}}}"#,
        "a".repeat(1_100_000)
    );
    let res = post(huge, "application/json").await.unwrap();
    assert_eq!(res.status(), 413);
    // Queries over GET work; mutations over GET do not.
    let res = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ me { id } }")])
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["me"]["id"], admin.id.as_str());
    let res = app
        .client
        .get(app.url("/graphql"))
        .query(&[(
            "query",
            "mutation { deactivateStaff(staffId: \"x\") { id } }",
        )])
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    // A browser gets GraphiQL.
    let res = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().to_lowercase().contains("<html"));
}

#[tokio::test]
async fn graphql_level_mistakes_get_contract_codes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let t = Some(admin.token.as_str());
    assert_error(
        &app.graphql("{ me { id ", json!({}), t).await,
        "BAD_USER_INPUT",
    );
    assert_error(
        &app.graphql("{ me { nope } }", json!({}), t).await,
        "BAD_USER_INPUT",
    );
    assert_error(
        &app.graphql(
            "mutation($r: [Role!]!){ setStaffRoles(staffId: \"x\", roles: $r) { id } }",
            json!({ "r": ["GOD"] }),
            t,
        )
        .await,
        "BAD_USER_INPUT",
    );
    // 25 levels of nesting (fragments on the recursive Staff/AuditEntry shape
    // are not available yet, so nest through introspection types).
    let deep = format!(
        "{{ __schema {{ types {{ {} name {} }} }} }}",
        "fields { type { ofType { ".repeat(8),
        "} } } ".repeat(8)
    );
    assert_error(&app.graphql(&deep, json!({}), t).await, "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn alias_floods_and_deep_nesting_are_refused_before_any_sql() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let t = Some(admin.token.as_str());
    let flood: String = (0..500).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let body = app.graphql(&format!("{{ {flood} }}"), json!({}), t).await;
    assert_error(&body, "QUERY_TOO_COMPLEX");
    // Through a fragment too.
    let fragment: String = (0..150).map(|i| format!("x{i}: id ")).collect();
    let body = app
        .graphql(
            &format!("{{ me {{ ...F }} }} fragment F on Staff {{ {fragment} }}"),
            json!({}),
            t,
        )
        .await;
    assert_error(&body, "QUERY_TOO_COMPLEX");
    // A dashboard-sized query passes.
    let fine: String = (0..20).map(|i| format!("a{i}: me {{ id }} ")).collect();
    assert!(app.graphql(&format!("{{ {fine} }}"), json!({}), t).await["errors"].is_null());
    // 25 levels of nesting through real types.
    let deep = format!(
        "{{ orders {{ nodes {{ {} id {} }} }} }}",
        "customer { orders { nodes { ".repeat(6),
        "} } } ".repeat(6)
    );
    assert_error(&app.graphql(&deep, json!({}), t).await, "QUERY_TOO_COMPLEX");
    let directives = format!("{{ me {} {{ id }} }}", "@include(if: true) ".repeat(50));
    assert_error(
        &app.graphql(&directives, json!({}), t).await,
        "QUERY_TOO_COMPLEX",
    );
}

#[tokio::test]
async fn a_graceful_stop_lets_in_flight_requests_finish_and_refuses_new_ones() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Two accounts: parallel logins of one account beyond the throttle's
    // limit are refused before hashing (`auth.rs`).
    let staff = [
        app.staff(&[Role::Finance]).await,
        app.staff(&[Role::Finance]).await,
    ];
    // Logins spend tens of milliseconds hashing: they are in flight when the stop comes.
    let mut in_flight = Vec::new();
    for i in 0..8 {
        let email = staff[i % 2].email.clone();
        let (client, url) = (app.client.clone(), app.url("/graphql"));
        in_flight.push(tokio::spawn(async move {
            let q = tests::LOGIN;
            client
                .post(url)
                .json(&json!({ "query": q, "variables": { "e": email, "p": tests::PASSWORD } }))
                .send()
                .await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let stopping = tokio::spawn(app.handle.clone().stop(true));
    for request in in_flight {
        let res = request
            .await
            .unwrap()
            .expect("an in-flight request completes");
        let body: Value = res.json().await.unwrap();
        assert!(body["data"]["login"]["token"].is_string(), "{body}");
    }
    stopping.await.unwrap();
    let fresh = reqwest::Client::new().get(app.url("/healthz")).send().await;
    assert!(fresh.is_err(), "new connections are refused after the stop");
}

/// Posts a body as-is to `/graphql` with an optional token.
async fn post_body(app: &TestApp, body: Value, token: Option<&str>) -> Value {
    let mut req = app.client.post(app.url("/graphql")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn persisted_queries_run_by_hash_once_the_text_was_sent() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let t = Some(admin.token.as_str());
    let query = "query Me($x: Boolean!) { me { id email @include(if: $x) } }";
    let hash = sha256_hex(query);

    // Apollo's flow: the hash alone first, the text with it on a miss.
    let miss = post_body(
        &app,
        json!({ "variables": { "x": true }, "extensions": persisted(&hash) }),
        t,
    )
    .await;
    assert_error(&miss, "BAD_USER_INPUT");
    assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound");
    let first = post_body(
        &app,
        json!({ "query": query, "variables": { "x": true }, "extensions": persisted(&hash) }),
        t,
    )
    .await;
    assert_eq!(first["data"]["me"]["email"], admin.email, "{first}");

    // Later requests send the hash only, with their own variables and token.
    let by_hash = post_body(
        &app,
        json!({ "variables": { "x": false }, "extensions": persisted(&hash) }),
        t,
    )
    .await;
    assert_eq!(
        by_hash["data"]["me"],
        json!({ "id": admin.id }),
        "{by_hash}"
    );
    // Without a signed token the cache is neither read nor filled: a hash
    // alone is unknown, and the text runs (and is refused) as usual.
    for token in [None, Some("not-a-token")] {
        let anonymous = post_body(
            &app,
            json!({ "variables": { "x": true }, "extensions": persisted(&hash) }),
            token,
        )
        .await;
        assert_eq!(anonymous["errors"][0]["message"], "PersistedQueryNotFound");
        let with_text = post_body(
            &app,
            json!({ "query": query, "variables": { "x": true }, "extensions": persisted(&hash) }),
            token,
        )
        .await;
        assert_error(&with_text, "UNAUTHENTICATED");
    }
    let bad_variables = post_body(
        &app,
        json!({ "variables": { "x": "yes" }, "extensions": persisted(&hash) }),
        t,
    )
    .await;
    assert_error(&bad_variables, "BAD_USER_INPUT");
    // GET reads the same cache; a registered mutation still may not use GET.
    let get = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            ("variables", json!({ "x": true }).to_string()),
            ("extensions", persisted(&hash).to_string()),
        ])
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    let get: Value = get.json().await.unwrap();
    assert_eq!(get["data"]["me"]["email"], admin.email, "{get}");
    // Another staff member cannot run (or learn of) a document by its hash
    // before sending its text themselves.
    let other = app.staff(&[Role::Admin]).await;
    let theirs = post_body(
        &app,
        json!({ "variables": { "x": true }, "extensions": persisted(&hash) }),
        Some(&other.token),
    )
    .await;
    assert_eq!(theirs["errors"][0]["message"], "PersistedQueryNotFound");
    let metrics = app.metrics().await;
    assert!(
        !metrics.contains("document"),
        "nothing derived from query text:\n{metrics}"
    );
    assert!(
        metrics.contains("refund_desk_graphql_errors_total{code=\"BAD_USER_INPUT\"} 1\n"),
        "a miss is not a client error; the bad variables are:\n{metrics}"
    );

    let mutation =
        "mutation { deactivateStaff(staffId: \"00000000-0000-0000-0000-000000000000\") { id } }";
    let registered = post_body(
        &app,
        json!({ "query": mutation, "extensions": persisted(&sha256_hex(mutation)) }),
        t,
    )
    .await;
    assert_error(&registered, "NOT_FOUND");
    let res = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", persisted(&sha256_hex(mutation)).to_string())])
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn malformed_persisted_queries_are_refused_and_not_kept() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let t = Some(admin.token.as_str());
    let query = "{ me { id } }";
    let other = sha256_hex("{ me { email } }");
    let cases = [
        json!({ "query": query, "extensions": persisted(&other) }),
        json!({ "query": query, "extensions": { "persistedQuery": { "version": 2, "sha256Hash": sha256_hex(query) } } }),
        json!({ "query": query, "extensions": { "persistedQuery": { "version": 1 } } }),
        json!({ "query": query, "extensions": { "persistedQuery": "yes" } }),
        json!({ "extensions": persisted("abc") }),
        json!({ "variables": {} }),
    ];
    for body in cases {
        let res = post_body(&app, body.clone(), t).await;
        assert_error(&res, "BAD_USER_INPUT");
        assert!(res["data"].is_null(), "{body}: {res}");
    }
    // The mismatched hash was not stored under either name.
    for hash in [other, sha256_hex(query)] {
        let res = post_body(&app, json!({ "extensions": persisted(&hash) }), t).await;
        assert_eq!(
            res["errors"][0]["message"], "PersistedQueryNotFound",
            "{res}"
        );
    }
}

/// A document that passed validation once skips the strict rules later, but
/// only with variables that are surely well typed: on such a document an
/// ill-typed variable is still refused before anything runs, so the valid
/// half of a two-field mutation does not commit.
#[tokio::test]
async fn a_validated_document_still_refuses_ill_typed_variables_whole() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let agent = app.staff(&[Role::SupportAgent]).await;
    let t = Some(admin.token.as_str());
    let strict = "refund_desk_graphql_validations_total{mode=\"strict\"}";
    let reused = "refund_desk_graphql_validations_total{mode=\"reused\"}";
    let query = "mutation($a: ID!, $b: ID!) { a: deactivateStaff(staffId: $a) { id active } b: deactivateStaff(staffId: $b) { id active } }";
    let unknown = "00000000-0000-7000-8000-000000000000";

    // Passes validation, then fails on execution: the document is marked.
    let warm = app
        .graphql(query, json!({ "a": unknown, "b": unknown }), t)
        .await;
    assert_error(&warm, "NOT_FOUND");
    let (strict_before, reused_before) = (app.metric(strict).await, app.metric(reused).await);
    let again = app
        .graphql(query, json!({ "a": unknown, "b": unknown }), t)
        .await;
    assert_error(&again, "NOT_FOUND");
    assert_eq!(app.metric(reused).await, reused_before + 1, "fast mode");

    for bad in [
        json!({ "id": agent.id }),
        json!(true),
        json!(null),
        json!([agent.id]),
        json!(12.5),
    ] {
        let body = app
            .graphql(query, json!({ "a": agent.id, "b": bad }), t)
            .await;
        assert_error(&body, "BAD_USER_INPUT");
        assert!(body["data"].is_null(), "{bad}: {body}");
    }
    // Each went through the strict rules, not fast mode.
    assert_eq!(app.metric(strict).await, strict_before + 5);
    assert_eq!(app.metric(reused).await, reused_before + 1);
    let me = app
        .graphql("{ me { active } }", json!({}), Some(&agent.token))
        .await;
    assert_eq!(me["data"]["me"]["active"], true, "{me}");
}
