//! Prometheus text metrics. Counters live in the process: they describe this
//! process only, which is what a scraper expects from `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds (seconds) of the request latency histogram.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    latency_counts: [u64; BUCKETS.len()],
    latency_sum: f64,
    latency_total: u64,
    errors: BTreeMap<String, u64>,
    /// Inbound webhook messages by (source, outcome).
    inbound: BTreeMap<(String, String), u64>,
}

/// The process's metrics registry.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    // Counted on every statement, off the request's lock: an atomic is enough.
    sql_statements: AtomicU64,
    sql_failures: AtomicU64,
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

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        // A poisoned lock only means another thread panicked mid-update of a
        // counter; the numbers are still usable.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub fn observe_request(&self, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        self.with(|m| {
            *m.requests.entry((route.to_string(), status)).or_default() += 1;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    m.latency_counts[i] += 1;
                }
            }
            m.latency_sum += secs;
            m.latency_total += 1;
        });
    }

    /// Called by the database driver for every statement it runs.
    pub fn observe_sql(&self, failed: bool) {
        self.sql_statements.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.sql_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Statements run so far by this process.
    pub fn sql_statements(&self) -> u64 {
        self.sql_statements.load(Ordering::Relaxed)
    }

    pub fn observe_error(&self, code: &str) {
        self.with(|m| *m.errors.entry(code.to_string()).or_default() += 1);
    }

    /// A verified inbound message: its stored status, or DUPLICATE.
    pub fn observe_inbound(&self, source: &str, status: &str, duplicate: bool) {
        let outcome = if duplicate { "DUPLICATE" } else { status };
        self.with(|m| {
            *m.inbound
                .entry((source.to_string(), outcome.to_string()))
                .or_default() += 1
        });
    }

    pub fn render(&self, pool: Option<PoolStats>) -> String {
        self.with(|m| {
            let mut out = String::new();
            out.push_str(
                "# HELP refund_desk_http_requests_total HTTP requests by route and status.\n",
            );
            out.push_str("# TYPE refund_desk_http_requests_total counter\n");
            for ((route, status), n) in &m.requests {
                let _ = writeln!(
                    out,
                    "refund_desk_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
            out.push_str("# HELP refund_desk_http_request_duration_seconds Request latency.\n");
            out.push_str("# TYPE refund_desk_http_request_duration_seconds histogram\n");
            for (bound, n) in BUCKETS.iter().zip(m.latency_counts.iter()) {
                let _ = writeln!(
                    out,
                    "refund_desk_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "refund_desk_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
                m.latency_total
            );
            let _ = writeln!(
                out,
                "refund_desk_http_request_duration_seconds_sum {}",
                m.latency_sum
            );
            let _ = writeln!(
                out,
                "refund_desk_http_request_duration_seconds_count {}",
                m.latency_total
            );
            out.push_str(
                "# HELP refund_desk_graphql_errors_total GraphQL errors by extensions.code.\n",
            );
            out.push_str("# TYPE refund_desk_graphql_errors_total counter\n");
            for (code, n) in &m.errors {
                let _ = writeln!(
                    out,
                    "refund_desk_graphql_errors_total{{code=\"{code}\"}} {n}"
                );
            }
            out.push_str("# HELP refund_desk_http_requests_in_flight Requests being served now.\n");
            out.push_str("# TYPE refund_desk_http_requests_in_flight gauge\n");
            let _ = writeln!(
                out,
                "refund_desk_http_requests_in_flight {}",
                self.foreground.in_flight()
            );
            out.push_str(
                "# HELP refund_desk_inbound_messages_total Verified inbound webhook messages by source and outcome.\n",
            );
            out.push_str("# TYPE refund_desk_inbound_messages_total counter\n");
            for ((source, outcome), n) in &m.inbound {
                let _ = writeln!(
                    out,
                    "refund_desk_inbound_messages_total{{source=\"{source}\",outcome=\"{outcome}\"}} {n}"
                );
            }
            out.push_str(
                "# HELP refund_desk_sql_statements_total SQL statements run for requests (background workers use a pool of their own).\n",
            );
            out.push_str("# TYPE refund_desk_sql_statements_total counter\n");
            let _ = writeln!(
                out,
                "refund_desk_sql_statements_total {}",
                self.sql_statements.load(Ordering::Relaxed)
            );
            let _ = writeln!(
                out,
                "refund_desk_sql_statement_failures_total {}",
                self.sql_failures.load(Ordering::Relaxed)
            );
            out.push_str(
                "# HELP refund_desk_ws_connections Open GraphQL WebSocket connections.\n",
            );
            out.push_str("# TYPE refund_desk_ws_connections gauge\n");
            let _ = writeln!(
                out,
                "refund_desk_ws_connections {}",
                self.ws_connections.load(Ordering::Relaxed)
            );
            if self.bus_enabled.load(Ordering::Relaxed) {
                out.push_str("# HELP refund_desk_event_bus_lag Events numbered but not yet acknowledged by NATS.\n");
                out.push_str("# TYPE refund_desk_event_bus_lag gauge\n");
                let _ = writeln!(
                    out,
                    "refund_desk_event_bus_lag {}",
                    self.bus_lag.load(Ordering::Relaxed)
                );
            }
            if let Some(pool) = pool {
                out.push_str("# HELP refund_desk_db_pool_connections Database pool connections.\n");
                out.push_str("# TYPE refund_desk_db_pool_connections gauge\n");
                let _ = writeln!(
                    out,
                    "refund_desk_db_pool_connections{{state=\"open\"}} {}",
                    pool.size
                );
                let _ = writeln!(
                    out,
                    "refund_desk_db_pool_connections{{state=\"idle\"}} {}",
                    pool.idle
                );
                let _ = writeln!(
                    out,
                    "refund_desk_db_pool_connections{{state=\"max\"}} {}",
                    pool.max
                );
            }
            out
        })
    }
}
