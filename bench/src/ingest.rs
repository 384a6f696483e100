//! The ingest benchmark (`bench ingest`): WooCommerce `order.created`
//! messages (the fixture's real payload, ~5 KB, each signed) posted by 8
//! concurrent senders, each message verified, stored in the inbox and turned
//! into an order in one transaction. The baseline, measured in the same run
//! and alternating with it, is the same orders created through the staff
//! API's `createOrder` by 8 clients.
//!
//! Target (issue 17): at least 200 messages/s on SQLite and on PostgreSQL.
//! It writes its own section of BENCHMARKS.md (between the `ingest` markers).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::events::{fresh, median, quantile, Api};
use crate::process::Server;

/// The WooCommerce secret of the bench servers.
pub const WOOCOMMERCE_SECRET: &str = "bench-woocommerce-secret-0123456789";

const ORDER: &str = include_str!("../../tests/fixtures/inbound/woocommerce/order.created.json");
const CREATE_ORDER: &str = "mutation($i: CreateOrderInput!){ createOrder(input: $i) { id } }";
const BEGIN: &str = "<!-- ingest:begin -->";
const END: &str = "<!-- ingest:end -->";

#[derive(clap::Args)]
pub struct IngestArgs {
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    #[arg(
        long,
        default_value = "sqlite:///var/tmp/refund-desk-bench/ingest.sqlite?mode=rwc"
    )]
    sqlite_url: String,
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/refund_desk_ingest_bench"
    )]
    postgres_url: String,
    /// Rounds per variant (ingest and createOrder alternate).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Orders per round and variant.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Concurrent senders (and createOrder clients).
    #[arg(long, default_value_t = 8)]
    senders: usize,
    #[arg(long, default_value_t = 10)]
    pool: u32,
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: String,
}

/// One message: its delivery id, body and signature.
struct Signed {
    delivery: String,
    body: Vec<u8>,
    signature: String,
}

fn signed(number: &str) -> Signed {
    let mut order: Value = serde_json::from_str(ORDER).expect("fixture is JSON");
    order["number"] = json!(number);
    order["billing"]["email"] = json!(format!("{number}@bench.example"));
    order["transaction_id"] = json!(format!("ch_{number}"));
    let body = serde_json::to_vec(&order).expect("JSON");
    let mut mac = Hmac::<Sha256>::new_from_slice(WOOCOMMERCE_SECRET.as_bytes()).expect("key");
    mac.update(&body);
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Signed {
        delivery: format!("delivery-{number}"),
        body,
        signature,
    }
}

/// A round's throughput (per second) and latencies (ms).
struct Round {
    per_second: f64,
    latencies: Vec<f64>,
}

/// Runs `work(i)` for i in 0..n on `senders` closed-loop tasks.
async fn closed_loop<F, Fut>(n: usize, senders: usize, work: F) -> Round
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let started = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (work, next, latencies) = (work.clone(), next.clone(), latencies.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    let t = Instant::now();
                    work(i).await;
                    latencies
                        .lock()
                        .unwrap()
                        .push(t.elapsed().as_secs_f64() * 1000.0);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("sender");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let latencies = Arc::try_unwrap(latencies).unwrap().into_inner().unwrap();
    Round {
        per_second: latencies.len() as f64 / elapsed,
        latencies,
    }
}

struct Figures {
    backend: String,
    ingest: Vec<Round>,
    create: Vec<Round>,
    cpu_ms_per_message: f64,
    cpu_ms_per_create: f64,
}

async fn measure(backend: &str, url: &str, args: &IngestArgs) -> Result<Figures, String> {
    fresh(url).await?;
    let server = Server::start("serve-api", url, args.pool);
    let api = Arc::new(Api {
        http: reqwest::Client::new(),
        url: format!("{}/graphql", server.base),
    });
    let admin = api.login("admin@demo.refund-desk.test").await;
    let shop = api.login("integration@demo.refund-desk.test").await;
    let plan = api
        .call(&admin, "mutation { upsertProductPlan(input: { sku: \"IPTV-6M-2D\", planMonths: 6, devices: 2 }) { sku } }", json!({}))
        .await;
    if !plan["errors"].is_null() {
        return Err(format!("upsertProductPlan: {plan}"));
    }
    let hook = format!("{}/integrations/woocommerce", server.base);
    let (mut ingest, mut create) = (Vec::new(), Vec::new());
    let (mut ingest_cpu, mut create_cpu) = (0.0, 0.0);
    for round in 0..args.rounds {
        // Signed before the clock starts: the sender's work is not ours.
        let messages: Arc<Vec<Signed>> = Arc::new(
            (0..args.messages)
                .map(|i| signed(&format!("W{round}-{i}")))
                .collect(),
        );
        let cpu = server.cpu_seconds();
        let (http, hook) = (api.http.clone(), hook.clone());
        let msgs = messages.clone();
        ingest.push(
            closed_loop(args.messages, args.senders, move |i| {
                let (http, hook, msgs) = (http.clone(), hook.clone(), msgs.clone());
                async move {
                    let m = &msgs[i];
                    let res = http
                        .post(&hook)
                        .header("content-type", "application/json")
                        .header("x-wc-webhook-topic", "order.created")
                        .header("x-wc-webhook-delivery-id", &m.delivery)
                        .header("x-wc-webhook-signature", &m.signature)
                        .body(m.body.clone())
                        .send()
                        .await
                        .expect("sent");
                    let status = res.status();
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    assert!(
                        status.is_success() && body["status"] == "PROCESSED",
                        "ingest: {status} {body}"
                    );
                }
            })
            .await,
        );
        ingest_cpu += server.cpu_seconds() - cpu;

        let cpu = server.cpu_seconds();
        let (api2, shop2) = (api.clone(), shop.clone());
        create.push(
            closed_loop(args.messages, args.senders, move |i| {
                let (api, shop) = (api2.clone(), shop2.clone());
                async move {
                    let number = format!("G{round}-{i}");
                    let input = json!({ "number": number, "customerEmail": format!("{number}@bench.example"), "customerName": "Jana Novák",
                        "planMonths": 6, "devices": 2, "total": { "amount": "59.99", "currency": "EUR" }, "paymentMethod": "CARD",
                        "paymentReference": format!("ch_{number}"), "placedAt": "2026-11-20T14:03:11Z", "paidAt": "2026-11-20T14:04:02Z" });
                    let body = api.call(&shop, CREATE_ORDER, json!({ "i": input })).await;
                    assert!(body["errors"].is_null(), "createOrder: {body}");
                }
            })
            .await,
        );
        create_cpu += server.cpu_seconds() - cpu;
    }
    let total = (args.rounds * args.messages) as f64;
    Ok(Figures {
        backend: backend.to_string(),
        ingest,
        create,
        cpu_ms_per_message: ingest_cpu * 1000.0 / total,
        cpu_ms_per_create: create_cpu * 1000.0 / total,
    })
}

pub async fn run(args: IngestArgs) -> Result<(), String> {
    let mut figures = Vec::new();
    for backend in &args.backends {
        let url = crate::backend_url(backend, &args.sqlite_url, &args.postgres_url)?;
        figures.push(measure(backend, &url, &args).await?);
    }
    let section = markdown(&args, &figures);
    println!("{section}");
    crate::write_section(&args.out, BEGIN, END, &section)
}

fn markdown(args: &IngestArgs, figures: &[Figures]) -> String {
    use std::fmt::Write as _;
    let mut md = String::new();
    let _ = writeln!(md, "{BEGIN}\n## Inbound: WooCommerce order ingest\n");
    let _ = writeln!(md, "Measured {} with `cargo run --release -p bench -- ingest --rounds {} --messages {} --senders {}` on a fresh database per backend; the server runs as its own process with a pool of {}. Each message is the fixture's real `order.created` payload (~5 KB) with its own number, email and delivery id, signed before the clock starts; each is verified, stored in the inbox and turned into an order with its customer, audit entry and events in one transaction. The baseline is the same orders through `createOrder` (staff API, JWT) by as many clients, alternating with it in the same run. Target: at least 200 messages/s.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"), args.rounds, args.messages, args.senders, args.pool);
    let _ = writeln!(md, "| backend | ingest (median of rounds) | rounds | p50 | p99 | createOrder baseline | ratio ingest / createOrder | server CPU per message | per createOrder | target |");
    let _ = writeln!(md, "|---|---:|---|---:|---:|---:|---:|---:|---:|---|");
    for f in figures {
        let rates: Vec<f64> = f.ingest.iter().map(|r| r.per_second).collect();
        let base: Vec<f64> = f.create.iter().map(|r| r.per_second).collect();
        let ratios: Vec<f64> = rates.iter().zip(&base).map(|(a, b)| a / b).collect();
        let lat: Vec<f64> = f.ingest.iter().flat_map(|r| r.latencies.clone()).collect();
        let rate = median(rates.clone());
        let _ = writeln!(md, "| {} | **{:.0}/s** | {} | {:.1} ms | {:.1} ms | {:.0}/s | **{:.2}×** | {:.2} ms | {:.2} ms | {} |",
            f.backend, rate,
            rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", "),
            quantile(lat.clone(), 0.5), quantile(lat, 0.99),
            median(base), median(ratios), f.cpu_ms_per_message, f.cpu_ms_per_create,
            if rate >= 200.0 { "met" } else { "**not met**" });
    }
    let _ = writeln!(md, "\n{END}");
    md
}
