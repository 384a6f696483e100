//! `bench lookup`: one claim with its order, `claim(id)`, against a
//! hand-written handler answering the same JSON from the same database
//! (`reference.rs`, `GET /claim/{id}`). Both make the same caller check, so
//! revocation costs them alike; the targets are at most 2 statements per
//! request and at least 0.8× the reference's requests/s at 8 clients.

use std::fmt::Write as _;
use std::sync::Arc;

use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
use serde_json::{json, Value};

use crate::load::Call;
use crate::process::Server;
use crate::{machine, measure_rounds, prepare, LevelRounds, RunArgs};

const LOOKUP: &str =
    "query($id: ID!){ claim(id: $id) { id status order { number total { amount currency } } } }";
/// Claims the clients cycle through.
const IDS: u64 = 200;
const BEGIN: &str = "<!-- lookup:begin -->";
const END: &str = "<!-- lookup:end -->";

pub async fn run(args: RunArgs) -> Result<(), String> {
    let mut sections = Vec::new();
    for backend in &args.backends {
        let url = crate::backend_url(backend, &args.sqlite_url, &args.postgres_url)?;
        sections.push((backend.clone(), measure(backend, &url, &args).await?));
    }
    let md = markdown(&args, &sections);
    crate::write_section(&args.out, BEGIN, END, &md)?;
    println!("{md}");
    Ok(())
}

async fn measure(name: &str, url: &str, args: &RunArgs) -> Result<Vec<LevelRounds>, String> {
    let (db, _) = prepare(url, args.orders).await?;
    let ids = claim_ids(&db).await?;
    let http = reqwest::Client::new();
    let api = Server::start("serve-api", url, args.pool);
    let token = login(&http, &api.base).await;
    let reference = Server::start("serve-reference", url, args.pool);
    // Both answer the same JSON for every id before anything is measured;
    // these requests carry the document's text, which Refund Desk keeps for
    // the hash-only requests that follow.
    for id in &ids {
        let ours = json_of(
            http.post(format!("{}/graphql", api.base))
                .bearer_auth(&token)
                .json(&with_text(api_body(id))),
        )
        .await?;
        let theirs = json_of(
            http.get(reference_url(&reference.base, id))
                .bearer_auth(&token),
        )
        .await?;
        if ours != theirs {
            return Err(format!(
                "claim {id} differs:\nRefund Desk: {ours}\nreference:   {theirs}"
            ));
        }
    }
    println!("{name}: both servers answer the same {} claims", ids.len());
    let token = Arc::new(token);
    let levels = measure_rounds(
        &format!("{name} lookup"),
        (&api, &Arc::new(calls(&api.base, false, &ids))),
        (&reference, &Arc::new(calls(&reference.base, true, &ids))),
        &token,
        args,
    )
    .await;
    Ok(levels)
}

/// The claims the clients cycle through: the first [`IDS`] by id.
async fn claim_ids(db: &api::service::db::Db) -> Result<Vec<uuid::Uuid>, String> {
    let ids: Vec<uuid::Uuid> = entity::refund_claim::Entity::find()
        .select_only()
        .column(entity::refund_claim::Column::Id)
        .order_by_asc(entity::refund_claim::Column::Id)
        .limit(IDS)
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| e.to_string())?;
    if ids.is_empty() {
        return Err("no claims to look up: seed with `bench lookup --orders`".into());
    }
    Ok(ids)
}

/// A bearer token of the refund manager, from Refund Desk at `base`; the
/// reference accepts it too (both read the same JWT secret).
async fn login(http: &reqwest::Client, base: &str) -> String {
    crate::events::Api {
        http: http.clone(),
        url: format!("{base}/graphql"),
    }
    .login("refund-manager@demo.refund-desk.test")
    .await
}

/// Refund Desk's request for claim `id`: the persisted query's hash and the
/// variables, as an Apollo client sends after its first request.
fn api_body(id: &uuid::Uuid) -> Value {
    json!({
        "variables": { "id": id },
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": api::graphql::documents::sha256_hex(LOOKUP) } },
    })
}

/// `body` with the document's text, which registers its hash.
fn with_text(mut body: Value) -> Value {
    body["query"] = LOOKUP.into();
    body
}

fn reference_url(base: &str, id: &uuid::Uuid) -> String {
    format!("{base}/claim/{id}")
}

/// The lookups of `ids`, to Refund Desk at `base` or to the reference.
fn calls(base: &str, reference: bool, ids: &[uuid::Uuid]) -> Vec<Call> {
    ids.iter()
        .map(|id| match reference {
            true => Call::Get {
                url: reference_url(base, id),
            },
            false => Call::Post {
                url: format!("{base}/graphql"),
                body: api_body(id),
            },
        })
        .collect()
}

/// `bench lookup-drive`: lookups sent to a server that is already running,
/// one after the other on one connection, for a profiler watching it
/// (`bench/scripts/lookup-instructions`).
#[derive(clap::Args)]
pub struct DriveArgs {
    /// The server's base URL (`http://127.0.0.1:PORT`).
    #[arg(long)]
    base: String,
    /// The server is the reference handler, not Refund Desk.
    #[arg(long)]
    reference: bool,
    /// Lookups to send.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// The bearer token; without it, logs in at `base` (Refund Desk) and
    /// prints a token instead of sending lookups.
    #[arg(long)]
    token: Option<String>,
    /// The database the server runs on, for the claims' ids.
    #[arg(long, default_value = crate::BENCH_SQLITE_URL)]
    database_url: String,
}

pub async fn drive(args: DriveArgs) -> Result<(), String> {
    let http = reqwest::Client::new();
    let Some(token) = args.token else {
        println!("{}", login(&http, &args.base).await);
        return Ok(());
    };
    let db = api::service::db::connect(&args.database_url, 1)
        .await
        .map_err(|e| e.to_string())?;
    let ids = claim_ids(&db).await?;
    let calls = calls(&args.base, args.reference, &ids);
    for i in 0..args.requests {
        let mut call = calls[i % calls.len()].clone();
        if let (0, Call::Post { body, .. }) = (i, &mut call) {
            // The first carries the document's text: a server that has not
            // seen it yet registers its hash.
            *body = with_text(body.take());
        }
        if !crate::load::send(&http, &call, &token).await {
            return Err(format!("lookup {i} failed"));
        }
    }
    Ok(())
}

fn markdown(args: &RunArgs, backends: &[(String, Vec<LevelRounds>)]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "{BEGIN}");
    let _ = writeln!(
        md,
        "## One claim with its order: `claim(id)` against a hand-written handler\n"
    );
    let _ = writeln!(
        md,
        "`cargo run --release -p bench -- lookup --orders {} --clients {} --seconds {} --rounds {}`, {}. \
         `{{ claim(id) {{ id status order {{ number total {{ amount currency }} }} }} }}` sent by persisted-query hash, cycling over {IDS} claims; \
         the reference (`GET /claim/{{id}}`) makes the same caller check, then one join. Ratios are Refund Desk ÷ reference per round (median of {} rounds). \
         Targets: at most 2 SQL statements per request; at least 0.8× the reference's requests/s at 8 clients.\n",
        args.orders,
        args.clients.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        args.seconds,
        args.rounds,
        machine(),
        args.rounds,
    );
    for (name, levels) in backends {
        let _ = writeln!(md, "### {name}\n");
        let _ = writeln!(md, "| clients | Refund Desk req/s | reference req/s | ratio (rounds) | SQL/req (RD / ref) | p99 ms (RD / ref) | met? |");
        let _ = writeln!(md, "|---|---|---|---|---|---|---|");
        for level in levels {
            let (a, r) = (
                LevelRounds::summary(&level.api),
                LevelRounds::summary(&level.reference),
            );
            let ratio = level.ratio(|l| l.per_second);
            let each: Vec<String> = level
                .api
                .iter()
                .zip(&level.reference)
                .map(|(a, r)| format!("{:.2}", a.per_second / r.per_second))
                .collect();
            let met = a.statements <= 2.0 && (level.clients != 8 || ratio >= 0.8);
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.0} | {ratio:.2}× ({}) | {:.2} / {:.2} | {:.2} / {:.2} | {} |",
                level.clients,
                a.per_second,
                r.per_second,
                each.join(", "),
                a.statements,
                r.statements,
                a.p99_ms,
                r.p99_ms,
                if met { "yes" } else { "no" },
            );
        }
        md.push('\n');
    }
    let _ = write!(md, "{END}");
    md
}

/// Sends a request and reads its JSON answer.
async fn json_of(req: reqwest::RequestBuilder) -> Result<Value, String> {
    let res = req.send().await.map_err(|e| e.to_string())?;
    res.json().await.map_err(|e| e.to_string())
}
