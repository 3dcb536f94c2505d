//! The operators' API: accounts and roles, queue settings with versions,
//! live controls, the sale lifecycle (scheduler, pre-queue shuffle), the
//! dashboard's live feed, events with seat maps, and the audit log.
//!
//! Every route under `/api/v1/admin/` except `login` and `logout` sits
//! behind [`auth::guard`], the one place roles are enforced (see `auth`).

mod accounts;
mod analytics;
mod announce;
mod audit;
pub mod auth;
mod checkins;
mod door;
mod error;
mod event_fields;
mod events;
mod ledger;
mod lifecycle;
pub mod live;
mod look;
mod origin;
mod queue_settings;
mod sales;
mod seat_map;
mod session;
pub mod store;
mod throttle;

pub use analytics::spawn as spawn_analytics;
pub use auth::{Actor, OperatorRole, Owner, Role, Viewer};
pub use error::AdminError;
pub use lifecycle::spawn_scheduler;
pub use live::spawn_collector;
pub use throttle::FREE_BEARER_PER_ADDRESS;

use axum::http::request::Parts;
use axum::middleware::from_fn_with_state;
use axum::Router;
use queue::engine::Engine;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use store::{AdminDb, OperatorRow};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Resolves the client address of a request (the gateway knows its
/// trusted proxies; the admin crate does not).
pub type ClientIpFn = Arc<dyn Fn(&Parts) -> Option<IpAddr> + Send + Sync>;

/// What the operator API needs to start.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// The operator key of the core issue; acts as an owner API key and
    /// is mixed into the session signing key.
    pub api_key: String,
    /// Email of the owner created on first start.
    pub bootstrap_email: String,
    /// That owner's password; generated and printed once when unset.
    pub bootstrap_password: Option<String>,
    /// Mark the session cookie `Secure` (HTTPS deployments).
    pub secure_cookies: bool,
    /// The site's public URL: its origin is accepted on cookie-authenticated
    /// writes besides the request's own `Host` (for proxies that rewrite it).
    pub public_base_url: Option<String>,
    /// Failed bearer credentials one client address may send before it
    /// must wait (`throttle::FREE_BEARER_PER_ADDRESS` by default).
    pub bearer_free_attempts: u32,
}

/// Shared state of the operator API.
#[derive(Clone)]
pub struct AdminApi {
    /// The queue engine whose settings operators change.
    pub engine: Arc<Engine>,
    /// SHA-256 of the operator key (the key itself is not kept).
    pub api_key_sha256: [u8; 32],
    /// Accounts, keys and the audit log.
    pub db: AdminDb,
    /// Session token signing.
    pub sessions: Arc<session::Sessions>,
    /// Guessing budgets (logins, bearer keys).
    pub throttle: Arc<throttle::Throttle>,
    /// A real argon2 hash checked for unknown emails, so timing does not
    /// reveal which accounts exist.
    pub dummy_hash: Arc<str>,
    /// `Secure` cookies.
    pub secure_cookies: bool,
    /// Where cookie-authenticated requests may come from (see `origin`).
    pub origin: queue::api::AllowedOrigin,
    /// Client address resolution.
    pub client_ip: ClientIpFn,
    /// The dashboard's per-second samples.
    pub live: Arc<live::LiveStats>,
    /// What operators use of booking: events and their sales, and the
    /// door (not the whole service).
    pub booking: booking::OperatorHandles,
}

impl std::fmt::Debug for AdminApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApi")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl AdminApi {
    /// Starts on the records database `db` (booking's pool, migrated) and
    /// creates the first owner when there is no operator yet.
    pub async fn connect(
        engine: Arc<Engine>,
        booking: booking::OperatorHandles,
        db: AdminDb,
        config: &AdminConfig,
    ) -> Result<Self, AdminError> {
        // Queue settings and checkpoints live in the same database.
        engine.set_ledger(Arc::new(db.clone()));
        let dummy = session::hash_password(uuid::Uuid::new_v4().to_string()).await?;
        let candidate = hex::encode(rand::random::<[u8; 32]>());
        let secret = db
            .shared_secret("session_key", &candidate, now_ms() as i64)
            .await?;
        let api = Self {
            engine,
            api_key_sha256: auth::digest(&config.api_key),
            db,
            sessions: Arc::new(session::Sessions::new(&secret, &config.api_key)),
            throttle: Arc::new(throttle::Throttle::with_bearer_budget(
                config.bearer_free_attempts,
            )),
            dummy_hash: dummy.into(),
            secure_cookies: config.secure_cookies,
            origin: queue::api::AllowedOrigin::new(config.public_base_url.as_deref()),
            live: Arc::default(),
            booking,
            client_ip: Arc::new(|parts: &Parts| {
                parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip())
            }),
        };
        api.bootstrap(config).await?;
        Ok(api)
    }

    /// Uses `f` to find a request's client address.
    pub fn with_client_ip(mut self, f: ClientIpFn) -> Self {
        self.client_ip = f;
        self
    }

    async fn bootstrap(&self, config: &AdminConfig) -> Result<(), AdminError> {
        if self.db.operators().count().await? > 0 {
            return Ok(());
        }
        let email = session::normalize_email(&config.bootstrap_email)?;
        let (password, generated) = match &config.bootstrap_password {
            Some(p) => (p.clone(), false),
            None => (format!("wr-{}", uuid::Uuid::new_v4().simple()), true),
        };
        session::check_password(&password)?;
        let row = OperatorRow {
            id: format!("op_{}", uuid::Uuid::new_v4().simple()),
            email: email.clone(),
            password_hash: session::hash_password(password.clone()).await?,
            role: Role::Owner.as_str().to_owned(),
            created_at: now_ms() as i64,
            session_epoch: 0,
        };
        // Several processes may start at once: only the one whose insert
        // lands announces the account.
        if self.db.operators().insert(&row).await? {
            if generated {
                // Printed once, on purpose: this is how the first owner logs in.
                println!("operator account created: {email} / password {password}");
            }
            let after = serde_json::json!({"email": email, "role": "owner"});
            let target = format!("operator:{}", row.id);
            audit::record_as(
                self,
                "bootstrap",
                "operator.create",
                &target,
                None,
                Some(after),
            )
            .await?;
        }
        Ok(())
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Parses a JSON body (see `queue::api::json_object`): malformed JSON is
/// 400, a wrong shape 422.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    queue::api::json_object(body).map_err(|e| match e {
        queue::api::BodyError::Syntax(e) => AdminError::BadJson(e.to_string()),
        queue::api::BodyError::Shape(why) => AdminError::invalid("body", why),
    })
}

/// Routes under `/api/v1/admin`, each handler's `#[utoipa::path]` giving
/// its path, method and documentation; `guard` (when given) wraps all but
/// login and logout.
fn routes(guard: Option<AdminApi>) -> OpenApiRouter<AdminApi> {
    let protected = OpenApiRouter::new()
        .routes(routes!(session::me))
        .routes(routes!(audit::list))
        .routes(routes!(accounts::list_operators, accounts::create_operator))
        .routes(routes!(
            accounts::change_operator,
            accounts::delete_operator
        ))
        .routes(routes!(accounts::list_keys, accounts::create_key))
        .routes(routes!(accounts::revoke_key))
        .routes(routes!(sales::list, events::create))
        .routes(routes!(
            queue_settings::replace,
            queue_settings::change,
            queue_settings::show,
            queue_settings::remove
        ))
        .routes(routes!(sales::show, sales::edit))
        .routes(routes!(sales::replace_seat_map))
        .routes(routes!(sales::publish))
        .routes(routes!(sales::cancel))
        .routes(routes!(sales::report))
        .routes(routes!(sales::orders_csv))
        .routes(routes!(checkins::csv))
        .routes(routes!(live::live))
        .routes(routes!(analytics::http::json))
        .routes(routes!(analytics::http::csv))
        .routes(routes!(queue_settings::control))
        .routes(routes!(announce::show, announce::set, announce::clear))
        .routes(routes!(look::show, look::set))
        .routes(routes!(look::set_logo, look::remove_logo))
        .routes(routes!(door::reissue));
    // Door staff reach only these, behind their own guard.
    let door = OpenApiRouter::new()
        .routes(routes!(door::check_in))
        .routes(routes!(door::sync))
        .routes(routes!(door::offline));
    let (protected, door) = match guard {
        Some(state) => (
            protected.route_layer(from_fn_with_state(state.clone(), auth::guard)),
            door.route_layer(from_fn_with_state(state, auth::door_guard)),
        ),
        None => (protected, door),
    };
    OpenApiRouter::new()
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .merge(protected)
        .merge(door)
}

/// Routes under `/api/v1/admin`.
pub fn router(state: AdminApi) -> Router {
    routes(Some(state.clone()))
        .split_for_parts()
        .0
        .with_state(state)
}

/// The operator API's operations, as [`router`] serves them.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes(None).into_openapi()
}
