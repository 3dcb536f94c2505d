//! The outermost work, around the router: the client's address, the body
//! limit, request metrics and logs, JSON errors and security headers.

use crate::{edge, headers, ops, telemetry};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::ServiceExt;
use tracing::Instrument;

/// Largest request body any endpoint but the logo upload accepts.
const BODY_LIMIT: usize = 64 * 1024;

/// The logo upload's body limit: 256 KiB in base64 and JSON.
const LOGO_BODY_LIMIT: usize = 384 * 1024;

/// Whether `path` is `/api/v1/admin/events/{event}/logo`.
fn is_logo_upload(path: &str) -> bool {
    path.strip_prefix("/api/v1/admin/events/")
        .and_then(|rest| rest.strip_suffix("/logo"))
        .is_some_and(|event| !event.is_empty() && !event.contains('/'))
}

/// The whole app as one service: [`outer`] around the router. A service of
/// its own rather than a layer of the router's: `Router::layer` wraps every
/// route in a boxed `from_fn` service, and each request cloned those boxes
/// and boxed the future again at every level.
#[derive(Clone)]
pub struct Outermost {
    router: Router,
    outer: Arc<Outer>,
}

impl Outermost {
    /// `router` with the outermost work around it.
    pub(crate) fn new(
        router: Router,
        edge: Arc<edge::Edge>,
        security: Arc<headers::SecurityHeaders>,
    ) -> Self {
        Self {
            router,
            outer: Arc::new(Outer { edge, security }),
        }
    }

    /// The answer to `req`, without boxing the future or cloning `self`
    /// first (what the listener calls for every request).
    pub(crate) fn answer(&self, req: Request) -> impl Future<Output = Response> + Send + 'static {
        let (router, outer) = (self.router.clone(), self.outer.clone());
        async move { outer.answer(router, req).await }
    }
}

impl tower::Service<Request> for Outermost {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let answer = self.answer(req);
        Box::pin(async move { Ok(answer.await) })
    }
}

/// What the outermost work needs (see [`Outer::answer`]).
struct Outer {
    edge: Arc<edge::Edge>,
    security: Arc<headers::SecurityHeaders>,
}

impl Outer {
    /// Around every request: finds the client (the edge's trusted
    /// proxies), bounds the request body, counts the request, makes any
    /// error under `/api/` the JSON shape, and adds the security headers.
    async fn answer(&self, router: Router, req: Request) -> Response {
        let started = std::time::Instant::now();
        let method = req.method().clone();
        let path = req.uri().path();
        let api = path.starts_with("/api/");
        // An event's logo (up to 256 KiB, base64 in JSON) is the one body
        // allowed past the general limit.
        let limit = match is_logo_upload(path) {
            true => LOGO_BODY_LIMIT,
            false => BODY_LIMIT,
        };
        // Disabled (the default `info` filter) this costs a level check; at
        // `debug` every request has a span and a line when it ends.
        let span = tracing::debug_span!("request", %method, uri = %req.uri());
        let resp = if declares_more_than(&req, limit) {
            let refused = (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded");
            axum::response::IntoResponse::into_response(refused)
        } else {
            // A body that grows past the limit while read is cut off (the
            // extractors answer 413 then).
            let mut req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
            self.edge.resolve_client(&mut req);
            match router.oneshot(req).instrument(span.clone()).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            }
        };
        telemetry::record_http(&method, &resp, started);
        let status = resp.status();
        span.in_scope(|| log_answer(status, started.elapsed()));
        let mut resp = ops::json_errors(api, resp).await;
        if method != Method::CONNECT {
            set_content_length(&mut resp);
        }
        self.security.add(&mut resp);
        resp
    }
}

/// What axum's router does after the outermost layer, done before the
/// security headers: the header order then matches that of the shadow
/// places' answers, which come through a router of their own (a bot must
/// not tell the two apart by it).
fn set_content_length(resp: &mut Response) {
    use http_body::Body as _;
    if resp.headers().contains_key(header::CONTENT_LENGTH) {
        return;
    }
    if let Some(n) = resp.body().size_hint().exact() {
        resp.headers_mut().insert(header::CONTENT_LENGTH, n.into());
    }
}

/// Whether the request declares a body larger than `limit` (413 at once).
fn declares_more_than(req: &Request, limit: usize) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// Server errors are logged whatever the level (a 500 also logs its cause
/// with an id); everything else only at `debug`.
fn log_answer(status: StatusCode, latency: Duration) {
    let ms = latency.as_secs_f64() * 1e3;
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), latency_ms = ms, "request failed");
    } else {
        tracing::debug!(
            status = status.as_u16(),
            latency_ms = ms,
            "request finished"
        );
    }
}
