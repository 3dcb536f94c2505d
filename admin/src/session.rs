//! Operator sessions: `POST /api/v1/admin/login` checks an argon2id
//! password and issues an HS256 JWT, both as the dashboard's HttpOnly
//! cookie and in the body for scripts. Wrong passwords get one uniform 401
//! and, after a few, a wait (see `throttle`), so guessing is slow and
//! reveals nothing about which accounts exist. Every login, failure and
//! lockout is in the audit log.
//!
//! A session names its operator's session epoch; logout, a password or
//! role change and deletion move the epoch on (in the database, so every
//! process agrees), which ends every session issued before.

use crate::auth::{Actor, Viewer, SESSION_COOKIE};
use crate::error::{hashing, AdminError, Result};
use crate::store::OperatorRow;
use crate::{audit, now_ms, AdminApi};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use queue::api::schemas;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// How long a session lasts: one sale day.
pub const SESSION_TTL_SECONDS: u64 = 12 * 3600;

/// Session claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Operator id.
    pub sub: String,
    /// The operator's session epoch at issue; required, so tokens from
    /// before epochs existed are refused.
    pub epoch: i64,
    /// Issued at (s).
    pub iat: u64,
    /// Expiry (s).
    pub exp: u64,
    /// Audience, so no other HS256 token of ours is accepted here.
    pub aud: String,
}

const AUDIENCE: &str = "waitroom-admin";

/// Signs and verifies session tokens.
///
/// The key mixes a 32-byte secret generated once and kept in the records
/// database (so it is strong even where the operator key is not, and every
/// process shares it) with the operator key (so a copy of the database
/// alone cannot forge sessions, and rotating the operator key still ends
/// every session).
pub struct Sessions {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions { .. }")
    }
}

impl Sessions {
    /// Keys derived from the stored secret and the operator key.
    pub fn new(stored_secret: &str, operator_key: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"waitroom admin session v2\0");
        h.update(stored_secret.as_bytes());
        h.update(b"\0");
        h.update(operator_key.as_bytes());
        let key: [u8; 32] = h.finalize().into();
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
        }
    }

    /// A session token for `operator_id` under `epoch`.
    pub fn issue(&self, operator_id: &str, epoch: i64) -> Result<(String, u64)> {
        let iat = now_ms() / 1000;
        let claims = Claims {
            sub: operator_id.to_owned(),
            epoch,
            iat,
            exp: iat + SESSION_TTL_SECONDS,
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AdminError::Internal(format!("signing a session: {e}")))?;
        Ok((token, claims.exp * 1000))
    }

    /// The claims of a validly signed, unexpired token; `None` for anything
    /// else (including API keys, which are not JWTs). Whether its epoch is
    /// still current is for the caller to check against the account.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[AUDIENCE]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }
}

/// Hashes a password with argon2id, within the process-wide bound on
/// concurrent hashing (a busy hasher is a 429).
pub async fn hash_password(password: String) -> Result<String> {
    booking::password::hash(password).await.map_err(hashing)
}

/// Checks a password; an unknown account is checked against a dummy hash
/// so both cases take the same time.
async fn verify_password(stored: Option<String>, password: String, dummy: &str) -> Result<bool> {
    let known = stored.is_some();
    let phc = stored.unwrap_or_else(|| dummy.to_owned());
    let ok = booking::password::verify(phc, password)
        .await
        .map_err(hashing)?;
    Ok(known && ok)
}

/// Checks a new password's length (the only rule: long passphrases welcome).
pub fn check_password(password: &str) -> Result<()> {
    let len = password.chars().count();
    if !(8..=1024).contains(&len) {
        return Err(AdminError::invalid(
            "password",
            "must be 8 to 1024 characters",
        ));
    }
    Ok(())
}

/// Lowercases and sanity-checks an email.
pub fn normalize_email(email: &str) -> Result<String> {
    let too_long = email.chars().count() > 254;
    let email = email.trim().to_lowercase();
    if too_long || !email.contains('@') || email.contains(char::is_whitespace) {
        return Err(AdminError::invalid("email", "must be an email address"));
    }
    Ok(email)
}

/// Login body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// The client's address, as the gateway resolved it (trusted proxies).
pub struct ClientAddr(pub Option<IpAddr>);

impl axum::extract::FromRequestParts<AdminApi> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        api: &AdminApi,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(Self((api.client_ip)(parts)))
    }
}

/// What a login returns (the token also arrives as the cookie).
#[derive(Debug, Serialize)]
struct LoginResponse {
    token: String,
    expires_at: u64,
    operator: crate::store::OperatorRow,
}

/// Longest email kept in the audit log for a failed login (the body may
/// hold anything up to the request limit).
const AUDIT_EMAIL_MAX: usize = 254;

/// The audit target of a login: the account when it exists, else the
/// email as typed (truncated).
fn login_target(row: Option<&OperatorRow>, email: &str) -> String {
    match row {
        Some(r) => format!("operator:{}", r.id),
        None => format!(
            "login:{}",
            email.chars().take(AUDIT_EMAIL_MAX).collect::<String>()
        ),
    }
}

/// `POST /api/v1/admin/login`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/login",
    operation_id = "adminLogin",
    tag = "admin",
    summary = "Operator sign-in",
    description = "Returns an HS256 session JWT in the body (for scripts) and as the HttpOnly cookie `wr_admin` (for the dashboard). Sessions last 12 hours. Wrong credentials all get the same 401; repeated failures per account or client address wait, doubling up to 5 minutes (429).",
    request_body(content = schemas::AdminLoginRequest),
    responses(
        (status = 200, description = "The session.", body = schemas::AdminSession, headers(("Set-Cookie" = String, description = "`wr_admin=…; Path=/; HttpOnly; SameSite=Strict`."))),
        (status = 400, description = "`invalid_json`.", body = schemas::Error),
        (status = 401, description = "`unauthenticated`: invalid credentials.", body = schemas::Error),
        (status = 422, description = "`validation_failed` (`field`: `body`): fields missing or of the wrong type.", body = schemas::Error),
        (status = 429, description = "`too_many_attempts`: this account from this address, or this address, has failed too often, or every password-hashing slot is busy; wait `Retry-After` seconds.", body = schemas::Error, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
        (status = 500, response = schemas::Internal),
        (status = 403, description = "`forbidden_origin`: the login came from a page on another origin.", body = schemas::Error),
    )
)]
pub async fn login(
    State(api): State<AdminApi>,
    ClientAddr(ip): ClientAddr,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Result<Response> {
    // A hostile page must not sign the dashboard into another account.
    crate::origin::check_origin(&parts, &api.origin)?;
    let req: LoginRequest = crate::parse_json(&body)?;
    // A malformed email is just a wrong login: same answer, same counters.
    let email = req.email.trim().to_lowercase();
    let attempt = api
        .throttle
        .login(&email, ip)
        .map_err(AdminError::Throttled)?;
    if !attempt.delay.is_zero() {
        tokio::time::sleep(attempt.delay).await;
    }
    let checked = async {
        let row = api.db.operators().by_email(&email).await?;
        let stored = row.as_ref().map(|r| r.password_hash.clone());
        let ok = verify_password(stored, req.password, &api.dummy_hash).await?;
        Ok::<_, AdminError>((row, ok))
    }
    .await;
    let ip_json = json!(ip.map(|ip| ip.to_string()));
    let row = match checked {
        Err(e) => {
            api.throttle.give_back(attempt);
            return Err(e);
        }
        Ok((row, false)) | Ok((row @ None, _)) => {
            let target = login_target(row.as_ref(), &email);
            let locks = attempt.locks.clone();
            api.throttle.settle(attempt, false);
            tracing::info!(ip = ?ip, "failed operator login");
            let after = json!({"ip": ip_json});
            audit::record_as(
                &api,
                "anonymous",
                "operator.login_failed",
                &target,
                None,
                Some(after),
            )
            .await?;
            for (scope, seconds) in locks {
                let target = match scope {
                    crate::throttle::Scope::Address => {
                        format!("address:{}", ip_json.as_str().unwrap_or("unknown"))
                    }
                    _ => target.clone(),
                };
                let after = json!({"scope": scope.as_str(), "ip": ip_json, "seconds": seconds});
                audit::record_as(
                    &api,
                    "throttle",
                    "operator.lockout",
                    &target,
                    None,
                    Some(after),
                )
                .await?;
            }
            return Err(AdminError::Unauthenticated);
        }
        Ok((Some(row), true)) => row,
    };
    api.throttle.settle(attempt, true);
    let (token, expires_at) = api.sessions.issue(&row.id, row.session_epoch)?;
    let after = json!({"ip": ip_json});
    let label = format!("operator:{}", row.email);
    let target = format!("operator:{}", row.id);
    audit::record_as(&api, &label, "operator.login", &target, None, Some(after)).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL_SECONDS}{}",
        if api.secure_cookies { "; Secure" } else { "" }
    );
    let body = LoginResponse {
        token,
        expires_at,
        operator: row,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `POST /api/v1/admin/logout`: ends every session of the operator the
/// presented session belongs to (a new epoch) and clears the cookie.
/// Without a current session it only clears the cookie.
#[utoipa::path(
    post,
    path = "/api/v1/admin/logout",
    operation_id = "adminLogout",
    tag = "admin",
    summary = "End the operator's sessions and clear the cookie",
    description = "With a current session (bearer or cookie), moves its operator's session epoch on: every session of that operator ends, on every process. Without one, only clears the cookie. No request body; a cookie-authenticated logout must come from the dashboard's origin with `Content-Type: application/json`.",
    responses(
        (status = 204, description = "Cookie cleared.", headers(("Set-Cookie" = String, description = "`wr_admin=…; Path=/; HttpOnly; SameSite=Strict`."))),
        (status = 403, response = schemas::AdminForbidden),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        (status = 500, response = schemas::Internal),
    )
)]
pub async fn logout(
    State(api): State<AdminApi>,
    parts: axum::http::request::Parts,
) -> Result<Response> {
    let actor = match crate::auth::session_actor(&api, &parts).await? {
        Some((actor, from_cookie)) => {
            if from_cookie {
                crate::origin::check_cookie_request(&parts, &api.origin)?;
            }
            Some(actor)
        }
        None => None,
    };
    if let Some(actor) = actor {
        if let Some(id) = &actor.operator_id {
            api.db.operators().end_sessions(id).await?;
            let target = format!("operator:{id}");
            let after = json!({"sessions_ended": true});
            audit::record(&api, &actor, "operator.logout", &target, None, Some(after)).await?;
        }
    }
    let cookie = format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if api.secure_cookies { "; Secure" } else { "" }
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        axum::http::StatusCode::NO_CONTENT,
    )
        .into_response())
}

/// `GET /api/v1/admin/me`: who the credential belongs to.
#[utoipa::path(
    get,
    path = "/api/v1/admin/me",
    operation_id = "adminMe",
    tag = "admin",
    summary = "Who the credential belongs to",
    description = "Needs the `viewer` role.",
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The authenticated caller.", body = schemas::Actor),
        schemas::AdminErrors,
    )
)]
pub async fn me(Viewer(actor): Viewer) -> Json<Actor> {
    Json(actor)
}
