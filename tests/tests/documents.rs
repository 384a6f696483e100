//! Hostile documents cost linear time, before any login, and GraphQL over
//! HTTP answers with the status its media type asks for.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::{assert_error, Backend, TestApp};

/// k fragments, each spreading the next twice: 2^k fields once expanded.
fn doubling_chain(k: usize) -> String {
    let mut q = String::from("query { ...F0 }");
    for i in 0..k {
        q.push_str(&format!(
            " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    q.push_str(&format!(" fragment F{k} on Query {{ __typename }}"));
    q
}

async fn post(app: &TestApp, query: &str) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request sent");
    let status = res.status().as_u16();
    (status, res.json().await.expect("JSON body"))
}

#[tokio::test]
async fn an_exponential_fragment_chain_is_refused_at_once_without_a_login() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let query = doubling_chain(30);
    // Warm the connection and the server before timing.
    post(&app, "{ __typename }").await;
    let started = Instant::now();
    let (status, body) = post(&app, &query).await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert_error(&body, "QUERY_TOO_COMPLEX");
    assert!(
        took < Duration::from_millis(50),
        "refused in {took:?}, not under 50 ms"
    );
}

#[tokio::test]
async fn self_spreading_fragments_do_not_pin_the_workers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // The audit's 54-byte document, four at once, then the health check.
    let cyclic = "query { ...A } fragment A on Query { ...A ...A }";
    let attacks: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url("/graphql"));
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({ "query": cyclic }))
                    .send()
                    .await
                    .expect("sent")
                    .json::<Value>()
                    .await
                    .expect("JSON")
            })
        })
        .collect();
    let health = tokio::time::timeout(
        Duration::from_secs(2),
        app.client.get(app.url("/healthz")).send(),
    )
    .await
    .expect("healthz answers while the attack runs")
    .unwrap();
    assert_eq!(health.status(), 200);
    for attack in attacks {
        let body = tokio::time::timeout(Duration::from_secs(2), attack)
            .await
            .expect("the cyclic document is answered")
            .unwrap();
        assert_error(&body, "BAD_USER_INPUT");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("within itself"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn other_document_shapes_are_bounded_before_parsing_or_validation() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let nested_value = format!(
        "{{ __typename(x: {}1{}) }}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let nested_selection = format!(
        "{{ {} __typename {} }}",
        "a { ".repeat(50_000),
        "} ".repeat(50_000)
    );
    let mut chain = String::from("query { ...F0 }");
    for i in 0..20_000 {
        chain.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
    }
    chain.push_str(" fragment F20000 on Query { __typename }");
    let unused = "{ __typename } fragment U on Query { __typename }";
    for (query, code) in [
        (nested_value.as_str(), "QUERY_TOO_COMPLEX"),
        (nested_selection.as_str(), "QUERY_TOO_COMPLEX"),
        (chain.as_str(), "QUERY_TOO_COMPLEX"),
        (unused, "BAD_USER_INPUT"),
    ] {
        let started = Instant::now();
        let (status, body) = post(&app, query).await;
        assert_eq!(status, 200, "{}", &query[..40]);
        assert_error(&body, code);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{}",
            &query[..40]
        );
    }
    // The server is still there.
    let (_, body) = post(&app, "{ __typename }").await;
    assert_eq!(body["data"]["__typename"], "Query");
}

async fn post_accepting(
    app: &TestApp,
    accept: &str,
    body: Value,
    token: &str,
) -> (u16, String, Value) {
    let res = app
        .client
        .post(app.url("/graphql"))
        .header("accept", accept)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let media = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, media, res.json().await.unwrap())
}

#[tokio::test]
async fn graphql_response_json_answers_request_errors_with_400_and_no_data() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.staff(&[api::domain::Role::Admin]).await;
    const GRAPHQL: &str = "application/graphql-response+json";
    let cases = [
        (json!({ "query": "{ me { id }" }), "parse"),
        (json!({ "query": "{ me { nope } }" }), "validation"),
        (
            json!({ "query": "query($n: Int) { staff(first: $n) { totalCount } }", "variables": { "n": "ten" } }),
            "variable type",
        ),
        (
            json!({ "query": "query($n: Int) { staff(first: $n) { totalCount } }", "variables": { "n": 4_294_967_296u64 } }),
            "variable range",
        ),
    ];
    for (body, what) in cases {
        let (status, media, json) = post_accepting(&app, GRAPHQL, body.clone(), &admin.token).await;
        let code = json["errors"][0]["extensions"]["code"].as_str();
        assert_eq!(code, Some("BAD_USER_INPUT"), "{what}: {json}");
        assert!(media.starts_with(GRAPHQL), "{what}: {media}");
        // The range of an Int is only checked while executing the field,
        // which then is a field error of a request that did run.
        if what == "variable range" {
            assert_eq!(status, 200, "{what}: {json}");
            continue;
        }
        assert_eq!(status, 400, "{what}: {json}");
        assert!(json.get("data").is_none(), "{what}: {json}");
        for err in json["errors"].as_array().unwrap() {
            for loc in err["locations"].as_array().into_iter().flatten() {
                assert!(loc["line"].as_u64() > Some(0), "{what}: {json}");
            }
        }
        // The same request as application/json keeps 200 and `data: null`.
        let (status, media, json) =
            post_accepting(&app, "application/json", body, &admin.token).await;
        assert_eq!(
            (status, media.as_str()),
            (200, "application/json"),
            "{what}"
        );
        assert!(
            json["data"].is_null() && json.get("data").is_some(),
            "{what}"
        );
    }
    // A request that runs is 200, field errors included.
    let (status, _, json) = post_accepting(
        &app,
        GRAPHQL,
        json!({ "query": "{ claim(id: \"nope\") { id } }" }),
        &admin.token,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_error(&json, "BAD_USER_INPUT");
    let (status, _, json) =
        post_accepting(&app, GRAPHQL, json!({ "query": "{ me { id } }" }), "forged").await;
    assert_eq!(status, 200, "{json}");
    assert_error(&json, "UNAUTHENTICATED");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_a_json_error() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let big = json!({ "query": format!("{{ __typename }} #{}", "x".repeat(1 << 20)) });
    let res = app
        .client
        .post(app.url("/graphql"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.expect("a JSON body");
    assert_error(&body, "BAD_USER_INPUT");
}
