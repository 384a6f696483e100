//! The evidence benchmark (`bench evidence`): ten 10 MiB uploads at once,
//! then ten downloads at once, against one server process; its peak RSS
//! (VmHWM) before and after, per round. The baseline is the same server's
//! peak after the warm-up (one upload and one download), measured in the
//! same run. It writes its own section of BENCHMARKS.md.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::events::{fresh, median, Api};
use crate::process::Server;

const BEGIN: &str = "<!-- evidence:begin -->";
const END: &str = "<!-- evidence:end -->";
const UPLOAD: &str = "mutation($c: ID!, $input: EvidenceInput!) { addClaimEvidence(claimId: $c, input: $input) { evidence { file { downloadUrl size } } } }";

#[derive(clap::Args)]
pub struct EvidenceArgs {
    #[arg(
        long,
        default_value = "sqlite:///var/tmp/refund-desk-bench/evidence.sqlite?mode=rwc"
    )]
    sqlite_url: String,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Files per burst (uploads, then downloads, all at once).
    #[arg(long, default_value_t = 10)]
    files: usize,
    /// Size of each file in MiB (at most the server's limit, 10): comparing
    /// sizes shows whether memory follows the size of what is in flight.
    #[arg(long, default_value_t = 10)]
    mib: usize,
    #[arg(long, default_value_t = 10)]
    pool: u32,
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: String,
}

/// A text file of `mib` MiB, different per (round, i) so each is stored anew.
fn file(round: usize, i: usize, mib: usize) -> Vec<u8> {
    let mut bytes = format!("round {round} file {i}\n").into_bytes();
    bytes.resize(
        (mib << 20).min(api::service::evidence::DEFAULT_MAX_BYTES),
        b'.',
    );
    bytes
}

async fn upload(api: &Api, token: &str, claim: &str, bytes: Vec<u8>) -> String {
    let operations = json!({ "query": UPLOAD, "variables": { "c": claim, "input": { "kind": "LOG", "file": null } } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.input.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes).file_name("player.log"),
        );
    let body: Value = api
        .http
        .post(&api.url)
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let list = body["data"]["addClaimEvidence"]["evidence"]
        .as_array()
        .unwrap_or_else(|| panic!("upload: {body}"));
    list.last().unwrap()["file"]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn download(api: &Api, base: &str, token: &str, path: &str) -> usize {
    let res = api
        .http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    assert!(res.status().is_success(), "download {}", res.status());
    res.bytes().await.expect("body").len()
}

pub async fn run(args: EvidenceArgs) -> Result<(), String> {
    fresh(&args.sqlite_url).await?;
    let _ = std::fs::remove_dir_all("/var/tmp/refund-desk-bench/evidence");
    let server = Server::start("serve-api", &args.sqlite_url, args.pool);
    let api = Arc::new(Api {
        http: reqwest::Client::new(),
        url: format!("{}/graphql", server.base),
    });
    let shop = api.login("integration@demo.refund-desk.test").await;
    let agent = api.login("support-agent@demo.refund-desk.test").await;
    let mut claims = Vec::new();
    for i in 0..args.files {
        let number = format!("EV-{i}");
        let order = api.call(&shop, "mutation($i: CreateOrderInput!){ createOrder(input: $i) { id } }", json!({ "i": { "number": number, "customerEmail": format!("{number}@bench.example"), "planMonths": 1, "devices": 1,
            "total": { "amount": "20.00", "currency": "EUR" }, "paymentMethod": "CARD", "placedAt": "2026-11-01T00:00:00Z", "paidAt": "2026-11-01T00:00:00Z" } })).await;
        let claim = api.call(&agent, "mutation($i: SubmitClaimInput!){ submitClaim(input: $i) { id } }", json!({ "i": { "orderId": order["data"]["createOrder"]["id"], "reason": "NOT_WORKING", "description": "bench", "channel": "EMAIL" } })).await;
        claims.push(
            claim["data"]["submitClaim"]["id"]
                .as_str()
                .ok_or(format!("{claim}"))?
                .to_string(),
        );
    }
    // Warm-up: one of each, so the baseline holds the server's steady buffers.
    let path = upload(&api, &agent, &claims[0], file(99, 0, args.mib)).await;
    download(&api, &server.base, &agent, &path).await;
    let baseline = server.peak_rss_mib();
    let (mut peaks, mut up_secs, mut down_secs) = (Vec::new(), Vec::new(), Vec::new());
    let mut settled: Vec<f64> = Vec::new();
    for round in 0..args.rounds {
        let started = Instant::now();
        let uploads: Vec<_> = claims
            .iter()
            .enumerate()
            .map(|(i, claim)| {
                let (api, agent, claim, bytes) = (
                    api.clone(),
                    agent.clone(),
                    claim.clone(),
                    file(round, i, args.mib),
                );
                tokio::spawn(async move { upload(&api, &agent, &claim, bytes).await })
            })
            .collect();
        let mut paths = Vec::new();
        for u in uploads {
            paths.push(u.await.map_err(|e| e.to_string())?);
        }
        up_secs.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let downloads: Vec<_> = paths
            .into_iter()
            .map(|p| {
                let (api, agent, base) = (api.clone(), agent.clone(), server.base.clone());
                tokio::spawn(async move { download(&api, &base, &agent, &p).await })
            })
            .collect();
        for d in downloads {
            let n = d.await.map_err(|e| e.to_string())?;
            assert_eq!(
                n,
                (args.mib << 20).min(api::service::evidence::DEFAULT_MAX_BYTES)
            );
        }
        down_secs.push(started.elapsed().as_secs_f64());
        peaks.push(server.peak_rss_mib());
        // What stays resident once the burst is over.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        settled.push(server.rss_mib());
        println!(
            "evidence round {round}: peak RSS {:.1} MiB, {:.1} MiB two seconds later (baseline {baseline:.1})",
            peaks[round], settled[round]
        );
    }
    use std::fmt::Write as _;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "{BEGIN}\n## Evidence files: memory under {} uploads and downloads of {} MiB at once\n",
        args.files, args.mib
    );
    let _ = writeln!(md, "Measured {} with `cargo run --release -p bench -- evidence --rounds {} --files {} --mib {}` on SQLite and the file store; the server runs as its own process. Each round uploads {} different {} MiB files at once (GraphQL multipart, each checked, hashed and stored), then downloads them at once (streamed from the store). Peak RSS is the server's VmHWM, which only grows: the baseline is its value after one upload and one download.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"), args.rounds, args.files, args.mib, args.files, args.mib);
    let _ = writeln!(md, "| baseline peak RSS | peak after each round | resident 2 s after each round | growth of the peak over the baseline (last round) | uploads (median of rounds) | downloads |");
    let _ = writeln!(md, "|---:|---|---|---:|---:|---:|");
    let last = *peaks.last().unwrap_or(&baseline);
    let _ = writeln!(md, "| {baseline:.1} MiB | {} | {} | **{:.1} MiB** ({:.2} MiB per file in flight) | {:.2} s for {} × {} MiB | {:.2} s |",
        peaks.iter().map(|p| format!("{p:.1} MiB")).collect::<Vec<_>>().join(", "),
        settled.iter().map(|p| format!("{p:.1} MiB")).collect::<Vec<_>>().join(", "),
        last - baseline, (last - baseline) / args.files as f64, median(up_secs), args.files, args.mib, median(down_secs));
    let _ = writeln!(md, "\n{END}");
    println!("{md}");
    crate::write_section(&args.out, BEGIN, END, &md)
}
