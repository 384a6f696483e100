//! Liveness, readiness and the Prometheus metrics.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::service;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// 200 when the database answers within a second, 503 otherwise.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(Duration::from_secs(1), state.db.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Ok(Err(err)) => {
            tracing::warn!(cause = %err, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "database unavailable" }))
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({ "status": "database timeout" })),
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = service::db::pool_stats(&state.db, state.settings.db_max_connections);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(Some(pool)))
}
