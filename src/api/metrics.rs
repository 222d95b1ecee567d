//! Prometheus metrics at `GET /metrics`: requests by route and status with their latency, and
//! (from the outbound client) vendor calls by connector, operation and status, vendor latency,
//! retries and rate-limit waits, plus mapping errors by field and connection cache hits. No
//! label carries tenant data.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process's recorder; metrics are process-wide, so every gateway in a process shares it.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may be installed already (an embedding program); then this one only
        // renders what it records, which is nothing, and says so.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("A metrics recorder was already installed; /metrics shows none of crmgate's metrics.");
        }
        handle
    })
}

/// Installs the recorder before the first request records anything.
pub fn install() {
    handle();
}

/// `GET /metrics`, in Prometheus's text format.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "Meta", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn render() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response()
}

/// Route middleware: counts each request and its latency by route template and status.
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("crmgate_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("crmgate_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}
