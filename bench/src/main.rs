//! The Refund Desk benchmark. One command seeds the data, measures Refund
//! Desk and the hand-written reference one after the other on the same data
//! and pool size, and writes BENCHMARKS.md:
//!
//! ```text
//! cargo run --release -p bench -- --orders 1000000
//! ```

// The same allocator as the `refund-desk` binary, for both servers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod load;
mod process;
mod reference;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::config::{Environment, JwtSettings, LogFormat, Settings};
use api::domain::{Currency, Role};
use api::service::report::{self, Interval};
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use serde_json::{json, Value};

use load::Call;
use process::Server;

const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret-0123";
const CREDENTIALS_KEY: &str = "5e1c2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f7";
const PAGES: usize = 10;
const PAGE_SIZE: usize = 50;

/// The dashboard's claims page (reporting issue): the same fields the
/// reference serves.
const CLAIMS_PAGE: &str = "query($after: String){ claims(first: 50, after: $after) { edges { cursor node { id status requestedAmount { amount currency } eligibility { outcome rule suggestedAmount { amount } } order { number total { amount currency } customer { email } activation { status deliveredAt } } payouts { status amount { amount } } assignee { name } } } pageInfo { hasNextPage endCursor } } }";

const REPORT: &str = "query($from: DateTime!, $to: DateTime!){ refundReport(from: $from, to: $to, interval: MONTH, currency: \"EUR\") { totals { ...figures } buckets { ...figures } byReason { reason count amount { amount } } byStatus { status count } } } fragment figures on ReportBucket { periodStart ordersPaid revenue { amount } claimsSubmitted claimsApproved claimsRejected refunded { amount } refundRate chargebacksOpened payoutsOverdue medianHoursToDecision }";

#[derive(Parser)]
#[command(
    name = "bench",
    about = "Benchmarks Refund Desk against a hand-written reference"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// (internal) Serves Refund Desk for a measurement.
    #[command(hide = true)]
    ServeApi(ServeArgs),
    /// (internal) Serves the reference handler for a measurement.
    #[command(hide = true)]
    ServeReference(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    pool: u32,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Orders to seed (about one claim per five orders).
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    #[arg(
        long,
        default_value = "sqlite:///var/tmp/refund-desk-bench/bench.sqlite?mode=rwc"
    )]
    sqlite_url: String,
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/refund_desk_bench"
    )]
    postgres_url: String,
    /// Concurrent clients, one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    clients: Vec<usize>,
    /// Seconds measured per load level (after the warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 2)]
    warmup_seconds: u64,
    /// Database pool size of both servers.
    #[arg(long, default_value_t = 10)]
    pool: u32,
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: String,
}

fn settings(database_url: String, pool: u32) -> Settings {
    Settings {
        database_url,
        bind: "127.0.0.1:0".into(),
        jwt: JwtSettings {
            secret: JWT_SECRET.to_string().into(),
            issuer: "refund-desk".into(),
            audience: "refund-desk-api".into(),
            ttl: Duration::from_secs(3600),
        },
        log_format: LogFormat::Pretty,
        environment: Environment::Development,
        db_max_connections: pool,
        credentials_key: Arc::new(api::config::parse_key(CREDENTIALS_KEY).expect("bench key")),
        request_timeout: Duration::from_secs(60),
        cors_origins: Vec::new(),
        faults: None,
    }
}

fn main() {
    let cli = Cli::parse();
    let result = actix_web::rt::System::new().block_on(async move {
        match cli.command {
            Some(Command::ServeApi(a)) => {
                let app = api::startup::Application::build(settings(a.database_url, a.pool))
                    .await
                    .map_err(|e| e.to_string())?;
                println!("LISTENING {}", app.port());
                app.run_until_stopped().await.map_err(|e| e.to_string())
            }
            Some(Command::ServeReference(a)) => reference::serve(settings(a.database_url, a.pool))
                .await
                .map_err(|e| e.to_string()),
            None => run(cli.run).await,
        }
    });
    if let Err(e) = result {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

/// One measured load level of one server.
struct Level {
    clients: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    statements: f64,
    cpu_ms: f64,
    peak_rss_mib: f64,
    errors: usize,
}

struct BackendResult {
    name: String,
    orders: u64,
    claims: u64,
    seed_note: String,
    api: Vec<Level>,
    reference: Vec<Level>,
    report_api_ms: f64,
    report_direct_ms: f64,
}

async fn run(args: RunArgs) -> Result<(), String> {
    let mut results = Vec::new();
    for backend in &args.backends {
        let url = match backend.as_str() {
            "sqlite" => args.sqlite_url.clone(),
            "postgres" => args.postgres_url.clone(),
            other => return Err(format!("unknown backend {other}")),
        };
        results.push(measure(backend, &url, &args).await?);
    }
    let md = markdown(&args, &results);
    std::fs::write(&args.out, &md).map_err(|e| e.to_string())?;
    println!("{md}");
    Ok(())
}

async fn prepare(
    url: &str,
    orders: usize,
) -> Result<(sea_orm::DatabaseConnection, String), String> {
    use sea_orm::ConnectionTrait;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or_default();
        if let Some(dir) = std::path::Path::new(file).parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
    } else if let Some((server, name)) = url.rsplit_once('/') {
        let admin = sea_orm::Database::connect(format!("{server}/postgres"))
            .await
            .map_err(|e| e.to_string())?;
        // Fails harmlessly when it already exists.
        let _ = admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await;
    }
    let db = api::service::db::connect(url, 4)
        .await
        .map_err(|e| e.to_string())?;
    Migrator::up(&db, None).await.map_err(|e| e.to_string())?;
    let logins = api::service::demo::ensure_demo_staff(&db)
        .await
        .map_err(|e| e.describe())?;
    let staff: Vec<uuid::Uuid> = logins
        .iter()
        .filter(|(r, _, _)| matches!(r, Role::RefundManager | Role::SupportAgent))
        .map(|(_, _, id)| *id)
        .collect();
    let started = Instant::now();
    let seeded = api::service::seed::seed(&db, orders, &staff)
        .await
        .map_err(|e| e.describe())?;
    let note = if seeded.orders > 0 {
        format!(
            "seeded {} orders, {} claims in {:.0?}",
            seeded.orders,
            seeded.claims,
            started.elapsed()
        )
    } else {
        "seeded earlier".to_string()
    };
    println!("{url}: {note}");
    Ok((db, note))
}

async fn count(db: &sea_orm::DatabaseConnection, table: &str) -> u64 {
    use sea_orm::ConnectionTrait;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .ok()
        .flatten();
    row.and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0) as u64
}

async fn statements(base: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix("refund_desk_sql_statements_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("statement counter")
}

async fn measure_levels(
    server: &Server,
    calls: Vec<Call>,
    token: &str,
    args: &RunArgs,
) -> Vec<Level> {
    let calls = Arc::new(calls);
    let token = Arc::new(token.to_string());
    let mut levels = Vec::new();
    for &clients in &args.clients {
        load::run(
            calls.clone(),
            token.clone(),
            clients,
            Duration::from_secs(args.warmup_seconds),
        )
        .await;
        let (sql0, cpu0) = (statements(&server.base).await, server.cpu_seconds());
        let out = load::run(
            calls.clone(),
            token.clone(),
            clients,
            Duration::from_secs(args.seconds),
        )
        .await;
        let (sql1, cpu1) = (statements(&server.base).await, server.cpu_seconds());
        let n = out.requests.max(1) as f64;
        let level = Level {
            clients,
            per_second: out.per_second(),
            p50_ms: out.quantile_ms(0.5),
            p99_ms: out.quantile_ms(0.99),
            // The two /metrics reads themselves run no SQL.
            statements: (sql1 - sql0) as f64 / n,
            cpu_ms: (cpu1 - cpu0) * 1000.0 / n,
            peak_rss_mib: server.peak_rss_mib(),
            errors: out.errors,
        };
        println!(
            "  {clients:>2} clients: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {:.2} SQL/req, {:.2} ms CPU/req, peak RSS {:.1} MiB, {} errors",
            level.per_second, level.p50_ms, level.p99_ms, level.statements, level.cpu_ms, level.peak_rss_mib, level.errors
        );
        levels.push(level);
    }
    levels
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn measure(name: &str, url: &str, args: &RunArgs) -> Result<BackendResult, String> {
    let (db, seed_note) = prepare(url, args.orders).await?;
    let http = reqwest::Client::new();

    // (a) Refund Desk.
    let api = Server::start("serve-api", url, args.pool);
    let login = http
        .post(format!("{}/graphql", api.base))
        .json(&json!({ "query": "mutation($e: String!, $p: String!){ login(email: $e, password: $p) { token } }", "variables": { "e": "refund-manager@demo.refund-desk.test", "p": api::service::demo::DEMO_PASSWORD } }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json::<Value>()
        .await
        .map_err(|e| e.to_string())?;
    let token = login["data"]["login"]["token"]
        .as_str()
        .ok_or(format!("login failed: {login}"))?
        .to_string();
    let mut cursors: Vec<Option<String>> = vec![None];
    let mut expected = Vec::new();
    for _ in 0..PAGES {
        let after = cursors.last().cloned().flatten();
        let body: Value = http
            .post(format!("{}/graphql", api.base))
            .bearer_auth(&token)
            .json(&json!({ "query": CLAIMS_PAGE, "variables": { "after": after } }))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if !body["errors"].is_null() {
            return Err(format!("Refund Desk answered an error: {body}"));
        }
        let end = body["data"]["claims"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_string);
        expected.push(body);
        cursors.push(end);
    }
    cursors.truncate(PAGES);
    println!("{name}: Refund Desk");
    let calls = cursors
        .iter()
        .map(|after| Call::Post {
            url: format!("{}/graphql", api.base),
            body: json!({ "query": CLAIMS_PAGE, "variables": { "after": after } }),
        })
        .collect();
    let api_levels = measure_levels(&api, calls, &token, args).await;

    // refundReport over two years, through the API and as the service's SQL run directly.
    let to = chrono::Utc::now();
    let from = to - chrono::Duration::days(730);
    let vars = json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339() });
    let (mut through_api, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        let body: Value = http
            .post(format!("{}/graphql", api.base))
            .bearer_auth(&token)
            .json(&json!({ "query": REPORT, "variables": vars }))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        through_api.push(t.elapsed().as_secs_f64() * 1000.0);
        if !body["errors"].is_null() {
            return Err(format!("refundReport failed: {body}"));
        }
        let t = Instant::now();
        report::build(
            &db,
            from,
            to,
            Interval::Month,
            Currency::parse("EUR").expect("EUR"),
        )
        .await
        .map_err(|e| e.describe())?;
        direct.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(api);

    // (b) The reference, on the same data and pool size.
    let reference = Server::start("serve-reference", url, args.pool);
    for (i, after) in cursors.iter().enumerate() {
        let mut u = format!("{}/claims?first={PAGE_SIZE}", reference.base);
        if let Some(a) = after {
            u.push_str(&format!("&after={a}"));
        }
        let got: Value = http
            .get(&u)
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if got != expected[i] {
            return Err(format!(
                "page {i} differs:\nRefund Desk: {}\nreference:   {got}",
                expected[i]
            ));
        }
    }
    println!("{name}: both servers return the same {PAGES} pages; reference");
    let calls = cursors
        .iter()
        .map(|after| Call::Get {
            url: match after {
                Some(a) => format!("{}/claims?first={PAGE_SIZE}&after={a}", reference.base),
                None => format!("{}/claims?first={PAGE_SIZE}", reference.base),
            },
        })
        .collect();
    let reference_levels = measure_levels(&reference, calls, &token, args).await;
    drop(reference);

    Ok(BackendResult {
        name: name.to_string(),
        orders: count(&db, "orders").await,
        claims: count(&db, "refund_claims").await,
        seed_note,
        api: api_levels,
        reference: reference_levels,
        report_api_ms: median(through_api),
        report_direct_ms: median(direct),
    })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem} memory, Linux")
}

fn markdown(args: &RunArgs, results: &[BackendResult]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Measured {} on {}.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    );
    let _ = writeln!(md, "Command (a release build; seeding happens once per database and is reused):\n\n```\ncargo run --release -p bench -- --orders {} --seconds {} --clients {}\n```\n",
        args.orders, args.seconds, args.clients.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","));
    let _ = writeln!(md, "Each server runs as its own process, one at a time, on the same database with a pool of {} connections; the load generator shares the machine. \
The load is closed-loop: each client sends its next request when the previous one answers, cycling through the first {PAGES} pages of `claims(first: 50)` \
(newest first) with the dashboard's fields. Before measuring, the bench checks that both servers return identical JSON for those {PAGES} pages. \
Each level runs {} s after a {} s warm-up. CPU is the server process's user+system time per request; RSS is its peak (VmHWM).\n",
        args.pool, args.seconds, args.warmup_seconds);
    let _ = writeln!(md, "The reference is `bench/src/reference.rs`: a hand-written actix-web handler with three SQL statements per page (caller check, the page with its joins, the page's payouts).\n");
    for r in results {
        let _ = writeln!(
            md,
            "## {} — {} orders, {} claims ({})\n",
            r.name, r.orders, r.claims, r.seed_note
        );
        let _ = writeln!(md, "| clients | server | req/s | p50 ms | p99 ms | SQL/req | CPU ms/req | peak RSS MiB | errors |");
        let _ = writeln!(md, "|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        for (a, b) in r.api.iter().zip(&r.reference) {
            for (label, l) in [("Refund Desk", a), ("reference", b)] {
                let _ = writeln!(
                    md,
                    "| {} | {label} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {} |",
                    l.clients,
                    l.per_second,
                    l.p50_ms,
                    l.p99_ms,
                    l.statements,
                    l.cpu_ms,
                    l.peak_rss_mib,
                    l.errors
                );
            }
            let _ = writeln!(md, "| {} | **ratio** | **{:.2}×** | {:.2}× | **{:.2}×** | {:.2}× | {:.2}× | {:.2}× | |",
                a.clients, a.per_second / b.per_second, a.p50_ms / b.p50_ms, a.p99_ms / b.p99_ms,
                a.statements / b.statements, a.cpu_ms / b.cpu_ms, a.peak_rss_mib / b.peak_rss_mib);
        }
        let _ = writeln!(md);
        let _ = writeln!(md, "`refundReport` (MONTH, 730 days, EUR), median of 5: {:.0} ms through the API, {:.0} ms for the same SQL run directly by the service: **{:.2}×**.\n",
            r.report_api_ms, r.report_direct_ms, r.report_api_ms / r.report_direct_ms);
        let at8 = r.api.iter().zip(&r.reference).find(|(a, _)| a.clients == 8);
        let worst_rss = r.api.iter().map(|l| l.peak_rss_mib).fold(0.0, f64::max);
        let most_sql = r.api.iter().map(|l| l.statements).fold(0.0, f64::max);
        let _ = writeln!(md, "Targets:");
        if let Some((a, b)) = at8 {
            let _ = writeln!(
                md,
                "- requests/s at 8 clients ≥ 0.8× the reference: {:.2}× — {}",
                a.per_second / b.per_second,
                verdict(a.per_second / b.per_second >= 0.8)
            );
            let _ = writeln!(
                md,
                "- p99 at 8 clients ≤ 1.5× the reference: {:.2}× — {}",
                a.p99_ms / b.p99_ms,
                verdict(a.p99_ms / b.p99_ms <= 1.5)
            );
        }
        let _ = writeln!(
            md,
            "- ≤ 5 SQL statements per page: {most_sql:.2} — {}",
            verdict(most_sql <= 5.0)
        );
        let _ = writeln!(
            md,
            "- peak RSS under 60 MB: {:.1} MiB ({:.1} MB) — {}",
            worst_rss,
            worst_rss * 1.048_576,
            verdict(worst_rss * 1.048_576 < 60.0)
        );
        let _ = writeln!(
            md,
            "- refundReport ≤ 1.1× the direct SQL: {:.2}× — {}\n",
            r.report_api_ms / r.report_direct_ms,
            verdict(r.report_api_ms / r.report_direct_ms <= 1.1)
        );
    }
    md
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "missed"
    }
}
