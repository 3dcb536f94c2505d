//! Operator sessions: `POST /api/v1/admin/login` checks an argon2id
//! password and issues an HS256 JWT, both as the dashboard's HttpOnly
//! cookie and in the body for scripts. Wrong passwords get one uniform 401
//! and, after a few, a growing wait per account and per client address, so
//! guessing is slow and reveals nothing about which accounts exist.

use crate::auth::{Actor, Viewer, SESSION_COOKIE};
use crate::error::{AdminError, Result};
use crate::{now_ms, AdminApi};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session lasts: one sale day.
pub const SESSION_TTL_SECONDS: u64 = 12 * 3600;

/// Session claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Operator id.
    pub sub: String,
    /// Issued at (s).
    pub iat: u64,
    /// Expiry (s).
    pub exp: u64,
    /// Audience, so no other HS256 token of ours is accepted here.
    pub aud: String,
}

const AUDIENCE: &str = "waitroom-admin";

/// Signs and verifies session tokens with a key derived from the operator
/// key, which every process of a deployment already shares; rotating the
/// operator key therefore ends every session.
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
    /// Keys derived from `secret`.
    pub fn new(secret: &str) -> Self {
        let key = crate::auth::digest(&format!("waitroom admin session v1\0{secret}"));
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
        }
    }

    /// A session token for `operator_id`.
    pub fn issue(&self, operator_id: &str) -> Result<(String, u64)> {
        let iat = now_ms() / 1000;
        let claims = Claims {
            sub: operator_id.to_owned(),
            iat,
            exp: iat + SESSION_TTL_SECONDS,
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AdminError::Internal(format!("signing a session: {e}")))?;
        Ok((token, claims.exp * 1000))
    }

    /// The claims of a valid, unexpired token; `None` for anything else
    /// (including API keys, which are not JWTs).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[AUDIENCE]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }
}

/// Wrong-password counters per account and per client address.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Free attempts before the wait starts: per account, and per address
/// (higher, since many operators may share an office NAT).
const FREE_PER_ACCOUNT: u32 = 3;
const FREE_PER_IP: u32 = 10;
/// The wait doubles per failure up to this.
const MAX_WAIT: Duration = Duration::from_secs(300);

impl Throttle {
    fn keys(email: &str, ip: Option<IpAddr>) -> [(String, u32); 2] {
        let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        [
            (format!("account:{email}"), FREE_PER_ACCOUNT),
            (format!("ip:{ip}"), FREE_PER_IP),
        ]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seconds until a login for `email` from `ip` may be tried again.
    fn wait(&self, email: &str, ip: Option<IpAddr>) -> Option<u64> {
        let now = Instant::now();
        let map = self.lock();
        Self::keys(email, ip)
            .iter()
            .filter_map(|(k, _)| map.get(k))
            .filter(|(_, until)| *until > now)
            .map(|(_, until)| (*until - now).as_secs() + 1)
            .max()
    }

    fn failed(&self, email: &str, ip: Option<IpAddr>) {
        let now = Instant::now();
        let mut map = self.lock();
        // Bound memory under a spray of made-up emails: forget old entries.
        if map.len() > 100_000 {
            map.retain(|_, (_, until)| *until > now);
        }
        for (key, free) in Self::keys(email, ip) {
            let entry = map.entry(key).or_insert((0, now));
            entry.0 += 1;
            if entry.0 >= free {
                let doublings = (entry.0 - free).min(16);
                entry.1 = now + Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
            }
        }
    }

    fn succeeded(&self, email: &str) {
        self.lock().remove(&format!("account:{email}"));
    }
}

/// Hashes a password with argon2id (off the async threads: it is slow on
/// purpose).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?
    .map_err(|e| AdminError::Internal(e.to_string()))
}

/// Checks a password; an unknown account is checked against a dummy hash
/// so both cases take the same time.
async fn verify_password(stored: Option<String>, password: String, dummy: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or(dummy);
        let ok = PasswordHash::new(&phc)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        known && ok
    })
    .await
    .unwrap_or(false)
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
    let email = email.trim().to_lowercase();
    if email.len() > 254 || !email.contains('@') || email.contains(char::is_whitespace) {
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

/// `POST /api/v1/admin/login`.
pub async fn login(
    State(api): State<AdminApi>,
    ClientAddr(ip): ClientAddr,
    body: axum::body::Bytes,
) -> Result<Response> {
    let req: LoginRequest = crate::parse_json(&body)?;
    // A malformed email is just a wrong login: same answer, same counters.
    let email = req.email.trim().to_lowercase();
    if let Some(secs) = api.throttle.wait(&email, ip) {
        return Err(AdminError::Throttled(secs));
    }
    let row = api.db.operators().by_email(&email).await?;
    let stored = row.as_ref().map(|r| r.password_hash.clone());
    if !verify_password(stored, req.password, api.dummy_hash.to_string()).await {
        api.throttle.failed(&email, ip);
        tracing::info!(ip = ?ip, "failed operator login");
        return Err(AdminError::Unauthenticated);
    }
    let row = row.ok_or(AdminError::Unauthenticated)?;
    api.throttle.succeeded(&email);
    let (token, expires_at) = api.sessions.issue(&row.id)?;
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

/// `POST /api/v1/admin/logout`: clears the cookie. Session JWTs are not
/// tracked server-side; they end at expiry, when the account is deleted,
/// or when the operator key is rotated.
pub async fn logout(State(api): State<AdminApi>) -> Response {
    let cookie = format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if api.secure_cookies { "; Secure" } else { "" }
    );
    (
        [(header::SET_COOKIE, cookie)],
        axum::http::StatusCode::NO_CONTENT,
    )
        .into_response()
}

/// `GET /api/v1/admin/me`: who the credential belongs to.
pub async fn me(Viewer(actor): Viewer) -> Json<Actor> {
    Json(actor)
}
