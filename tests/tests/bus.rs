//! The event bus: every event reaches NATS JetStream with its id as
//! `Nats-Msg-Id`, and stopping NATS loses nothing. Each test runs a NATS
//! server of its own (the machine's one at 4222 is left alone), so it can
//! kill and restart it.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api::domain::Role;
use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use serde_json::Value;
use tests::{fresh_database, settings_for, Backend, TestApp};

/// A throwaway JetStream server on a fixed port and store, so a restart
/// comes back with the same stream and de-duplication state.
struct Nats {
    port: u16,
    store: std::path::PathBuf,
    child: Option<Child>,
}

impl Nats {
    fn start() -> Nats {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = std::env::temp_dir()
            .join("refund-desk-tests")
            .join(format!("nats-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&store).unwrap();
        let mut nats = Nats {
            port,
            store,
            child: None,
        };
        nats.restart();
        nats
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let binary = [
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
            "/usr/local/bin/nats-server",
        ]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nats-server is installed (Debian package nats-server)");
        let child = Command::new(binary)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// Every message in the stream: (Nats-Msg-Id, subject, body).
async fn stream_messages(url: &str) -> Vec<(String, String, Value)> {
    let client = async_nats::connect(url)
        .await
        .expect("a test client connects");
    let js = jetstream::new(client);
    let Ok(mut stream) = js.get_stream(api::service::events::bus::STREAM).await else {
        return Vec::new();
    };
    let count = stream.info().await.unwrap().state.messages as usize;
    if count == 0 {
        return Vec::new();
    }
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap().take(count);
    let mut out = Vec::new();
    while let Some(Ok(m)) = messages.next().await {
        let id = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&m.payload).unwrap();
        out.push((id, m.subject.to_string(), body));
    }
    out
}

/// Waits until the stream holds `n` messages.
async fn wait_for_messages(url: &str, n: usize) -> Vec<(String, String, Value)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = stream_messages(url).await;
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn event_ids(app: &TestApp) -> HashSet<String> {
    use sea_orm::EntityTrait;
    entity::event::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id.to_string())
        .collect()
}

#[tokio::test]
async fn events_reach_jetstream_once_each_and_a_nats_outage_loses_nothing() {
    let mut nats = Nats::start();
    let mut settings = settings_for(fresh_database(Backend::Sqlite).await);
    settings.nats_url = Some(nats.url());
    let app = TestApp::spawn_with(Backend::Sqlite, settings).await;
    let shop = app.staff(&[Role::Integration]).await;
    for n in 0..5 {
        app.create_order(
            &shop.token,
            tests::order_input(&format!("SO-N{n}"), "n@example.com"),
        )
        .await;
    }
    let got = wait_for_messages(&nats.url(), 10).await;
    assert_eq!(got.len(), 10, "two events per order");
    for (id, subject, body) in &got {
        assert_eq!(
            body["id"],
            Value::String(id.clone()),
            "Nats-Msg-Id is the event id"
        );
        let kind = body["type"].as_str().unwrap();
        assert_eq!(
            *subject,
            format!("refund-desk.events.{}", kind.to_lowercase())
        );
        for field in [
            "sequence",
            "occurredAt",
            "subjectType",
            "subjectId",
            "source",
            "data",
        ] {
            assert!(!body[field].is_null(), "{field} in {body}");
        }
    }

    // NATS goes away; the API keeps serving and the events wait.
    nats.kill();
    for n in 5..10 {
        app.create_order(
            &shop.token,
            tests::order_input(&format!("SO-N{n}"), "n@example.com"),
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lag = app.metric("refund_desk_event_bus_lag").await;
        if lag >= 10 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the lag shows in /metrics (now {lag})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Back again: publishing resumes by itself, nothing lost or doubled.
    nats.restart();
    let got = wait_for_messages(&nats.url(), 20).await;
    let ids: Vec<&str> = got.iter().map(|(id, _, _)| id.as_str()).collect();
    let unique: HashSet<String> = ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(ids.len(), unique.len(), "no event twice in the stream");
    assert_eq!(
        unique,
        event_ids(&app).await,
        "every event reached the stream"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.metric("refund_desk_event_bus_lag").await != 0 {
        assert!(Instant::now() < deadline, "the lag returns to 0");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn without_nats_url_nothing_is_published_and_metrics_say_nothing_of_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let metrics = app.metrics().await;
    assert!(!metrics.contains("refund_desk_event_bus_lag"), "{metrics}");
}
