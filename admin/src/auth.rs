//! Who is calling, and may they? Enforced in one place.
//!
//! Every protected route sits behind [`guard`], a layer that authenticates
//! the caller (session cookie, session JWT, API key or the operator key),
//! refuses cookie-authenticated requests from other origins (`origin`),
//! and applies the default rule: reads (`GET`) need `viewer`, everything
//! else `operator`. So a handler that forgets to ask still cannot be used
//! by the wrong role. Handlers that need more (account management needs
//! `owner`) take the [`Owner`] extractor; [`Viewer`] and [`OperatorRole`]
//! exist so a handler can name the actor it acts as (for the audit log).

use crate::error::{AdminError, Result};
use crate::AdminApi;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Name of the dashboard's HttpOnly session cookie.
pub const SESSION_COOKIE: &str = "wr_admin";

/// SHA-256 of a key; keys are compared and stored as digests.
pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Roles, cumulative in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Runs sales: queue settings, live controls, events.
    Operator,
    /// Also manages operators and API keys.
    Owner,
}

impl Role {
    /// Wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Owner => "owner",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "operator" => Some(Self::Operator),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// Stable label for logs and the audit log (`operator:<email>`, …).
    pub label: String,
    /// What they may do.
    pub role: Role,
    /// `session`, `api_key` or `admin_token`.
    pub via: &'static str,
    /// The operator account, for sessions.
    pub operator_id: Option<String>,
}

/// The credential presented: a bearer value, else the session cookie; and
/// whether it came from the cookie (which a browser attaches on its own,
/// so such requests get the cross-origin checks of `origin`).
fn presented(parts: &Parts) -> Option<(String, bool)> {
    if let Some(bearer) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some((bearer.trim().to_owned(), false));
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| (value.to_owned(), true))
}

/// The operator behind a validly signed session token whose epoch is
/// still the account's; `None` when `token` is not such a session.
async fn session(api: &AdminApi, token: &str) -> Result<Option<Actor>> {
    let Some(claims) = api.sessions.verify(token) else {
        return Ok(None);
    };
    // The account is read on every request so that a role change, a
    // deletion or a new epoch (logout, password change) takes effect at
    // once, on every process, not when the session expires.
    let Some(row) = api.db.operators().by_id(&claims.sub).await? else {
        return Ok(None);
    };
    if row.session_epoch != claims.epoch {
        return Ok(None);
    }
    let Some(role) = Role::parse(&row.role) else {
        return Ok(None);
    };
    Ok(Some(Actor {
        label: format!("operator:{}", row.email),
        role,
        via: "session",
        operator_id: Some(row.id),
    }))
}

/// The current session presented with the request, and whether it came
/// from the cookie; `None` without one (logout uses this).
pub(crate) async fn session_actor(api: &AdminApi, parts: &Parts) -> Result<Option<(Actor, bool)>> {
    let Some((token, from_cookie)) = presented(parts) else {
        return Ok(None);
    };
    Ok(session(api, &token).await?.map(|a| (a, from_cookie)))
}

/// The operator key or an API key.
async fn key(api: &AdminApi, token: &str) -> Result<Option<Actor>> {
    let hashed = digest(token);
    // The core issue's operator key acts as an owner API key.
    if bool::from(hashed.ct_eq(&api.api_key_sha256)) {
        return Ok(Some(Actor {
            label: "admin_token".to_owned(),
            role: Role::Owner,
            via: "admin_token",
            operator_id: None,
        }));
    }
    let Some(key) = api.db.api_keys().by_digest(&hex::encode(hashed)).await? else {
        return Ok(None);
    };
    Ok(Role::parse(&key.role).map(|role| Actor {
        label: format!("api_key:{}", key.name),
        role,
        via: "api_key",
        operator_id: None,
    }))
}

/// Resolves a credential to an actor, or `Unauthenticated`.
///
/// A validly signed session cannot be a guess, so it is not counted; any
/// other credential is counted against its client address before it is
/// checked (see `throttle`), and refused with 429 once that address has
/// failed too often.
pub async fn authenticate(api: &AdminApi, parts: &Parts) -> Result<Actor> {
    let (token, from_cookie) = presented(parts).ok_or(AdminError::Unauthenticated)?;
    let actor = credential(api, parts, &token).await?;
    // Only a credential that works is worth the cookie's extra checks: a
    // bad one is refused as unauthenticated whatever the request carries.
    if from_cookie {
        crate::origin::check_cookie_request(parts, &api.origin)?;
    }
    Ok(actor)
}

/// The actor a session, the operator key or an API key names.
async fn credential(api: &AdminApi, parts: &Parts, token: &str) -> Result<Actor> {
    if api.sessions.verify(token).is_some() {
        return session(api, token)
            .await?
            .ok_or(AdminError::Unauthenticated);
    }
    let ip = (api.client_ip)(parts);
    let attempt = api.throttle.bearer(ip).map_err(AdminError::Throttled)?;
    match key(api, token).await {
        Ok(Some(actor)) => {
            api.throttle.settle(attempt, true);
            Ok(actor)
        }
        Ok(None) => {
            api.throttle.settle(attempt, false);
            tracing::info!(ip = ?ip, "failed operator API authentication");
            Err(AdminError::Unauthenticated)
        }
        Err(e) => {
            api.throttle.give_back(attempt);
            Err(e)
        }
    }
}

/// The layer on every protected route: authenticates, applies the default
/// role by method, and hands the [`Actor`] to the handler's extractor.
pub async fn guard(State(api): State<AdminApi>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let actor = match authenticate(&api, &parts).await {
        Ok(actor) => actor,
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    let needed = if parts.method == Method::GET || parts.method == Method::HEAD {
        Role::Viewer
    } else {
        Role::Operator
    };
    if actor.role < needed {
        let e = AdminError::Forbidden(needed.as_str());
        return axum::response::IntoResponse::into_response(e);
    }
    parts.extensions.insert(actor);
    next.run(Request::from_parts(parts, body)).await
}

/// The actor the guard authenticated (re-authenticates when a route was
/// mounted without the guard, so it can never run unauthenticated).
async fn actor(parts: &mut Parts, api: &AdminApi) -> Result<Actor> {
    match parts.extensions.get::<Actor>() {
        Some(a) => Ok(a.clone()),
        None => authenticate(api, parts).await,
    }
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Actor);

        impl FromRequestParts<AdminApi> for $name {
            type Rejection = AdminError;

            async fn from_request_parts(parts: &mut Parts, api: &AdminApi) -> Result<Self> {
                let actor = actor(parts, api).await?;
                if actor.role < $role {
                    return Err(AdminError::Forbidden($role.as_str()));
                }
                Ok(Self(actor))
            }
        }
    };
}

role_extractor!(
    /// Any authenticated caller (read-only routes).
    Viewer,
    Role::Viewer
);
role_extractor!(
    /// An operator or owner (changes sales and queues).
    OperatorRole,
    Role::Operator
);
role_extractor!(
    /// An owner (manages operators and API keys).
    Owner,
    Role::Owner
);
