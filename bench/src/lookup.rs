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
    let ids: Vec<uuid::Uuid> = entity::refund_claim::Entity::find()
        .select_only()
        .column(entity::refund_claim::Column::Id)
        .order_by_asc(entity::refund_claim::Column::Id)
        .limit(IDS)
        .into_tuple()
        .all(&db)
        .await
        .map_err(|e| e.to_string())?;
    if ids.is_empty() {
        return Err("no claims to look up: seed with --orders".into());
    }
    let http = reqwest::Client::new();
    let api = Server::start("serve-api", url, args.pool);
    let token = crate::events::Api {
        http: http.clone(),
        url: format!("{}/graphql", api.base),
    }
    .login("refund-manager@demo.refund-desk.test")
    .await;
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": api::graphql::documents::sha256_hex(LOOKUP) } });
    let reference = Server::start("serve-reference", url, args.pool);
    // Both answer the same JSON for every id before anything is measured.
    for id in &ids {
        let ours = json_of(
            http.post(format!("{}/graphql", api.base))
                .bearer_auth(&token)
                .json(
                    &json!({ "query": LOOKUP, "variables": { "id": id }, "extensions": persisted }),
                ),
        )
        .await?;
        let theirs = json_of(
            http.get(format!("{}/claim/{id}", reference.base))
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
    let api_calls = Arc::new(
        ids.iter()
            .map(|id| Call::Post {
                url: format!("{}/graphql", api.base),
                body: json!({ "variables": { "id": id }, "extensions": persisted }),
            })
            .collect::<Vec<_>>(),
    );
    let reference_calls = Arc::new(
        ids.iter()
            .map(|id| Call::Get {
                url: format!("{}/claim/{id}", reference.base),
            })
            .collect::<Vec<_>>(),
    );
    let token = Arc::new(token);
    let levels = measure_rounds(
        &format!("{name} lookup"),
        (&api, &api_calls),
        (&reference, &reference_calls),
        &token,
        args,
    )
    .await;
    Ok(levels)
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
