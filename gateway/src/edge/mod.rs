//! The edge: who is asking ([`client_ip`]), how often they may ask
//! ([`limits`]), whether they solved a CAPTCHA ([`captcha`]), how many places
//! they hold ([`places`]), and where failed CAPTCHAs wait forever
//! ([`shadow`]). It wraps the composed router: the client IP as an outer
//! layer, then — as route layers, which run only once a route matched and
//! see its decoded, validated parameters — id validation, rate limits and
//! the join/status/WebSocket guard. It adds one route,
//! `GET /api/v1/queue/{event}/challenge`; the queue crate knows nothing of
//! it.

pub mod captcha;
pub mod client_ip;
mod join;
pub mod limits;
pub mod places;
mod rejections;
mod route_layer;
pub mod settings;
pub mod shadow;

pub use settings::EdgeSettings;

use anyhow::Context;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use captcha::pow::{Pow, PowConfig};
use captcha::CaptchaVerifier;
use client_ip::{ClientIp, TrustedProxies};
use limits::{Decision, Limits, RouteClass};
use places::{MemoryPlaces, MemoryReplay, PlaceCounter, RedisPlaces, RedisReplay, ReplayGuard};
use queue::api::schemas;
use queue::api::{ApiError, ErrorCode, EventPath, VisitorCredentials};
use queue::engine::Engine;
use queue::{CaptchaPolicy, CredentialCodec, EventId, SigningKeys};
use settings::CaptchaProvider;
use shadow::Shadow;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Finds the signed-in account of a request (booking's customer session),
/// for the one-place-per-account cap.
pub type AccountResolver = Arc<dyn Fn(&HeaderMap) -> Option<String> + Send + Sync>;

/// The edge's state, shared by its layers.
pub struct Edge {
    proxies: TrustedProxies,
    limits: Option<Limits>,
    captcha: Arc<dyn CaptchaVerifier>,
    places: Arc<dyn PlaceCounter>,
    shadow: Arc<Shadow>,
    /// The queue's own fan routes, with shadow places as their source.
    shadow_fans: Router,
    engine: Arc<Engine>,
    codec: CredentialCodec,
    fail_open: bool,
    accounts: RwLock<Option<AccountResolver>>,
    rejections: rejections::RejectionCounts,
    _redis: Option<RedisTask>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("proxies", &self.proxies)
            .field("limits", &self.limits)
            .field("captcha", &self.captcha.provider())
            .finish_non_exhaustive()
    }
}

/// What [`Edge::build`] needs besides its settings.
pub struct EdgeDeps<'a> {
    /// Redis, when configured: places and replay ids are then shared by
    /// every process.
    pub redis_url: Option<&'a str>,
    /// The signing keys (challenge signatures and shadow ids are keyed
    /// from them, so every process sharing the keys agrees).
    pub keys: &'a SigningKeys,
    /// The queue engine (event settings, shadow positions).
    pub engine: Arc<Engine>,
    /// The real fan API's state: the infinite queue serves through the
    /// same routes with its own place source.
    pub fans: queue::api::QueueApi,
}

impl Edge {
    /// Builds the edge; fails on a bad setting or an unreachable Redis.
    pub async fn build(s: &EdgeSettings, deps: EdgeDeps<'_>) -> anyhow::Result<Arc<Edge>> {
        let proxies = TrustedProxies::parse(&s.trusted_proxies)
            .map_err(anyhow::Error::msg)?
            .reading(s.forwarded_header);
        let window = Duration::from_secs(s.place_window_seconds.max(60));
        let mut redis = None;
        let (places, replay): (Arc<dyn PlaceCounter>, Arc<dyn ReplayGuard>) = match deps.redis_url {
            Some(url) => {
                let (client, task) = redis_client(url).await?;
                redis = Some(task);
                (
                    Arc::new(RedisPlaces::new(client.clone(), window)),
                    Arc::new(RedisReplay::new(client)),
                )
            }
            None => (
                Arc::new(MemoryPlaces::new(window)),
                Arc::new(MemoryReplay::default()),
            ),
        };
        let timeout = Duration::from_millis(s.captcha_timeout_ms.max(100));
        let secret = || {
            s.captcha_secret
                .clone()
                .context("captcha_secret is required for hCaptcha and Turnstile")
        };
        let captcha: Arc<dyn CaptchaVerifier> = match s.captcha_provider {
            CaptchaProvider::Pow => Arc::new(Pow::new(
                deps.keys,
                PowConfig {
                    difficulty: s.pow_difficulty,
                    max_difficulty: s.pow_max_difficulty,
                    surge_per_second: s.pow_surge_joins_per_second,
                    ttl: Duration::from_secs(s.pow_ttl_seconds),
                },
                replay,
            )),
            CaptchaProvider::Hcaptcha => Arc::new(captcha::hcaptcha::verifier(
                secret()?,
                s.captcha_site_key.clone(),
                s.captcha_verify_url.clone(),
                s.hostnames(),
                timeout,
            )?),
            CaptchaProvider::Turnstile => Arc::new(captcha::turnstile::verifier(
                secret()?,
                s.captcha_site_key.clone(),
                s.captcha_verify_url.clone(),
                s.hostnames(),
                timeout,
            )?),
        };
        let codec = CredentialCodec::new(deps.keys);
        let shadow = Arc::new(Shadow::new(deps.keys, codec.clone(), deps.engine.clone()));
        let shadow_fans = queue::api::router(queue::api::QueueApi {
            places: shadow.clone(),
            ..deps.fans
        });
        Ok(Arc::new(Edge {
            proxies,
            limits: Limits::new(&s.rate_limits),
            captcha,
            places,
            shadow,
            shadow_fans,
            engine: deps.engine,
            codec,
            fail_open: s.captcha_fail_open,
            accounts: RwLock::new(None),
            rejections: rejections::RejectionCounts::default(),
            _redis: redis,
        }))
    }

    /// Lets the edge recognise signed-in accounts (set once booking runs).
    pub fn set_accounts(&self, resolver: AccountResolver) {
        *self
            .accounts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(resolver);
    }

    fn account(&self, headers: &HeaderMap) -> Option<String> {
        let r = self
            .accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()?;
        r(headers)
    }

    /// The edge's own route, with its documentation (`#[utoipa::path]`):
    /// `GET /api/v1/queue/{event}/challenge`.
    fn routes() -> OpenApiRouter<Arc<Self>> {
        OpenApiRouter::new().routes(routes!(challenge))
    }

    /// [`Self::routes`], state applied.
    pub fn router(self: &Arc<Self>) -> Router {
        Self::routes().split_for_parts().0.with_state(self.clone())
    }

    /// The edge's operations, as [`Self::router`] serves them.
    pub fn openapi() -> utoipa::openapi::OpenApi {
        Self::routes().into_openapi()
    }

    /// Wraps `router` in the edge's route layers, which need the matched
    /// route: path ids validated and decoded (400 `invalid_id`), rate
    /// limits, and the join/status/WebSocket guard. Route layers apply to
    /// the routes present, so call this on the fully composed router, and
    /// call [`Edge::resolve_client`] on every request before it.
    /// `bounds` caps WebSocket upgrades, after the edge let one through.
    pub fn wrap(self: &Arc<Self>, router: Router, bounds: Arc<crate::server::Bounds>) -> Router {
        router.route_layer(route_layer::EdgeLayer::new(self.clone(), bounds))
    }

    /// Every second, flushes the per-event rejection counts; every 30 s
    /// (sooner when crowded) evicts idle rate-limit keys, so their memory
    /// follows recent clients, not every client ever seen.
    pub fn spawn_maintenance(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let edge = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            let mut since = 0u32;
            loop {
                every.tick().await;
                let Some(edge) = edge.upgrade() else { return };
                edge.rejections.flush(edge.engine.store().as_ref()).await;
                let Some(limits) = &edge.limits else { continue };
                since += 1;
                if since >= 30 || limits.crowded() {
                    limits.evict();
                    since = 0;
                }
            }
        })
    }

    /// A verified visitor of the request, as a rate-limit key: from the
    /// credential of the route's event, or (for routes without one) from
    /// `X-Queue-Token` or any queue cookie. Forged credentials give none.
    fn visitor_key(&self, headers: &HeaderMap, event: Option<&EventId>) -> Option<String> {
        let creds = VisitorCredentials::from_headers(headers);
        let (event, token) = match event {
            Some(event) => (event.clone(), creds.for_event(event)?),
            None => {
                let token = creds.any()?;
                let (evt, _, _) = queue::visitor::session_hash_unverified(token)?;
                (EventId::parse(&evt).ok()?, token)
            }
        };
        let cred = self.codec.decode(token, &event).ok()?;
        Some(format!("{event}/{}", cred.visitor))
    }
}

/// The class of the matched route, and its validated event.
fn route_of(req: &Request) -> Option<(RouteClass, Option<EventId>)> {
    let route = req.extensions().get::<MatchedPath>()?;
    let class = RouteClass::of(req.method(), route.as_str())?;
    let event = req.extensions().get::<EventPath>().map(|e| e.0.clone());
    Some((class, event))
}

/// The edge's own Redis client (places and replay ids), built like every
/// other Redis client in the workspace, so it fails fast while Redis is down.
async fn redis_client(url: &str) -> anyhow::Result<(fred::clients::Client, RedisTask)> {
    use fred::interfaces::ClientLike;
    let config =
        fred::types::config::Config::from_url(url).context("invalid Redis URL for the edge")?;
    let client = queue::store::redis::fail_fast_builder(config)
        .build()
        .context("building the edge's Redis client")?;
    let task = client.init().await.context("the edge cannot reach Redis")?;
    Ok((client, RedisTask(task)))
}

/// The Redis client's connection task, stopped when the edge is dropped
/// (in-process tests build many apps in one process).
struct RedisTask(fred::types::ConnectHandle);

impl Drop for RedisTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Edge {
    /// Puts the request's [`ClientIp`] in its extensions: the client of
    /// every request, matched or not, for the route layer of [`Edge::wrap`];
    /// called first thing on every request.
    pub fn resolve_client(&self, req: &mut Request) {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            // Served without connection info (in-process tests): one
            // anonymous client, so limits still apply rather than vanish.
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
        let ip = self.proxies.client(peer, req.headers());
        req.extensions_mut().insert(ip);
    }
}

/// The request's client, as [`client_ip`] found it.
fn client_of(req: &Request) -> ClientIp {
    req.extensions()
        .get::<ClientIp>()
        .copied()
        .unwrap_or(ClientIp {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            peer: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        })
}

impl Edge {
    /// Spends the request's budgets: passes it on with the decision (kept
    /// in its extensions for the handlers, and written as `RateLimit-*` on
    /// every answer of a limited route), or answers 429 with `Retry-After`
    /// and `RateLimit-*` when one is exhausted.
    fn rate_limit(&self, mut req: Request) -> Result<(Request, Option<Decision>), Box<Response>> {
        let Some(limits) = &self.limits else {
            return Ok((req, None));
        };
        let Some((class, event)) = route_of(&req) else {
            return Ok((req, None));
        };
        let ip = client_of(&req).group();
        let visitor = self.visitor_key(req.headers(), event.as_ref());
        let decision = limits.check(class, ip, visitor.as_deref());
        if !decision.allowed {
            metrics::counter!("waitroom_rate_limited_total",
                "class" => class.as_str(), "key" => decision.key)
            .increment(1);
            if let Some(event) = &event {
                self.rejections.rate_limited(event);
            }
            let secs = decision.reset_seconds();
            let mut resp = ApiError::of(
                ErrorCode::RateLimited,
                format!("too many requests; try again in {secs} s"),
            )
            .retry_after(secs)
            .into_response();
            decision.write_headers(resp.headers_mut());
            return Err(Box::new(resp));
        }
        req.extensions_mut().insert(decision);
        Ok((req, Some(decision)))
    }
}

/// `GET /api/v1/queue/{event}/challenge`: whether joining needs a CAPTCHA
/// now, and what the page needs to solve one.
#[utoipa::path(
    get,
    path = "/api/v1/queue/{event}/challenge",
    operation_id = "queueChallenge",
    tag = "queue",
    summary = "Whether joining needs a CAPTCHA now, and what the page needs to solve one",
    description = "Served by the edge. `required` is true when the event's policy is `on_join`; with `on_suspicion` a challenge is included but only demanded from clients close to their rate limits; with `off` the answer is just `required` and `policy`.",
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
    ),
    responses(
        (status = 200, description = "The event's CAPTCHA policy and, unless it is `off`, a challenge.", body = schemas::ChallengeInfo),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 404, description = "`unknown_event`.", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::QueueUnavailable),
    )
)]
async fn challenge(
    State(edge): State<Arc<Edge>>,
    EventPath(event): EventPath,
) -> Result<Response, ApiError> {
    let hub = edge.engine.hub(&event).await?;
    let policy = hub.view().settings.policy.captcha;
    let mut body = match policy {
        CaptchaPolicy::Off => serde_json::json!({}),
        _ => edge.captcha.challenge(&event),
    };
    body["required"] = (policy == CaptchaPolicy::OnJoin).into();
    body["policy"] = serde_json::to_value(policy).unwrap_or_default();
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
