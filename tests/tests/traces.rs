//! Trace export: a real `serve` process with `OTEL_EXPORTER_OTLP_ENDPOINT`
//! set sends its request spans, and the SQL spans inside them, to an OTLP/HTTP
//! receiver started here, which decodes them with the OpenTelemetry project's
//! own protobuf definitions (not the server's code).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use api::domain::Role;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use prost::Message;
use serde_json::json;
use tests::process::ServerProcess;
use tests::TestApp;

const BINARY: &str = env!("CARGO_BIN_EXE_server-under-test");
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Spans received, with the service name of their batch.
type Received = Arc<Mutex<Vec<(String, Span)>>>;

/// An OTLP/HTTP receiver on a free port: `POST /v1/traces` with protobuf.
fn receiver() -> (String, Received, actix_web::dev::ServerHandle) {
    let received: Received = Arc::default();
    let kept = received.clone();
    let server = HttpServer::new(move || {
        let kept = kept.clone();
        App::new().route(
            "/v1/traces",
            web::post().to(move |body: web::Bytes| {
                let kept = kept.clone();
                async move {
                    let request =
                        ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
                    for resource in request.resource_spans {
                        let service = resource
                            .resource
                            .iter()
                            .flat_map(|r| &r.attributes)
                            .find(|a| a.key == "service.name")
                            .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                                AnyValue::StringValue(s) => Some(s.clone()),
                                _ => None,
                            })
                            .unwrap_or_default();
                        for scope in resource.scope_spans {
                            for span in scope.spans {
                                kept.lock().unwrap().push((service.clone(), span));
                            }
                        }
                    }
                    HttpResponse::Ok()
                        .content_type("application/x-protobuf")
                        .body(Vec::new())
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("bind the receiver");
    let address = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (address, received, handle)
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            AnyValue::IntValue(i) => Some(i.to_string()),
            _ => None,
        }
    })
}

/// Waits until `wanted` finds what it needs among the spans received.
async fn wait_for<T>(
    received: &Received,
    what: &str,
    wanted: impl Fn(&[(String, Span)]) -> Option<T>,
) -> T {
    tests::eventually(what, Duration::from_secs(10), async || {
        let spans = received.lock().unwrap();
        wanted(&spans).ok_or_else(|| {
            let seen: Vec<String> = spans
                .iter()
                .map(|(_, s)| {
                    format!(
                        "{} trace {} span {} parent {}",
                        s.name,
                        hex::encode(&s.trace_id),
                        hex::encode(&s.span_id),
                        hex::encode(&s.parent_span_id)
                    )
                })
                .collect();
            format!("{seen:#?}")
        })
    })
    .await
}

#[tokio::test]
async fn request_and_sql_spans_reach_an_otlp_collector_under_the_callers_trace() {
    let app = TestApp::spawn(tests::Backend::Sqlite).await;
    let admin = app.staff(&[Role::Admin]).await;
    let (collector, received, handle) = receiver();
    let server = ServerProcess::start_with(
        BINARY,
        &app.database_url,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_SERVICE_NAME", "refund-desk-under-test"),
            // The log filter does not decide what is traced.
            ("RUST_LOG", "error"),
        ],
    );
    let http = reqwest::Client::new();
    let query = json!({ "query": "{ policy { version } }" });
    let send = |traceparent: Option<&str>| {
        let mut request = http
            .post(server.url("/graphql"))
            .bearer_auth(&admin.token)
            .json(&query);
        if let Some(value) = traceparent {
            request = request.header("traceparent", value);
        }
        request.send()
    };
    // Recorded even though the caller did not sample it (flags 00).
    let res = send(Some(&format!("00-{TRACE}-{CALLER_SPAN}-00")))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let request_span = wait_for(&received, "request span in the caller's trace", |spans| {
        spans
            .iter()
            .find(|(_, s)| hex::encode(&s.trace_id) == TRACE && s.name == "POST /graphql")
            .cloned()
    })
    .await;
    let (service, span) = request_span;
    assert_eq!(service, "refund-desk-under-test");
    assert_eq!(
        hex::encode(&span.parent_span_id),
        CALLER_SPAN,
        "a child of the caller's span"
    );
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(attribute(&span, "http.route").as_deref(), Some("/graphql"));
    assert_eq!(attribute(&span, "http.status_code").as_deref(), Some("200"));
    assert!(attribute(&span, "request_id").is_some_and(|id| !id.is_empty()));

    // The caller check and the query: SQL spans inside the request's span.
    let sql = wait_for(&received, "SQL spans under the request", |spans| {
        let sql: Vec<Span> = spans
            .iter()
            .map(|(_, s)| s)
            .filter(|s| descends_from(spans, s, &span.span_id))
            .filter(|s| attribute(s, "db.system").as_deref() == Some("sqlite"))
            .cloned()
            .collect();
        (sql.len() >= 2).then_some(sql)
    })
    .await;
    assert!(
        sql.iter().all(|s| s.kind == SpanKind::Client as i32),
        "{sql:#?}"
    );
    assert!(
        sql.iter()
            .any(|s| attribute(s, "db.operation").as_deref() == Some("SELECT")),
        "{sql:#?}"
    );

    // Without a traceparent, or with a malformed one, a request starts its own trace.
    for traceparent in [
        None,
        Some("00-not-a-trace-01"),
        Some(&*format!("01-{TRACE}-{CALLER_SPAN}-zz")),
    ] {
        let before = received.lock().unwrap().len();
        let res = send(traceparent).await.unwrap();
        assert_eq!(res.status(), 200);
        let own = wait_for(&received, "a request span of its own", |spans| {
            spans[before..]
                .iter()
                .find(|(_, s)| s.name == "POST /graphql")
                .map(|(_, s)| s.clone())
        })
        .await;
        assert_ne!(hex::encode(&own.trace_id), TRACE, "{traceparent:?}");
        assert!(
            own.parent_span_id.is_empty(),
            "{traceparent:?}: a root span"
        );
    }
    // A login's email (an argument its service span records) never leaves.
    let before = received.lock().unwrap().len();
    let login = json!({ "query": "mutation { login(email: \"traced-person@example.com\", password: \"wrong-password\") { token } }" });
    let res = http
        .post(server.url("/graphql"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    wait_for(&received, "the login's request span", |spans| {
        spans[before..]
            .iter()
            .find(|(_, s)| s.name == "POST /graphql")
            .map(|_| ())
    })
    .await;
    for (_, s) in received.lock().unwrap().iter() {
        assert!(
            s.name == "POST /graphql"
                || s.name == "graphql_operation"
                || s.name.starts_with("sea_orm."),
            "an exported span that is neither the request's nor SQL: {}",
            s.name
        );
        assert!(!format!("{s:?}").contains("traced-person"), "{s:?}");
    }

    // The background loops poll every 250 ms; their SQL is not traced.
    let roots: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, s)| s.name.starts_with("sea_orm") && s.parent_span_id.is_empty())
        .map(|(_, s)| s.name.clone())
        .collect();
    assert!(roots.is_empty(), "SQL outside a request: {roots:?}");
    handle.stop(false).await;
}

/// True when `span` is below the span `ancestor` (by id) among `spans`.
fn descends_from(spans: &[(String, Span)], span: &Span, ancestor: &[u8]) -> bool {
    let mut parent = span.parent_span_id.clone();
    for _ in 0..spans.len() {
        if parent.is_empty() {
            return false;
        }
        if parent == ancestor {
            return true;
        }
        parent = match spans.iter().find(|(_, s)| s.span_id == parent) {
            Some((_, s)) => s.parent_span_id.clone(),
            None => return false,
        };
    }
    false
}
