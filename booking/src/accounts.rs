//! Customer accounts: register and log in with a password (argon2id,
//! hashed on the blocking pool so it never stalls the async workers), and
//! a signed session token (HS256 JWT) for `GET /me/orders`.

use crate::admission::Credentials;
use crate::db::OrderSummary;
use crate::error::{BookingError, Result};
use crate::payment::checkout::normalize_email;
use crate::state::{now, AppState};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use queue::api::ErrorCode;
use serde::{Deserialize, Serialize};

/// How long a customer session lasts.
pub const SESSION_DAYS: i64 = 7;

/// Body of register and login.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    /// Email.
    pub email: String,
    /// Password (8 to 1024 characters).
    pub password: String,
}

/// Session token claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Customer id.
    pub sub: String,
    /// Email.
    pub email: String,
    /// Issued at.
    pub iat: i64,
    /// Expires.
    pub exp: i64,
    /// Always `session`, so an admission token is never taken for one.
    pub typ: String,
}

/// Answer of register and login.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// Customer id.
    pub customer_id: String,
    /// Email.
    pub email: String,
    /// `Authorization: Bearer` value for `/me/…`.
    pub token: String,
    /// Expiry.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BookingError::internal(format!("hashing task: {e}")))
}

impl AppState {
    fn issue_session(&self, customer_id: &str, email: &str) -> Result<SessionView> {
        let iat = now();
        let exp = iat + chrono::Duration::days(SESSION_DAYS);
        let claims = SessionClaims {
            sub: customer_id.to_owned(),
            email: email.to_owned(),
            iat: iat.timestamp(),
            exp: exp.timestamp(),
            typ: "session".to_owned(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.session_key),
        )
        .map_err(BookingError::internal)?;
        Ok(SessionView {
            customer_id: customer_id.to_owned(),
            email: email.to_owned(),
            token,
            expires_at: exp,
        })
    }

    /// The signed-in customer, if the bearer token is a valid session.
    pub fn customer_from(&self, creds: &Credentials) -> Option<SessionClaims> {
        let token = creds.bearer.as_deref()?;
        let validation = Validation::new(Algorithm::HS256);
        let data = jsonwebtoken::decode::<SessionClaims>(
            token,
            &DecodingKey::from_secret(&self.session_key),
            &validation,
        )
        .ok()?;
        (data.claims.typ == "session").then_some(data.claims)
    }

    /// Creates an account (or sets the password of a customer who bought
    /// without one).
    pub async fn register(&self, req: &AccountRequest) -> Result<SessionView> {
        let email = normalize_email(&req.email)?;
        let len = req.password.chars().count();
        if !(8..=1024).contains(&len) {
            return Err(BookingError::validation(
                "password",
                "must be 8 to 1024 characters",
            ));
        }
        let password = req.password.clone();
        let hash = blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await?
        .map_err(BookingError::internal)?;
        let id = format!("cus_{}", uuid::Uuid::new_v4().simple());
        if !self
            .db
            .customers()
            .register(&id, &email, &hash, now())
            .await?
        {
            return Err(BookingError::Conflict {
                code: ErrorCode::EmailTaken,
                message: "an account with this email exists; log in instead".to_owned(),
            });
        }
        let customer = self
            .db
            .customers()
            .by_email(&email)
            .await?
            .ok_or_else(|| BookingError::internal("customer vanished"))?;
        self.issue_session(&customer.id, &email)
    }

    /// Checks a password and returns a session.
    pub async fn login(&self, req: &AccountRequest) -> Result<SessionView> {
        const WRONG: BookingError = BookingError::Unauthorized("wrong email or password");
        let email = normalize_email(&req.email).map_err(|_| WRONG)?;
        let customer = self.db.customers().by_email(&email).await?;
        let stored = customer.as_ref().and_then(|c| c.password_hash.clone());
        let password = req.password.clone();
        let ok = blocking(move || {
            let Some(stored) = stored else { return false };
            PasswordHash::new(&stored)
                .map(|h| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await?;
        match customer {
            Some(c) if ok => self.issue_session(&c.id, &c.email),
            _ => Err(WRONG),
        }
    }

    /// The signed-in customer's orders.
    pub async fn my_orders(&self, creds: &Credentials) -> Result<Vec<OrderSummary>> {
        let claims = self.customer_from(creds).ok_or(BookingError::Unauthorized(
            "sign in first (Authorization: Bearer <session token>)",
        ))?;
        self.db.orders().orders_for_customer(&claims.sub).await
    }
}
