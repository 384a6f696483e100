//! Logging and optional trace export.
//!
//! - Log lines: `RUST_LOG` filters them, `LOG_FORMAT` picks pretty or JSON.
//! - Traces, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//!   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: each request's span and
//!   the SQL spans inside it (sea-orm's `tracing-spans`) go to that OTLP/HTTP
//!   collector as protobuf, in batches from a background thread, so a slow
//!   or absent collector never holds a request. A request's W3C
//!   `traceparent` header makes its span a child of the caller's trace. SQL
//!   outside a request (the background loops' polling) is not traced, nor
//!   are our other spans and log events (see the filter in [`init`]).
//!   `OTEL_SERVICE_NAME` names the service (default `refund-desk`); the
//!   SDK's own variables (`OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`
//!   …) apply. Every request is recorded whatever its `traceparent` says
//!   (no parent-based sampling): a caller cannot hide its requests from the
//!   traces.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Level;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::{DynFilterFn, LevelFilter};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

use crate::config::LogFormat;

/// Our spans that are exported: the request's root span (`http/observe.rs`)
/// and its GraphQL operation (`http/graphql.rs`), whose fields hold no
/// personal data.
const EXPORTED_SPANS: [&str; 2] = ["http_request", "graphql_operation"];

/// True once this process exports traces; mirrors [`Telemetry`]'s provider,
/// for the request path, which has no handle on it.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// The trace export of this process, flushed by [`Telemetry::shutdown`].
#[must_use = "shut it down at exit, or the last spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (at exit).
    pub fn shutdown(self) {
        if let Some(provider) = self.traces {
            if let Err(err) = provider.shutdown() {
                tracing::warn!(cause = %err, "could not send the last spans");
            }
        }
    }
}

/// Installs the global subscriber once; later calls (tests) keep the first.
pub fn init(format: LogFormat) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = match format {
        LogFormat::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => fmt::layer().with_target(false).boxed(),
    }
    .with_filter(filter);
    let provider = match exporter() {
        Ok(provider) => provider,
        Err(err) => {
            eprintln!("refund-desk: traces are not exported: {err}");
            None
        }
    };
    let traces = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("refund-desk"))
            .with_filter(
                DynFilterFn::new(|meta, cx| {
                    // The request's span and its GraphQL operation, and the
                    // SQL spans inside them. Not our other spans or log
                    // events: `#[instrument]` records arguments (a login's
                    // email, a payment reference) and events carry error
                    // causes. Not SQL outside a request: the background
                    // loops' polling (every 250 ms) would each be a trace.
                    meta.is_span()
                        && *meta.level() <= Level::INFO
                        && (EXPORTED_SPANS.contains(&meta.name())
                            || (meta.target().starts_with("sea_orm")
                                && cx.lookup_current().is_some()))
                })
                .with_max_level_hint(LevelFilter::INFO),
            )
    });
    let installed = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()
        .is_ok();
    // Already installed (several test servers in one process): the first
    // subscriber stays, and a second exporter would receive nothing.
    let traces = provider.filter(|_| installed);
    EXPORTING.store(traces.is_some(), Ordering::Relaxed);
    Telemetry { traces }
}

/// The OTLP exporter the environment asks for, if any.
fn exporter() -> Result<Option<SdkTracerProvider>, String> {
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    if !configured {
        return Ok(None);
    }
    // The exporter reads the endpoint, headers and timeout from the
    // environment itself, as the OpenTelemetry specification names them.
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()
        .map_err(|e| e.to_string())?;
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "refund-desk".into());
    Ok(Some(
        SdkTracerProvider::builder()
            .with_sampler(Sampler::AlwaysOn)
            .with_resource(Resource::builder().with_service_name(service).build())
            .with_batch_exporter(exporter)
            .build(),
    ))
}

/// Makes `span` a child of the trace the request's `traceparent` names,
/// when traces are exported; a missing or malformed header leaves it a root.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &actix_web::http::header::HeaderMap) {
    if !EXPORTING.load(Ordering::Relaxed) {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    let _ = span.set_parent(parent);
}

/// A request's headers, as the propagator reads them.
struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
