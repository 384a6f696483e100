//! Building and running the server.

use std::net::TcpListener;
use std::sync::Arc;

use crate::service::db::Db;
use actix_web::{web, App, HttpServer};
use migration::{Migrator, MigratorTrait};

use crate::auth::jwt::TokenService;
use crate::config::Settings;
use crate::domain::page::CursorKey;
use crate::graphql::{schema_builder, AppSchemaBuilder};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::secrets::CredentialCipher;
use crate::service;
use crate::service::events::hub::Hub;
use crate::service::webhooks::dispatch::Dispatcher;
use async_graphql::ValidationMode;

/// Connections of the background workers' pool.
const WORKER_CONNECTIONS: u32 = 3;

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE_SECS: u64 = 30;

pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// A bound, migrated, ready-to-run server.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    db: Db,
}

impl Application {
    /// Connects, applies pending migrations and binds (port 0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let mut db =
            service::db::connect(&settings.database_url, settings.db_max_connections).await?;
        Migrator::up(db.unbound(), None).await?;
        for (option, cost) in service::db::missing_sqlite_options(&db).await? {
            tracing::warn!(option, "SQLite was built without this option: {cost}");
        }
        let metrics = Arc::new(Metrics::default());
        let counter = metrics.clone();
        db.set_metric_callback(move |info| counter.observe_sql(info.failed));
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let tokens = Arc::new(TokenService::new(&settings.jwt));
        let cipher = Arc::new(CredentialCipher::new(&settings.credentials_key));
        let hub = Arc::new(Hub::default());
        let evidence = Arc::new(service::evidence::EvidenceSettings {
            store: service::evidence::store::EvidenceStore::open(&settings.evidence_store)
                .map_err(|e| e.to_string())?,
            max_bytes: settings.evidence_max_bytes,
        });
        // The event pump, the webhook dispatcher and the bus publisher run
        // beside the server on its runtime, for as long as the process
        // lives, on a pool of their own: they never take a request's
        // connection, and `/metrics` counts the requests' statements only.
        let workers = service::db::connect(&settings.database_url, WORKER_CONNECTIONS).await?;
        tokio::spawn(hub.clone().run(workers.clone(), settings.event_poll));
        let dispatcher = Arc::new(
            Dispatcher::new(
                workers.clone(),
                cipher.clone(),
                settings.webhooks.clone(),
                metrics.foreground.clone(),
            )
            .map_err(|e| e.describe())?,
        );
        tokio::spawn(dispatcher.run(hub.clone()));
        if let Some(url) = &settings.nats_url {
            metrics
                .bus_enabled
                .store(true, std::sync::atomic::Ordering::Relaxed);
            tokio::spawn(service::events::bus::run(
                workers.clone(),
                url.clone(),
                settings.event_poll,
                metrics.bus_lag.clone(),
            ));
        }
        let executions = Arc::new(tokio::sync::Semaphore::new(
            settings.db_max_connections as usize,
        ));
        // One schema per validation mode, with the same data: documents
        // validated strictly before run in fast mode (graphql::validation).
        let schema_in = |mode| {
            build_schema(
                &settings,
                db.clone(),
                tokens.clone(),
                cipher.clone(),
                hub.clone(),
                evidence.clone(),
            )
            .validation_mode(mode)
            .finish()
        };
        let schema = schema_in(ValidationMode::Strict);
        let validated_schema = schema_in(ValidationMode::Fast);
        let state = web::Data::new(AppState {
            schema,
            validated_schema,
            evidence,
            tokens,
            metrics,
            db: db.clone(),
            settings,
            documents: Default::default(),
            hub,
            executions,
        });
        let origins = state.settings.cors_origins.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(cors(&origins))
                .wrap_fn(http::observe)
                // Outermost: the request's span and id exist before anything else runs.
                .wrap(tracing_actix_web::TracingLogger::<http::RequestSpan>::new())
                .configure(http::routes)
        })
        .shutdown_timeout(SHUTDOWN_GRACE_SECS)
        .listen(listener)?
        .run();
        Ok(Application { port, server, db })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stops the server like SIGTERM does (`stop(true)`: in-flight requests
    /// finish, new connections are refused).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Cross-origin access for the configured origins only. Other origins get no
/// CORS headers (the browser then blocks them) rather than an error, so the
/// console's and GraphiQL's own same-origin requests are never refused.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::header;
    let mut cors = actix_cors::Cors::default()
        .block_on_origin_mismatch(false)
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([header::HeaderName::from_static("x-request-id")])
        .max_age(600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

fn build_schema(
    settings: &Settings,
    db: Db,
    tokens: Arc<TokenService>,
    cipher: Arc<CredentialCipher>,
    hub: Arc<Hub>,
    evidence: Arc<service::evidence::EvidenceSettings>,
) -> AppSchemaBuilder {
    let mut builder = schema_builder()
        .data(evidence)
        .data(db)
        .data(tokens)
        .data(cipher)
        .data(hub)
        .data(settings.webhooks.policy)
        .data(settings.claim_backdating)
        .data(CursorKey::derive(settings.jwt.secret_bytes()));
    if let Some(plan) = &settings.faults {
        builder = builder.data(plan.clone());
    }
    if settings.environment == crate::config::Environment::Production {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder
}
