//! Operations endpoints and the static pages.

use crate::readiness::{Mode, RedisMode};
use crate::telemetry::metrics_handle;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use queue::api::schemas;
use queue::api::{ApiError, ErrorCode};
use queue::engine::Engine;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower_http::services::{ServeDir, ServeFile};
use utoipa_axum::{router::OpenApiRouter, routes};

/// State of the operations endpoints.
#[derive(Clone)]
pub struct Ops {
    /// For readiness: the store behind it must answer.
    pub engine: Arc<Engine>,
    /// For readiness: the database must answer.
    pub booking: Option<Arc<booking::Booking>>,
    /// For readiness: what the Redis behind `REDIS_URL` is (primary, not a
    /// Cluster node through a plain URL); `None` on the in-process store.
    pub redis_mode: Option<Arc<RedisMode>>,
}

/// One readiness check's outcome.
struct Check {
    /// `ok`, or what is wrong.
    status: String,
    /// This process is unusable (wrong mode): take it out of rotation.
    fatal: bool,
}

impl Check {
    /// The outcome of a ping: `ok`, or unreachable with the reason (never
    /// fatal: an outage is reported, not a reason to leave the rotation).
    fn reached(ping: Result<(), impl std::fmt::Display>) -> Self {
        Self {
            status: match ping {
                Ok(()) => "ok".to_owned(),
                Err(e) => format!("unreachable: {e}"),
            },
            fatal: false,
        }
    }
}

impl Ops {
    /// Checks the queue store (reachable, usable through this URL) and the
    /// database, and records the outcome in the `waitroom_*_up` gauges.
    async fn checks(&self) -> (Check, Option<Check>) {
        let store = self.engine.store();
        let mut queue = Check::reached(store.ping().await);
        // Asked even when the store's own ping failed: a cluster node whose
        // slots are not served fails every command (CLUSTERDOWN) but still
        // says what it is, and a wrong mode is the reason to report.
        if let Some(mode) = &self.redis_mode {
            match mode.check().await {
                Mode::Ok => {}
                Mode::Wrong(reason) => {
                    queue = Check {
                        status: reason,
                        fatal: true,
                    }
                }
                Mode::Unreachable(e) if queue.status == "ok" => {
                    queue.status = format!("unreachable: {e}")
                }
                Mode::Unreachable(_) => {}
            }
        }
        metrics::gauge!("waitroom_queue_store_up").set(f64::from(u8::from(queue.status == "ok")));
        metrics::gauge!("waitroom_queue_store_wrong_mode").set(f64::from(u8::from(queue.fatal)));
        let database = match &self.booking {
            Some(b) => {
                let check = Check::reached(b.ping().await);
                metrics::gauge!("waitroom_database_up")
                    .set(f64::from(u8::from(check.status == "ok")));
                Some(check)
            }
            None => None,
        };
        (queue, database)
    }
}

/// Keeps the `waitroom_*_up` gauges current even when nothing probes
/// `/readyz`, and says so in the log when the store changes health.
pub fn spawn_health_loop(ops: Ops) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = String::new();
        loop {
            let (queue, _) = ops.checks().await;
            if queue.status != last {
                if queue.fatal {
                    tracing::error!(reason = %queue.status, "the queue store cannot be used through REDIS_URL; /readyz fails");
                } else if queue.status != "ok" {
                    tracing::warn!(reason = %queue.status, "queue store unreachable: waiters are told reconnecting and keep their places");
                } else if !last.is_empty() {
                    tracing::info!("queue store reachable again");
                }
                last = queue.status;
            }
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    })
}

/// `/healthz`, `/readyz` and `/api/v1/openapi.json`; `/metrics` is
/// documented with them but served where [`router`] puts it.
fn routes() -> OpenApiRouter<Ops> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(ready))
        .routes(routes!(openapi))
}

/// The operations of [`router`] and [`metrics_router`].
pub fn openapi_operations() -> utoipa::openapi::OpenApi {
    routes()
        .merge(OpenApiRouter::new().routes(routes!(metrics)))
        .into_openapi()
}

/// `/healthz`, `/readyz`, `/api/v1/openapi.json`, and `/metrics` when
/// `with_metrics` (no separate metrics listener).
pub fn router(state: Ops, with_metrics: bool) -> Router {
    let router = routes().split_for_parts().0.with_state(state);
    if with_metrics {
        router.merge(metrics_router())
    } else {
        router
    }
}

/// `/metrics` (Prometheus text format).
pub fn metrics_router() -> Router {
    OpenApiRouter::new()
        .routes(routes!(metrics))
        .split_for_parts()
        .0
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    summary = "Liveness",
    responses(
        (status = 200, description = "The process is up.", body = schemas::Health),
    )
)]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "Prometheus text exposition format.", content_type = "text/plain", body = String),
    )
)]
async fn metrics() -> String {
    metrics_handle().render()
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    summary = "This document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = schemas::OpenApiDocument),
    )
)]
async fn openapi() -> Response {
    // Rendered once (see `crate::openapi`): nothing to build per request.
    let doc = crate::openapi::document_text();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

/// Ready unless this process cannot be used (the queue store in the wrong
/// mode). A shared backend that is unreachable is the same for every
/// process, so it is reported (`degraded`, with the reason) but not failed:
/// taking every process out of the load balancer at once would cut off the
/// waiters being told "reconnecting", who keep their places.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    summary = "Readiness: this process can serve",
    description = "Fails only when this process cannot use its queue store (a read-only replica, or a Redis Cluster node through a plain redis:// URL). An unreachable queue store or database is shared by every process, so it is reported (`degraded`, with the reason) without failing: waiters are told to reconnect and keep their places.",
    responses(
        (status = 200, description = "Ready, or degraded (a shared backend unreachable; `checks` says which).", body = schemas::Readiness),
        (status = 503, description = "Not ready: the queue store cannot be used through this URL; `checks` says why (`Retry-After: 5`).", body = schemas::Readiness),
    )
)]
async fn ready(State(ops): State<Ops>) -> Response {
    let (queue, database) = ops.checks().await;
    // Events restored after the store lost them: the sale goes on, but
    // operators should look (README, operator's guide: recovery).
    let recovering: Vec<String> = ops
        .engine
        .recovering()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let healthy = queue.status == "ok"
        && database.as_ref().is_none_or(|d| d.status == "ok")
        && recovering.is_empty();
    let ok = !queue.fatal;
    let status = match (ok, healthy) {
        (false, _) => "unavailable",
        (true, false) => "degraded",
        (true, true) => "ready",
    };
    let body = serde_json::json!({
        "status": status,
        "checks": {
            "queue_store": {
                "backend": ops.engine.store().backend(),
                "status": queue.status,
                "recovering": recovering,
            },
            "database": { "status": database.map_or_else(|| "not running".to_owned(), |d| d.status) },
        },
        "connected_waiters": ops.engine.connected(),
    });
    if ok {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        // Load balancers and orchestrators: look again shortly.
        let retry = [(header::RETRY_AFTER, "5")];
        (StatusCode::SERVICE_UNAVAILABLE, retry, Json(body)).into_response()
    }
}

/// Static pages from `web_dir`: `/queue/{event}` is the waiting room; the
/// files directly in `web/` are served as files (never its subdirectories,
/// such as the browser tests). Unknown `/api/…` paths get the JSON error
/// shape, never an HTML page; other unknown paths get the fans' "not
/// found" page when a browser asks for a page.
pub fn pages(web_dir: &Path) -> Router {
    use tower::Layer;
    let missing = Arc::new(web_dir.join("404.html"));
    let fallback =
        axum::routing::any(move |req: axum::extract::Request| missing_page(missing.clone(), req));
    let files =
        axum::middleware::from_fn(top_level_only).layer(ServeDir::new(web_dir).fallback(fallback));
    Router::new()
        .route_service("/queue/{event}", ServeFile::new(web_dir.join("queue.html")))
        .route_service(
            "/events/{event}/book",
            ServeFile::new(web_dir.join("book.html")),
        )
        .route("/api/{*rest}", axum::routing::any(not_found))
        .fallback_service(files)
        // Pages only: a phone on a congested stadium network should fetch
        // the waiting room in a few KB. (Not on the API router, where it
        // would wrap WebSocket upgrades.)
        .layer(tower_http::compression::CompressionLayer::new())
}

/// Lets through only paths naming a file directly in the web directory or
/// in its `vendor/` (third-party scripts kept as shipped), judged on the
/// path as the file service will decode it (so `%2F` or an encoded letter
/// cannot smuggle in another subdirectory), and no dot-files.
async fn top_level_only(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let decoded = percent_decoded(req.uri().path());
    let name = decoded.strip_prefix('/').unwrap_or(&decoded);
    let name = name.strip_prefix("vendor/").unwrap_or(name);
    if name.contains(['/', '\\']) || name.starts_with('.') {
        return not_found(req.uri().clone()).await.into_response();
    }
    next.run(req).await
}

/// `%XX` sequences decoded (invalid ones kept as written).
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                // Two hex digits make at most 255.
                out.push(u8::try_from(h * 16 + l).unwrap_or(u8::MAX));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::of(ErrorCode::NotFound, format!("no such path: {}", uri.path()))
}

/// 404 with `page` for a browser navigating (it accepts HTML), the JSON
/// error for anything else (scripts, API clients, a page that is missing).
async fn missing_page(page: Arc<PathBuf>, req: axum::extract::Request) -> Response {
    let wants_page = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_page {
        if let Ok(body) = tokio::fs::read(page.as_path()).await {
            let html = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
            return (StatusCode::NOT_FOUND, html, body).into_response();
        }
    }
    not_found(req.uri().clone()).await.into_response()
}

/// Under `/api`, every error is the JSON shape, so clients parse one
/// thing. The framework answers some errors itself in plain text (405, 413
/// from the body limit, a request to a WebSocket route that is not an
/// upgrade); this rewrites those, keeping their status and headers.
/// `api`: whether the request's path is under `/api/`.
pub async fn json_errors(api: bool, resp: Response) -> Response {
    let status = resp.status();
    if !api
        || crate::headers::is_json(resp.headers())
        || !(status.is_client_error() || status.is_server_error())
    {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4_096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = ErrorCode::for_status(status);
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this path does not take that method".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_owned(),
        _ if !text.is_empty() => text,
        other => other.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut out = ApiError::of(code, message)
        .with_status(status)
        .into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
