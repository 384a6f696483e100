//! The HTTP layer, one concern per file: the GraphQL endpoint
//! (`graphql`), who is calling (`auth`), how responses and errors are
//! written (`response`), request bodies (`body`), health and metrics
//! (`health`), the CSV exports (`exports`), the console's files (`console`),
//! and the middleware every request passes (`observe`).

mod auth;
mod body;
mod console;
mod evidence;
mod exports;
mod graphql;
mod health;
mod integrations;
mod observe;
pub mod response;
mod upload;
mod ws;

use crate::service::db::Db;
use actix_web::web;
use std::sync::Arc;

use crate::auth::jwt::TokenService;
use crate::config::Settings;
use crate::graphql::documents::DocumentCache;
use crate::graphql::AppSchema;
use crate::metrics::Metrics;

pub(crate) use auth::{authenticate, credentials};
pub use body::MAX_BODY_BYTES;
pub use observe::{observe, RequestSpan};

/// Shared by every worker.
pub struct AppState {
    pub db: Db,
    pub schema: AppSchema,
    /// The same schema in async-graphql's fast validation mode, for cached
    /// documents that passed the strict rules before (`graphql::validation`).
    pub validated_schema: AppSchema,
    pub tokens: Arc<TokenService>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    /// Parsed documents by caller and hash: the parse cache and persisted queries.
    pub documents: DocumentCache,
    /// The process's event pump: woken after each mutation, and the source
    /// of live subscriptions.
    pub hub: Arc<crate::service::events::hub::Hub>,
    /// Where evidence files are stored, and how large they may be.
    pub evidence: Arc<crate::service::evidence::EvidenceSettings>,
    /// GraphQL executions admitted at once: as many as the pool has
    /// connections. Requests beyond wait here, before they hold anything,
    /// rather than half-executed on a connection, each with its partly
    /// built answer in memory; they wait within their own timeout.
    pub executions: Arc<tokio::sync::Semaphore>,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql::post))
        .route("/graphql", web::get().to(graphql::get))
        .route("/graphql/ws", web::get().to(ws::upgrade))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/exports/claims.csv", web::get().to(exports::claims_csv))
        .route("/exports/payouts.csv", web::get().to(exports::payouts_csv))
        .route(
            "/integrations/woocommerce",
            web::post().to(integrations::woocommerce),
        )
        .route("/integrations/stripe", web::post().to(integrations::stripe))
        .route("/evidence/{id}/file", web::get().to(evidence::download))
        .route("/metrics", web::get().to(health::metrics))
        .route("/console", web::get().to(console::redirect))
        .route("/console/{path:.*}", web::get().to(console::file));
}
