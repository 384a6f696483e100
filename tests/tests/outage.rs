//! The database goes away and comes back: readiness reports it within a
//! second, requests fail fast with a clean error, and the server recovers by
//! itself. The database sits behind a TCP proxy so only this server loses it.

use std::time::{Duration, Instant};

use api::domain::Role;
use serde_json::json;
use tests::proxy::TcpProxy;
use tests::{assert_error, backends, fresh_database, settings_for, Backend, TestApp};

/// `host:port` of a server URL (`scheme://user@host:port/db?...`).
fn host_port(url: &str) -> &str {
    let rest = &url[url.find("://").unwrap() + 3..];
    let rest = rest.rsplit_once('@').map(|(_, r)| r).unwrap_or(rest);
    rest.split('/').next().unwrap()
}

async fn ready(app: &TestApp) -> u16 {
    app.client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_server_fails_fast_while_the_database_is_down_and_recovers_alone() {
    for backend in backends().into_iter().filter(|b| *b != Backend::Sqlite) {
        let url = fresh_database(backend).await;
        let target = host_port(&url).to_string();
        let proxy = TcpProxy::start(target.clone()).await;
        let proxied = url.replacen(&target, &format!("127.0.0.1:{}", proxy.port), 1);
        let app = TestApp::spawn_with(backend, settings_for(proxied)).await;
        let admin = app.staff(&[Role::Admin]).await;
        let query = "{ me { email } }";
        assert!(app.graphql(query, json!({}), Some(&admin.token)).await["errors"].is_null());
        assert_eq!(ready(&app).await, 200);

        proxy.cut();
        let started = Instant::now();
        assert_eq!(ready(&app).await, 503, "{backend:?}");
        assert!(
            started.elapsed() < Duration::from_millis(1_100),
            "{:?}",
            started.elapsed()
        );

        let started = Instant::now();
        let body = app.graphql(query, json!({}), Some(&admin.token)).await;
        let took = started.elapsed();
        assert_error(&body, "INTERNAL_SERVER_ERROR");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with("Internal server error (request id "),
            "{message}"
        );
        // No hang past the pool's acquire timeout (3 s).
        assert!(took < Duration::from_millis(3_500), "{backend:?}: {took:?}");
        println!("{backend:?}: database down: readyz 503, GraphQL error after {took:?}");

        proxy.restore();
        let started = Instant::now();
        loop {
            let body = app.graphql(query, json!({}), Some(&admin.token)).await;
            if body["errors"].is_null() && ready(&app).await == 200 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{backend:?} did not recover: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "{backend:?}: recovered {:?} after the database came back",
            started.elapsed()
        );
    }
}
