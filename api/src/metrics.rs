//! Prometheus metrics through the `prometheus` crate: typed families with
//! HELP text and histogram buckets, in a registry per server (not a global
//! one), so the servers of one test process count apart. They describe this
//! process only, which is what a scraper expects from `/metrics`. Figures the
//! server keeps for its own logic (open WebSockets, the bus lag, requests in
//! flight, the pool) stay atomics there and are copied into gauges on scrape.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Upper bounds (seconds) of the request latency histogram.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: Histogram,
    errors: IntCounterVec,
    /// Inbound webhook messages by (source, outcome).
    inbound: IntCounterVec,
    /// GraphQL requests validated with every rule, and those whose document
    /// passed them before and ran in fast mode (`graphql::validation`); the
    /// two labels are resolved once, off the per-request label lookup.
    validations_strict: IntCounter,
    validations_reused: IntCounter,
    // Counted on every statement, off any lock: an atomic add.
    sql_statements: IntCounter,
    sql_failures: IntCounter,
    in_flight: IntGauge,
    ws_gauge: IntGauge,
    pool: IntGaugeVec,
    /// Registered only with `NATS_URL` (see `bus_enabled`).
    bus_gauge: IntGauge,
    /// Numbered events NATS has not acknowledged yet (with `NATS_URL`).
    pub bus_lag: Arc<AtomicI64>,
    pub bus_enabled: AtomicBool,
    /// Open `/graphql/ws` connections.
    pub ws_connections: AtomicI64,
    /// Requests being served (background work gives way to them).
    pub foreground: crate::foreground::Foreground,
}

/// Database pool figures sampled when `/metrics` is scraped.
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// Registers the metric `make` built and hands it back; a bad name or a
/// second metric of one name is a programming error.
fn reg<C, E>(registry: &Registry, make: Result<C, E>) -> C
where
    C: Collector + Clone + 'static,
    E: std::fmt::Debug,
{
    let metric = make.expect("a valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("one metric per name");
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let latency = reg(
            r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "refund_desk_http_request_duration_seconds",
                    "Request latency.",
                )
                .buckets(BUCKETS.to_vec()),
            ),
        );
        let pool = reg(
            r,
            IntGaugeVec::new(
                Opts::new(
                    "refund_desk_db_pool_connections",
                    "Database pool connections.",
                ),
                &["state"],
            ),
        );
        let validations = reg(
            r,
            IntCounterVec::new(
                Opts::new(
                    "refund_desk_graphql_validations_total",
                    "GraphQL requests by validation: strict (every rule) or reused (fast mode after an earlier strict pass of the same text by the same caller).",
                ),
                &["mode"],
            ),
        );
        Metrics {
            validations_strict: validations.with_label_values(&["strict"]),
            validations_reused: validations.with_label_values(&["reused"]),
            requests: reg(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "refund_desk_http_requests_total",
                        "HTTP requests by route and status.",
                    ),
                    &["route", "status"],
                ),
            ),
            latency,
            errors: reg(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "refund_desk_graphql_errors_total",
                        "GraphQL errors by extensions.code.",
                    ),
                    &["code"],
                ),
            ),
            inbound: reg(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "refund_desk_inbound_messages_total",
                        "Verified inbound webhook messages by source and outcome.",
                    ),
                    &["source", "outcome"],
                ),
            ),
            sql_statements: reg(
                r,
                IntCounter::new(
                    "refund_desk_sql_statements_total",
                    "SQL statements run for requests (background workers use a pool of their own).",
                ),
            ),
            sql_failures: reg(
                r,
                IntCounter::new(
                    "refund_desk_sql_statement_failures_total",
                    "SQL statements that failed.",
                ),
            ),
            in_flight: reg(
                r,
                IntGauge::new(
                    "refund_desk_http_requests_in_flight",
                    "Requests being served now.",
                ),
            ),
            ws_gauge: reg(
                r,
                IntGauge::new(
                    "refund_desk_ws_connections",
                    "Open GraphQL WebSocket connections.",
                ),
            ),
            pool,
            bus_gauge: IntGauge::new(
                "refund_desk_event_bus_lag",
                "Events numbered but not yet acknowledged by NATS.",
            )
            .expect("a valid metric"),
            registry,
            bus_lag: Arc::default(),
            bus_enabled: AtomicBool::default(),
            ws_connections: AtomicI64::default(),
            foreground: Default::default(),
        }
    }
}

impl Metrics {
    /// `status` is the code's digits (`"200"`).
    pub fn observe_request(&self, route: &str, status: &str, elapsed: Duration) {
        self.requests.with_label_values(&[route, status]).inc();
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// Called by the database driver for every statement it runs.
    pub fn observe_sql(&self, failed: bool) {
        self.sql_statements.inc();
        if failed {
            self.sql_failures.inc();
        }
    }

    /// Statements run so far by this process.
    pub fn sql_statements(&self) -> u64 {
        self.sql_statements.get()
    }

    /// A request's document validated strictly, or `reused` a pass before.
    pub fn observe_validation(&self, reused: bool) {
        if reused {
            self.validations_reused.inc();
        } else {
            self.validations_strict.inc();
        }
    }

    pub fn observe_error(&self, code: &str) {
        self.errors.with_label_values(&[code]).inc();
    }

    /// A verified inbound message: its stored status, or DUPLICATE.
    pub fn observe_inbound(&self, source: &str, status: &str, duplicate: bool) {
        let outcome = if duplicate { "DUPLICATE" } else { status };
        self.inbound.with_label_values(&[source, outcome]).inc();
    }

    /// The text exposition format, with the sampled figures brought up to date.
    pub fn render(&self, pool: Option<PoolStats>) -> String {
        self.in_flight.set(self.foreground.in_flight() as i64);
        self.ws_gauge
            .set(self.ws_connections.load(Ordering::Relaxed));
        if let Some(pool) = pool {
            for (state, n) in [("open", pool.size), ("idle", pool.idle), ("max", pool.max)] {
                self.pool.with_label_values(&[state]).set(i64::from(n));
            }
        }
        let mut families = self.registry.gather();
        if self.bus_enabled.load(Ordering::Relaxed) {
            self.bus_gauge.set(self.bus_lag.load(Ordering::Relaxed));
            families.extend(self.bus_gauge.collect());
        }
        TextEncoder::new()
            .encode_to_string(&families)
            .unwrap_or_else(|err| {
                tracing::error!(cause = %err, "metrics could not be encoded");
                String::new()
            })
    }
}
