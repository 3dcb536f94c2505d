//! The edge's route layer ([`Edge::wrap`]): path ids, then rate limits,
//! then the WebSocket caps and the join/status/WebSocket guard.
//!
//! One layer, not four, and a service of its own rather than axum's
//! `from_fn`: that one takes the request apart and back together to hand
//! it its state, and boxes the route it wraps again on every request.
//! Here the route is cloned once per request and called as it is.

use super::{join, Edge};
use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::Route;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service, ServiceExt};

/// What the layer needs: the edge, and the WebSocket caps inside it.
struct RouteEdge {
    edge: Arc<Edge>,
    bounds: Arc<crate::server::Bounds>,
}

/// Puts [`EdgeService`] around every route.
#[derive(Clone)]
pub(super) struct EdgeLayer(Arc<RouteEdge>);

impl EdgeLayer {
    pub(super) fn new(edge: Arc<Edge>, bounds: Arc<crate::server::Bounds>) -> Self {
        Self(Arc::new(RouteEdge { edge, bounds }))
    }
}

impl Layer<Route> for EdgeLayer {
    type Service = EdgeService;

    fn layer(&self, route: Route) -> EdgeService {
        EdgeService {
            edge: self.0.clone(),
            route,
        }
    }
}

/// One route behind the edge's checks.
#[derive(Clone)]
pub(super) struct EdgeService {
    edge: Arc<RouteEdge>,
    route: Route,
}

impl Service<Request> for EdgeService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A route is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (edge, next) = (self.edge.clone(), Next(self.route.clone()));
        Box::pin(async move { Ok(route_edge(&edge, req, next).await) })
    }
}

/// The route after the edge's checks: the handler.
pub(super) struct Next(Route);

impl Next {
    /// The route's answer to `req`.
    pub(super) async fn run(self, req: Request) -> Response {
        match self.0.oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }
}

async fn route_edge(route: &RouteEdge, req: Request, next: Next) -> Response {
    // Copied to the response for the outermost layer's request metrics.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let mut resp = edge_checks(route, req, next).await;
    if let Some(matched) = matched {
        resp.extensions_mut().insert(matched);
    }
    resp
}

async fn edge_checks(route: &RouteEdge, req: Request, next: Next) -> Response {
    let edge = &route.edge;
    let req = match queue::api::with_valid_ids(req).await {
        Ok(req) => req,
        Err(e) => return e.into_response(),
    };
    let (req, decision) = match edge.rate_limit(req) {
        Ok(passed) => passed,
        Err(refused) => return *refused,
    };
    let guarded = |req| join::guard(edge, req, next);
    let mut resp = crate::server::websocket_cap(&route.bounds, req, guarded).await;
    if let Some(decision) = decision.filter(|d| d.limit > 0) {
        decision.write_headers(resp.headers_mut());
    }
    resp
}
