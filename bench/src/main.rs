//! The Refund Desk benchmark. One command seeds the data, measures Refund
//! Desk and the hand-written reference one after the other on the same data
//! and pool size, and writes BENCHMARKS.md:
//!
//! ```text
//! cargo run --release -p bench -- --orders 1000000
//! ```

// The same allocator as the `refund-desk` binary, with the same settings
// (`api::allocator::configure`), for both servers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod events;
mod evidence;
mod ingest;
mod load;
mod lookup;
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
    /// The outbox, webhook dispatch and live subscriptions (see events.rs).
    Events(events::EventsArgs),
    /// WooCommerce order ingest against createOrder (see ingest.rs).
    Ingest(ingest::IngestArgs),
    /// Memory under concurrent evidence uploads and downloads (evidence.rs).
    Evidence(evidence::EvidenceArgs),
    /// One claim with its order against a hand-written handler (lookup.rs).
    Lookup(RunArgs),
    /// (internal) Sends lookups to a running server, for a profiler
    /// (`bench/scripts/lookup-instructions`).
    #[command(hide = true)]
    LookupDrive(lookup::DriveArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    pool: u32,
}

/// The dashboard and lookup benches' SQLite database (seeded once, reused).
pub(crate) const BENCH_SQLITE_URL: &str =
    "sqlite:///var/tmp/refund-desk-bench/bench.sqlite?mode=rwc";

#[derive(clap::Args)]
struct RunArgs {
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Orders to seed (about one claim per five orders).
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    #[arg(long, default_value = BENCH_SQLITE_URL)]
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
    /// Rounds per load level; each round measures Refund Desk, then the
    /// reference, so drift on a shared machine hits both alike.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// refundReport samples: pairs through the API and directly, in
    /// alternating order.
    #[arg(long, default_value_t = 9)]
    report_samples: usize,
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
        export_time_limit: Duration::from_secs(300),
        cors_origins: Vec::new(),
        claim_backdating: Default::default(),
        event_poll: Duration::from_millis(250),
        webhooks: api::service::webhooks::dispatch::DispatchSettings {
            policy: api::service::webhooks::address::TargetPolicy {
                https_only: false,
                allow_private: true,
            },
            schedule: api::service::webhooks::deliveries::DEFAULT_SCHEDULE.to_vec(),
            timeout: Duration::from_secs(10),
        },
        ws_max_connections: 4096,
        nats_url: None,
        integrations: api::service::inbound::Secrets {
            woocommerce: Some(ingest::WOOCOMMERCE_SECRET.to_string().into()),
            stripe: None,
        },
        evidence_store: "file:///var/tmp/refund-desk-bench/evidence".into(),
        evidence_max_bytes: api::service::evidence::DEFAULT_MAX_BYTES,
        faults: None,
    }
}

/// The database URL of a `--backends` name.
pub(crate) fn backend_url(backend: &str, sqlite: &str, postgres: &str) -> Result<String, String> {
    match backend {
        "sqlite" => Ok(sqlite.to_string()),
        "postgres" => Ok(postgres.to_string()),
        other => Err(format!("unknown backend {other}")),
    }
}

/// Replaces the part of `path` between `begin` and `end` (each bench
/// subcommand owns one section of BENCHMARKS.md), or appends it.
pub(crate) fn write_section(
    path: &str,
    begin: &str,
    end: &str,
    section: &str,
) -> Result<(), String> {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    let updated = match (current.find(begin), current.find(end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{section}{}", &current[..b], &current[e + end.len()..])
        }
        _ => format!("{current}\n{section}\n"),
    };
    std::fs::write(path, updated).map_err(|e| e.to_string())
}

fn main() {
    api::allocator::configure();
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
            Some(Command::Events(a)) => events::run(a).await,
            Some(Command::Ingest(a)) => ingest::run(a).await,
            Some(Command::Evidence(a)) => evidence::run(a).await,
            Some(Command::Lookup(a)) => lookup::run(a).await,
            Some(Command::LookupDrive(a)) => lookup::drive(a).await,
            None => run(cli.run).await,
        }
    });
    if let Err(e) = result {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

/// One measured load level of one server.
#[derive(Clone)]
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
    /// Per load level, the rounds of each server, paired by round.
    levels: Vec<LevelRounds>,
    /// Paired samples (through the API, direct), in milliseconds.
    report_ms: Vec<(f64, f64)>,
}

struct LevelRounds {
    clients: usize,
    api: Vec<Level>,
    reference: Vec<Level>,
}

impl LevelRounds {
    /// The median over rounds of `metric`, for one server's rounds.
    fn median_of(rounds: &[Level], metric: impl Fn(&Level) -> f64) -> f64 {
        median(rounds.iter().map(metric).collect())
    }

    /// The median over rounds of Refund Desk's `metric` divided by the
    /// reference's in the same round.
    fn ratio(&self, metric: impl Fn(&Level) -> f64) -> f64 {
        median(
            self.api
                .iter()
                .zip(&self.reference)
                .map(|(a, b)| metric(a) / metric(b))
                .collect(),
        )
    }

    /// Each metric's median over the rounds (RSS and errors: the worst).
    fn summary(rounds: &[Level]) -> Level {
        Level {
            clients: rounds[0].clients,
            per_second: Self::median_of(rounds, |l| l.per_second),
            p50_ms: Self::median_of(rounds, |l| l.p50_ms),
            p99_ms: Self::median_of(rounds, |l| l.p99_ms),
            statements: Self::median_of(rounds, |l| l.statements),
            cpu_ms: Self::median_of(rounds, |l| l.cpu_ms),
            peak_rss_mib: rounds.iter().map(|l| l.peak_rss_mib).fold(0.0, f64::max),
            errors: rounds.iter().map(|l| l.errors).sum(),
        }
    }
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

async fn prepare(url: &str, orders: usize) -> Result<(api::service::db::Db, String), String> {
    use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
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
    Migrator::up(db.unbound(), None)
        .await
        .map_err(|e| e.to_string())?;
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
        // A database seeded for another size would be measured under this
        // size's name.
        let held = entity::order::Entity::find()
            .filter(entity::order::Column::Number.starts_with("DEMO-"))
            .count(&db)
            .await
            .map_err(|e| e.to_string())?;
        if held != orders as u64 {
            return Err(format!(
                "{url} holds {held} seeded orders, not the {orders} asked for: give another database (--sqlite-url / --postgres-url) or drop this one"
            ));
        }
        "seeded earlier".to_string()
    };
    println!("{url}: {note}");
    Ok((db, note))
}

async fn count(db: &api::service::db::Db, table: &str) -> u64 {
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

/// One load level against one server: a warm-up, then the measured run.
async fn measure_level(
    server: &Server,
    calls: &Arc<Vec<Call>>,
    token: &Arc<String>,
    clients: usize,
    args: &RunArgs,
) -> Level {
    let load = |seconds| {
        load::run(
            calls.clone(),
            token.clone(),
            clients,
            Duration::from_secs(seconds),
        )
    };
    load(args.warmup_seconds).await;
    let (sql0, cpu0) = (statements(&server.base).await, server.cpu_seconds());
    let out = load(args.seconds).await;
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
    level
}

/// Every load level of `args`, in rounds: Refund Desk, then the reference.
/// Both servers stay up; only the one being measured gets load. Rounds
/// alternate them so a slower minute of the shared machine hits both.
async fn measure_rounds(
    name: &str,
    (api, api_calls): (&Server, &Arc<Vec<Call>>),
    (reference, reference_calls): (&Server, &Arc<Vec<Call>>),
    token: &Arc<String>,
    args: &RunArgs,
) -> Vec<LevelRounds> {
    let mut levels = Vec::new();
    for &clients in &args.clients {
        let mut rounds = LevelRounds {
            clients,
            api: Vec::new(),
            reference: Vec::new(),
        };
        for round in 1..=args.rounds {
            println!("{name}: {clients} clients, round {round}: Refund Desk, then the reference");
            rounds
                .api
                .push(measure_level(api, api_calls, token, clients, args).await);
            rounds
                .reference
                .push(measure_level(reference, reference_calls, token, clients, args).await);
        }
        levels.push(rounds);
    }
    levels
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn measure(name: &str, url: &str, args: &RunArgs) -> Result<BackendResult, String> {
    let (db, seed_note) = prepare(url, args.orders).await?;
    // Idle connections are dropped before the servers' 5 s keep-alive
    // would close them under a request (the report pairs leave gaps that long).
    let http = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;

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
    // The check below sends the text with its hash, as an Apollo client does
    // after its first miss; the load then sends only the hash.
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": api::graphql::documents::sha256_hex(CLAIMS_PAGE) } });
    let mut cursors: Vec<Option<String>> = vec![None];
    let mut expected = Vec::new();
    for _ in 0..PAGES {
        let after = cursors.last().cloned().flatten();
        let body: Value = http
            .post(format!("{}/graphql", api.base))
            .bearer_auth(&token)
            .json(&json!({ "query": CLAIMS_PAGE, "variables": { "after": after }, "extensions": persisted.clone() }))
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
    println!("{name}: both servers return the same {PAGES} pages");
    let api_calls = Arc::new(
        cursors
            .iter()
            .map(|after| Call::Post {
                url: format!("{}/graphql", api.base),
                body: json!({ "variables": { "after": after }, "extensions": persisted }),
            })
            .collect::<Vec<_>>(),
    );
    let reference_calls = Arc::new(
        cursors
            .iter()
            .map(|after| Call::Get {
                url: match after {
                    Some(a) => format!("{}/claims?first={PAGE_SIZE}&after={a}", reference.base),
                    None => format!("{}/claims?first={PAGE_SIZE}", reference.base),
                },
            })
            .collect::<Vec<_>>(),
    );
    let token = Arc::new(token);
    let levels = measure_rounds(
        name,
        (&api, &api_calls),
        (&reference, &reference_calls),
        &token,
        args,
    )
    .await;
    drop(reference);

    // refundReport over two years, through the API and as the service's SQL
    // run directly, in pairs.
    let to = chrono::Utc::now();
    let from = to - chrono::Duration::days(730);
    let vars = json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339() });
    let mut report_ms = Vec::new();
    for sample in 0..args.report_samples {
        // Every other pair runs the direct SQL first, so whatever the first
        // run of a pair leaves warm (or cold) does not favour one side.
        let direct_first = sample % 2 == 1;
        let mut direct_ms = None;
        if direct_first {
            direct_ms = Some(report_directly(&db, from, to).await?);
        }
        let t = Instant::now();
        let body: Value = http
            .post(format!("{}/graphql", api.base))
            .bearer_auth(token.as_str())
            .json(&json!({ "query": REPORT, "variables": vars }))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let through_api = t.elapsed().as_secs_f64() * 1000.0;
        if !body["errors"].is_null() {
            return Err(format!("refundReport failed: {body}"));
        }
        let direct = match direct_ms {
            Some(ms) => ms,
            None => report_directly(&db, from, to).await?,
        };
        report_ms.push((through_api, direct));
    }
    drop(api);

    Ok(BackendResult {
        name: name.to_string(),
        orders: count(&db, "orders").await,
        claims: count(&db, "refund_claims").await,
        seed_note,
        levels,
        report_ms,
    })
}

/// The report's SQL run by the service in this process, in milliseconds.
async fn report_directly(
    db: &api::service::db::Db,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<f64, String> {
    let t = Instant::now();
    report::build(
        db,
        from,
        to,
        Interval::Month,
        Currency::parse("EUR").expect("EUR"),
    )
    .await
    .map_err(|e| e.describe())?;
    Ok(t.elapsed().as_secs_f64() * 1000.0)
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
    let _ = writeln!(md, "Command (a release build; seeding happens once per database and is reused):\n\n```\ncargo run --release -p bench -- --orders {} --seconds {} --rounds {} --clients {}\n```\n",
        args.orders, args.seconds, args.rounds, args.clients.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","));
    let _ = writeln!(md, "Both servers run as their own processes on the same database, each with a pool of {} connections; only the one being measured gets load, and the load generator shares the machine. \
The load is closed-loop: each client sends its next request when the previous one answers, cycling through the first {PAGES} pages of `claims(first: 50)` \
(newest first) with the dashboard's fields. Before measuring, the bench checks that both servers return identical JSON for those {PAGES} pages; \
those requests carry the document's text, and the load then sends Refund Desk only its persisted-query hash and the variables, as an Apollo dashboard does. \
Each load level runs {} rounds; a round measures Refund Desk, then the reference, each for {} s after a {} s warm-up. \
The table shows each figure's median over the rounds (peak RSS: the highest), and each ratio is the median of the per-round ratios, \
so a slow minute of the shared machine counts against both servers alike. CPU is the server process's user+system time per request; RSS is its peak (VmHWM).\n",
        args.pool, args.rounds, args.seconds, args.warmup_seconds);
    let _ = writeln!(md, "The reference is `bench/src/reference.rs`: a hand-written actix-web handler with three SQL statements per page (caller check, the page with its joins, the page's payouts).\n");
    for r in results {
        let _ = writeln!(
            md,
            "## {} — {} orders, {} claims ({})\n",
            r.name, r.orders, r.claims, r.seed_note
        );
        let _ = writeln!(md, "| clients | server | req/s | p50 ms | p99 ms | SQL/req | CPU ms/req | peak RSS MiB | errors |");
        let _ = writeln!(md, "|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        for l in &r.levels {
            let (a, b) = (
                LevelRounds::summary(&l.api),
                LevelRounds::summary(&l.reference),
            );
            for (label, l) in [("Refund Desk", &a), ("reference", &b)] {
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
                l.clients, l.ratio(|x| x.per_second), l.ratio(|x| x.p50_ms), l.ratio(|x| x.p99_ms),
                l.ratio(|x| x.statements), l.ratio(|x| x.cpu_ms), a.peak_rss_mib / b.peak_rss_mib);
        }
        let _ = writeln!(md);
        let report_ratio = median(r.report_ms.iter().map(|(a, d)| a / d).collect());
        let _ = writeln!(md, "`refundReport` (MONTH, 730 days, EUR), {} pairs: median {:.0} ms through the API, {:.0} ms for the same SQL run directly by the service; median ratio of the pairs **{:.2}×** (range {:.2}× to {:.2}×).\n",
            r.report_ms.len(),
            median(r.report_ms.iter().map(|p| p.0).collect()),
            median(r.report_ms.iter().map(|p| p.1).collect()),
            report_ratio,
            r.report_ms.iter().map(|(a, d)| a / d).fold(f64::INFINITY, f64::min),
            r.report_ms.iter().map(|(a, d)| a / d).fold(0.0, f64::max));
        let at8 = r.levels.iter().find(|l| l.clients == 8);
        let worst_rss = r
            .levels
            .iter()
            .flat_map(|l| &l.api)
            .map(|l| l.peak_rss_mib)
            .fold(0.0, f64::max);
        let most_sql = r
            .levels
            .iter()
            .map(|l| LevelRounds::median_of(&l.api, |x| x.statements))
            .fold(0.0, f64::max);
        let _ = writeln!(md, "Targets:");
        if let Some(l) = at8 {
            let (rps, p99) = (l.ratio(|x| x.per_second), l.ratio(|x| x.p99_ms));
            let _ = writeln!(
                md,
                "- requests/s at 8 clients ≥ 0.8× the reference: {rps:.2}× — {}",
                verdict(rps >= 0.8)
            );
            let _ = writeln!(
                md,
                "- p99 at 8 clients ≤ 1.5× the reference: {p99:.2}× — {}",
                verdict(p99 <= 1.5)
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
            "- refundReport ≤ 1.1× the direct SQL: {report_ratio:.2}× — {}\n",
            verdict(report_ratio <= 1.1)
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
