//! The reference: a minimal hand-written HTTP handler serving the dashboard's
//! claims page as the same JSON as Refund Desk, with the fewest portable SQL
//! statements we could write: one to check the caller, one for the page with
//! every joined row (the cursor's sort key read by a subquery), one for the
//! page's payouts. It is the practical limit Refund Desk is measured against.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use api::auth::jwt::TokenService;
use api::domain::page::{CursorKey, ListCursors};
use api::domain::period::add_months;
use api::domain::{Currency, Money};
use api::service::db::Db;
use api::service::sql::placeholders;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};
use serde_json::{json, Value as Json};
use uuid::Uuid;

/// Roles that may read claims (DESIGN.md's roles table).
const CLAIM_READERS: [&str; 4] = ["ADMIN", "REFUND_MANAGER", "FINANCE", "SUPPORT_AGENT"];

struct State {
    db: Db,
    tokens: TokenService,
    /// Cursors signed as the API signs them, so pages cost the same work.
    cursors: ListCursors,
    statements: Arc<AtomicU64>,
}

/// Serves until killed; prints `LISTENING <port>` once bound.
pub async fn serve(settings: api::config::Settings) -> std::io::Result<()> {
    let mut db = api::service::db::connect(&settings.database_url, settings.db_max_connections)
        .await
        .map_err(std::io::Error::other)?;
    let statements = Arc::new(AtomicU64::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let state = web::Data::new(State {
        db,
        tokens: TokenService::new(&settings.jwt),
        cursors: CursorKey::derive(settings.jwt.secret_bytes()).for_list("claims"),
        statements,
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("LISTENING {}", listener.local_addr()?.port());
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/claims", web::get().to(claims))
            .route("/claim/{id}", web::get().to(claim))
            .route("/metrics", web::get().to(metrics))
    })
    .listen(listener)?
    .run()
    .await
}

async fn metrics(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().body(format!(
        "refund_desk_sql_statements_total {}\n",
        state.statements.load(Ordering::Relaxed)
    ))
}

fn sql(backend: DbBackend, text: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, placeholders(backend, text), values)
}

fn money(minor: i64, currency: &str) -> Json {
    let c = Currency::parse(currency).expect("stored currency");
    json!({ "amount": Money::from_minor(minor, c).to_decimal_string(), "currency": currency })
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn unauthenticated() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "data": null, "errors": [{ "message": "authentication required", "extensions": { "code": "UNAUTHENTICATED" } }] }))
}

#[derive(serde::Deserialize)]
struct Params {
    first: usize,
    after: Option<String>,
}

async fn claims(req: HttpRequest, state: web::Data<State>, q: web::Query<Params>) -> HttpResponse {
    match page(&req, &state, &q).await {
        Ok(Some(body)) => HttpResponse::Ok().json(body),
        Ok(None) => unauthenticated(),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

const PAGE: &str = "SELECT c.id, c.status, c.requested_minor, c.currency, c.eligibility_outcome, c.eligibility_rule, \
c.eligibility_suggested_minor, o.id AS order_id, o.number, o.total_minor, o.currency AS order_currency, o.plan_months, \
u.email, a.status AS a_status, a.delivered_at AS a_delivered_at, s.name AS assignee_name \
FROM refund_claims c JOIN orders o ON o.id = c.order_id JOIN customers u ON u.id = c.customer_id \
LEFT JOIN activations a ON a.order_id = o.id LEFT JOIN staff s ON s.id = c.assignee_id";

/// The caller check both handlers make, as the API makes it: a valid token
/// of an active staff member whose token version still matches and whose
/// roles may read claims. One statement.
async fn may_read_claims(req: &HttpRequest, state: &State) -> Result<bool, sea_orm::DbErr> {
    let backend = state.db.get_database_backend();
    let token = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let Some((staff_id, version)) = token.and_then(|t| state.tokens.verify(t)) else {
        return Ok(false);
    };
    let me = state
        .db
        .query_one_raw(sql(
            backend,
            "SELECT active, token_version, roles FROM staff WHERE id = ?",
            vec![staff_id.into()],
        ))
        .await?;
    Ok(me.is_some_and(|r| {
        r.try_get::<bool>("", "active").unwrap_or(false)
            && r.try_get::<i32>("", "token_version").ok() == Some(version)
            && r.try_get::<String>("", "roles")
                .is_ok_and(|roles| CLAIM_READERS.iter().any(|w| roles.contains(w)))
    }))
}

/// `GET /claim/{id}`: what `claim(id) { id status order { number total } }`
/// answers, by hand: the caller check, then one join.
async fn claim(req: HttpRequest, state: web::Data<State>, id: web::Path<Uuid>) -> HttpResponse {
    let one = async {
        if !may_read_claims(&req, &state).await? {
            return Ok(None);
        }
        let backend = state.db.get_database_backend();
        let row = state
            .db
            .query_one_raw(sql(
                backend,
                "SELECT c.id, c.status, o.number, o.total_minor, o.currency FROM refund_claims c \
                 JOIN orders o ON o.id = c.order_id WHERE c.id = ?",
                vec![id.into_inner().into()],
            ))
            .await?;
        let claim = match row {
            None => Json::Null,
            Some(r) => json!({
                "id": r.try_get::<Uuid>("", "id")?.to_string(),
                "status": r.try_get::<String>("", "status")?,
                "order": {
                    "number": r.try_get::<String>("", "number")?,
                    "total": money(r.try_get("", "total_minor")?, &r.try_get::<String>("", "currency")?),
                },
            }),
        };
        Ok::<_, sea_orm::DbErr>(Some(json!({ "data": { "claim": claim } })))
    };
    match one.await {
        Ok(Some(body)) => HttpResponse::Ok().json(body),
        Ok(None) => unauthenticated(),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn page(
    req: &HttpRequest,
    state: &State,
    q: &Params,
) -> Result<Option<Json>, sea_orm::DbErr> {
    if !may_read_claims(req, state).await? {
        return Ok(None);
    }
    let backend = state.db.get_database_backend();

    let size = q.first.min(100);
    let after = q
        .after
        .as_deref()
        .map(|c| state.cursors.decode(c))
        .transpose()
        .ok()
        .flatten();
    let (text, values) = match after {
        None => (
            format!("{PAGE} ORDER BY c.submitted_at DESC, c.id DESC LIMIT {}", size + 1),
            vec![],
        ),
        Some(id) => (
            format!(
                "{PAGE} WHERE c.submitted_at <= (SELECT submitted_at FROM refund_claims WHERE id = ?) \
                 AND (c.submitted_at < (SELECT submitted_at FROM refund_claims WHERE id = ?) OR c.id < ?) \
                 ORDER BY c.submitted_at DESC, c.id DESC LIMIT {}",
                size + 1
            ),
            vec![id.into(), id.into(), id.into()],
        ),
    };
    let mut rows = state.db.query_all_raw(sql(backend, &text, values)).await?;
    let has_next = rows.len() > size;
    rows.truncate(size);
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|r| r.try_get::<Uuid>("", "id"))
        .collect::<Result<_, _>>()?;
    let mut payouts: HashMap<Uuid, Vec<Json>> = HashMap::new();
    if !ids.is_empty() {
        let marks = vec!["?"; ids.len()].join(", ");
        let text = format!(
            "SELECT claim_id, status, amount_minor, currency FROM payouts WHERE claim_id IN ({marks}) ORDER BY id"
        );
        let values = ids.iter().map(|id| Value::from(*id)).collect();
        for p in state.db.query_all_raw(sql(backend, &text, values)).await? {
            let cur: String = p.try_get("", "currency")?;
            payouts
                .entry(p.try_get("", "claim_id")?)
                .or_default()
                .push(json!({ "status": p.try_get::<String>("", "status")?, "amount": { "amount": money(p.try_get("", "amount_minor")?, &cur)["amount"] } }));
        }
    }
    let now = Utc::now();
    let edges = rows
        .iter()
        .map(|r| edge(&state.cursors, r, &mut payouts, now))
        .collect::<Result<Vec<_>, _>>()?;
    let end = ids.last().map(|id| state.cursors.encode(*id));
    Ok(Some(json!({ "data": { "claims": {
        "edges": edges,
        "pageInfo": { "hasNextPage": has_next, "endCursor": end },
    } } })))
}

fn edge(
    cursors: &ListCursors,
    r: &QueryResult,
    payouts: &mut HashMap<Uuid, Vec<Json>>,
    now: DateTime<Utc>,
) -> Result<Json, sea_orm::DbErr> {
    let id: Uuid = r.try_get("", "id")?;
    let currency: String = r.try_get("", "currency")?;
    let order_currency: String = r.try_get("", "order_currency")?;
    let activation = match r.try_get::<Option<String>>("", "a_status")? {
        None => Json::Null,
        Some(stored) => {
            let delivered: Option<DateTime<Utc>> = r.try_get("", "a_delivered_at")?;
            let months: i32 = r.try_get("", "plan_months")?;
            // ACTIVE turns EXPIRED once the plan's months have run out.
            let expired = stored == "ACTIVE"
                && delivered
                    .is_some_and(|d| now > add_months(d, u32::try_from(months).unwrap_or(0)));
            json!({
                "status": if expired { "EXPIRED".to_string() } else { stored },
                "deliveredAt": delivered.map(time),
            })
        }
    };
    let assignee = r
        .try_get::<Option<String>>("", "assignee_name")?
        .map(|name| json!({ "name": name }));
    Ok(json!({
        "cursor": cursors.encode(id),
        "node": {
            "id": id.to_string(),
            "status": r.try_get::<String>("", "status")?,
            "requestedAmount": money(r.try_get("", "requested_minor")?, &currency),
            "eligibility": {
                "outcome": r.try_get::<String>("", "eligibility_outcome")?,
                "rule": r.try_get::<String>("", "eligibility_rule")?,
                "suggestedAmount": { "amount": money(r.try_get("", "eligibility_suggested_minor")?, &currency)["amount"] },
            },
            "order": {
                "number": r.try_get::<String>("", "number")?,
                "total": money(r.try_get("", "total_minor")?, &order_currency),
                "customer": { "email": r.try_get::<String>("", "email")? },
                "activation": activation,
            },
            "payouts": payouts.remove(&id).unwrap_or_default(),
            "assignee": assignee,
        }
    }))
}
