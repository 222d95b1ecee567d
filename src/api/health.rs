//! Liveness and readiness for orchestrators: no auth and no tenant data, so a probe needs no
//! credentials and learns nothing about tenants.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

/// `GET /health/live`: the process answers.
#[utoipa::path(get, path = "/health/live", operation_id = "healthLive", tag = "Meta", responses((status = 200, description = "The process answers")))]
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /health/ready`: the database answers and the mapping tables are loaded. Plugins left
/// out at start-up (`--skip-broken-connectors`) are listed with why; they do not make the
/// gateway unready, since it chose to run without them.
#[utoipa::path(get, path = "/health/ready", operation_id = "healthReady", tag = "Meta", responses((status = 200, description = "Ready"), (status = 503, description = "The database or the mapping tables are not available")))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.store.ping().await.is_ok();
    let mappings = state.connectors.iter().all(|entry| {
        entry.mappings.iter().all(|source| {
            state
                .mappings
                .table(entry.connector.id(), source.resource)
                .is_some()
        })
    });
    let skipped: Vec<Value> = state
        .skipped_plugins
        .iter()
        // How many errors, not what they say: they name files on the gateway's disk, and this
        // answer needs no key. The log has every line.
        .map(|p| json!({ "id": p.id, "errors": p.errors.len() }))
        .collect();
    let status = if database && mappings {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    (
        status,
        Json(json!({
            "status": word(database && mappings),
            "checks": {
                "database": word(database),
                "mappings": word(mappings),
                "plugins": if skipped.is_empty() { "ok" } else { "degraded" },
            },
            "skipped_plugins": skipped,
        })),
    )
}
