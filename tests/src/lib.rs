//! Black-box test harness: a real server on port 0, a fresh database per test,
//! real HTTP.

use std::time::Duration;

pub mod evidence;
pub mod inbound;
pub mod process;
pub mod proxy;
pub mod race;
pub mod receiver;
pub mod ws;

use api::config::{Environment, JwtSettings, LogFormat, Settings};
use api::domain::Role;
use api::service::db::Db;
use api::service::{self, RequestContext};
use api::startup::Application;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

/// The HS256 secret every test server signs with (tests forge tokens with it).
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
/// The AES-256 key every test server encrypts activation credentials with.
pub const TEST_CREDENTIALS_KEY: &str =
    "9f1c2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub const TEST_ISSUER: &str = "refund-desk-test";
pub const TEST_AUDIENCE: &str = "refund-desk-test-api";
/// Password of every account the harness creates.
pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

/// SQLite always; PostgreSQL and MariaDB when `TEST_POSTGRES_URL` /
/// `TEST_MYSQL_URL` point at a server.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if std::env::var("TEST_POSTGRES_URL").is_ok() {
        v.push(Backend::Postgres);
    }
    if std::env::var("TEST_MYSQL_URL").is_ok() {
        v.push(Backend::MySql);
    }
    v
}

/// Runs one test body against a fresh server on every configured backend.
pub async fn on_every_backend<F, Fut>(f: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        f(TestApp::spawn(backend).await).await;
    }
}

/// Replaces the database name in a server URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

thread_local! {
    /// The backend of the test's latest fresh database.
    static CURRENT_BACKEND: std::cell::Cell<Option<Backend>> = const { std::cell::Cell::new(None) };
}

/// Remembers which backend the test is on, so a failure names it: tests that
/// loop over every backend would otherwise fail the same way on each. The
/// panic hook (installed once per test process) adds a line after the
/// panic's own message.
fn note_backend(backend: Backend) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            if let Some(b) = CURRENT_BACKEND.with(|c| c.get()) {
                eprintln!("    ^ on the {b:?} backend");
            }
        }));
    });
    CURRENT_BACKEND.with(|c| c.set(Some(backend)));
}

/// Creates an empty database for one test and returns its URL.
pub async fn fresh_database(backend: Backend) -> String {
    note_backend(backend);
    let name = format!("rdt_{}", uuid::Uuid::now_v7().simple());
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("refund-desk-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!("sqlite://{}/{name}.sqlite?mode=rwc", dir.display())
        }
        Backend::Postgres | Backend::MySql => {
            let var = if backend == Backend::Postgres {
                "TEST_POSTGRES_URL"
            } else {
                "TEST_MYSQL_URL"
            };
            let server = std::env::var(var).expect("server url");
            let admin = Database::connect(server.as_str())
                .await
                .expect("connect to test server");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            with_database(&server, &name)
        }
    }
}

pub fn settings_for(database_url: String) -> Settings {
    let evidence = std::env::temp_dir()
        .join("refund-desk-tests")
        .join(format!("evidence-{}", uuid::Uuid::now_v7()));
    Settings {
        database_url,
        bind: "127.0.0.1:0".into(),
        jwt: JwtSettings {
            secret: TEST_JWT_SECRET.to_string().into(),
            issuer: TEST_ISSUER.into(),
            audience: TEST_AUDIENCE.into(),
            ttl: Duration::from_secs(3600),
        },
        log_format: LogFormat::Pretty,
        environment: Environment::Development,
        db_max_connections: 5,
        credentials_key: std::sync::Arc::new(
            api::config::parse_key(TEST_CREDENTIALS_KEY).expect("test key is valid"),
        ),
        request_timeout: Duration::from_secs(30),
        export_time_limit: Duration::from_secs(300),
        cors_origins: Vec::new(),
        // The fixtures enter claims at fixed dates of 2026; the limit's own
        // default is tested with `Backdating::default()`.
        claim_backdating: api::service::claims::Backdating(api::config::MAX_CLAIM_BACKDATE_DAYS),
        event_poll: Duration::from_millis(100),
        webhooks: api::service::webhooks::dispatch::DispatchSettings {
            policy: api::service::webhooks::address::TargetPolicy {
                https_only: false,
                allow_private: true,
            },
            schedule: vec![1, 1, 2],
            timeout: Duration::from_secs(5),
        },
        ws_max_connections: 1000,
        nats_url: None,
        integrations: api::service::inbound::Secrets {
            woocommerce: Some(inbound::WOOCOMMERCE_SECRET.to_string().into()),
            stripe: Some(inbound::STRIPE_SECRET.to_string().into()),
        },
        evidence_store: format!("file://{}", evidence.display()),
        evidence_max_bytes: api::service::evidence::DEFAULT_MAX_BYTES,
        faults: None,
    }
}

/// A running server and a direct handle on its database.
pub struct TestApp {
    pub address: String,
    pub backend: Backend,
    pub db: Db,
    pub database_url: String,
    pub handle: actix_web::dev::ServerHandle,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let url = fresh_database(backend).await;
        Self::spawn_with(backend, settings_for(url)).await
    }

    /// A second server process-equivalent on the same database (its own pool
    /// and workers), for tests of correctness across servers.
    pub async fn sibling(&self) -> TestApp {
        Self::spawn_with(self.backend, settings_for(self.database_url.clone())).await
    }

    pub async fn spawn_with(backend: Backend, settings: Settings) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            api::telemetry::init(LogFormat::Pretty).shutdown();
        }
        let database_url = settings.database_url.clone();
        let app = Application::build(settings).await.expect("server builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            backend,
            db,
            database_url,
            handle,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Posts a GraphQL request; returns the whole JSON body.
    pub async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request sent");
        assert!(res.status().is_success(), "HTTP {}", res.status());
        res.json().await.expect("JSON body")
    }

    /// Creates a staff member directly (no admin needed) and logs them in.
    pub async fn staff(&self, roles: &[Role]) -> Staff {
        let email = format!("{}@staff.test", uuid::Uuid::now_v7().simple());
        let new = service::staff::NewStaff::parse(&email, "Test Staff", PASSWORD, roles)
            .map_err(|e| e.message())
            .expect("valid staff");
        let model = service::staff::create(&self.db, &RequestContext::system(), new)
            .await
            .map_err(|e| e.message())
            .expect("staff created");
        let token = self.login(&email, PASSWORD).await;
        Staff {
            id: model.id.to_string(),
            email,
            token,
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let body = self
            .graphql(LOGIN, json!({ "e": email, "p": password }), None)
            .await;
        body["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {body}"))
            .to_string()
    }

    /// The server's `/metrics` text.
    pub async fn metrics(&self) -> String {
        let res = self.client.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.text().await.expect("metrics text")
    }

    /// One sample of `/metrics`, named with its labels as printed
    /// (`name{label="value"}`).
    pub async fn metric(&self, series: &str) -> u64 {
        let text = self.metrics().await;
        let prefix = format!("{series} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
    }

    /// Counts rows of a table, straight from the database.
    pub async fn count(&self, table: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("count value")
    }
}

/// A staff member the harness created, with a valid token.
pub struct Staff {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// Polls `check` every 50 ms until it gives `Ok`, for at most `within`; on
/// timeout fails with `what` and the last state `check` described. Tests wait
/// this way rather than sleeping a fixed time.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = std::time::Instant::now() + within;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if std::time::Instant::now() > deadline => {
                panic!("timed out waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// Asserts the body failed with `code` and returned no data for the field.
#[track_caller]
pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(error_code(body), Some(code), "expected {code}, got {body}");
}

/// The `login` mutation, returning only the token.
pub const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";

/// The `createOrder` mutation with the fields tests usually read back.
pub const CREATE_ORDER: &str = "mutation($i: CreateOrderInput!){ createOrder(input: $i) { id number status planMonths devices total { amount currency } refundable { amount currency } refundedTotal { amount } paymentMethod paymentReference placedAt paidAt customer { id email name phone } } }";

/// A valid paid order for `createOrder`; tests override fields as needed.
pub fn order_input(number: &str, email: &str) -> Value {
    json!({
        "number": number,
        "customerEmail": email,
        "customerName": "Jane Doe",
        "customerPhone": "+4915112345689",
        "planMonths": 3,
        "devices": 2,
        "total": { "amount": "29.99", "currency": "EUR" },
        "paymentMethod": "CARD",
        "paymentReference": "pi_123",
        "placedAt": "2026-11-01T10:00:00Z",
        "paidAt": "2026-11-01T10:05:00Z",
    })
}

impl TestApp {
    /// Creates an order through the API and returns the `createOrder` object.
    pub async fn create_order(&self, token: &str, input: Value) -> Value {
        let body = self
            .graphql(CREATE_ORDER, json!({ "i": input }), Some(token))
            .await;
        assert!(body["errors"].is_null(), "createOrder failed: {body}");
        body["data"]["createOrder"].clone()
    }
}

/// Every field of a claim the tests read back.
pub const CLAIM_FIELDS: &str = "id status version reason requestedAmount { amount currency } approvedAmount { amount } eligibility { outcome rule explanation suggestedAmount { amount } evidenceRequired policyVersion } evidence { kind url text } events { kind note actor { id } } payouts { id status amount { amount } method sameMethodAsOrder expectedEarliest expectedLatest overdue } assignee { id } submittedBy { id } decidedBy { id } decidedAt decisionNote rejectionReason overrideReason";

impl TestApp {
    /// A paid order whose activation was delivered at `delivered_at`
    /// (None: recorded but not delivered). Returns the order id.
    pub async fn delivered_order(
        &self,
        token: &str,
        number: &str,
        total: &str,
        delivered_at: Option<&str>,
    ) -> String {
        let mut input = order_input(number, "claimant@example.com");
        input["planMonths"] = json!(1);
        input["total"]["amount"] = json!(total);
        input["placedAt"] = json!("2026-02-01T00:00:00Z");
        input["paidAt"] = json!("2026-02-01T00:00:00Z");
        let order = self.create_order(token, input).await;
        let id = order["id"].as_str().expect("order id").to_string();
        let body = self
            .graphql(
                "mutation($i: RecordActivationInput!){ recordActivation(input: $i) { id } }",
                json!({ "i": { "orderId": id, "channel": "EMAIL", "destination": "claimant@example.com", "username": "u", "deliveredAt": delivered_at } }),
                Some(token),
            )
            .await;
        assert!(body["errors"].is_null(), "recordActivation: {body}");
        id
    }

    /// Submits a claim; returns the whole response body.
    pub async fn submit_claim(&self, token: &str, input: Value) -> Value {
        let q = format!(
            "mutation($i: SubmitClaimInput!){{ submitClaim(input: $i) {{ {CLAIM_FIELDS} }} }}"
        );
        self.graphql(&q, json!({ "i": input }), Some(token)).await
    }

    /// Approves a claim; returns the whole response body.
    pub async fn approve(&self, token: &str, input: Value) -> Value {
        let q = format!(
            "mutation($i: ApproveClaimInput!){{ approveClaim(input: $i) {{ {CLAIM_FIELDS} }} }}"
        );
        self.graphql(&q, json!({ "i": input }), Some(token)).await
    }

    /// Runs a claim mutation by name with the given arguments text.
    pub async fn claim_op(&self, token: &str, op: &str, args: &str) -> Value {
        let q = format!("mutation {{ {op}({args}) {{ {CLAIM_FIELDS} }} }}");
        self.graphql(&q, json!({}), Some(token)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("mysql://root@h:3306", "x"),
            "mysql://root@h:3306/x"
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}
