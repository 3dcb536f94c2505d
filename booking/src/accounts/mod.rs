//! Customer accounts: register with a password, prove the email is yours
//! through an emailed link (`register.rs`), then log in for a signed
//! session token (HS256 JWT) that shows and cancels your orders.
//!
//! An order is reachable through an account only once that account has
//! verified the email the order belongs to: otherwise anyone registering a
//! buyer's address would see (and cancel) that buyer's guest orders.
//! Passwords are hashed (argon2id) on the bounded hashing pool
//! (`crate::password`, shared with operator logins) so a flood of logins
//! neither stalls the async workers nor grows memory without bound, and
//! every login runs one hash check whether or not the email is known, so
//! timing does not tell which emails exist.

pub mod mail;
mod register;

pub use register::{
    RegistrationView, VerifyRequest, MAIL_LIMIT, MAIL_WINDOW_MINUTES, VERIFY_HOURS,
};

use crate::admission::Credentials;
use crate::config::BookingConfig;
use crate::db::{CustomerRecord, Db, OrderRecord, OrderSummary};
use crate::error::{BookingError, Result};
use crate::payment::checkout::normalize_email;
use crate::state::now;
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;

/// How long a customer session lasts.
pub const SESSION_DAYS: i64 = 7;

/// Body of register and login.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    /// Email.
    #[schema(schema_with = queue::api::schemas::fields::customer_email)]
    pub email: String,
    /// Password (8 to 1024 characters when registering).
    #[schema(schema_with = queue::api::schemas::fields::password)]
    pub password: String,
    /// The page's language (`en`, `fr`, `de`, `es`, `ja`; others read as
    /// English): the account's emails are written in it. Without it, the
    /// request's `Accept-Language` decides.
    #[serde(default)]
    #[schema(schema_with = queue::api::schemas::fields::language)]
    pub lang: Option<String>,
}

/// Body of register: an email and the password it will sign in with.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Email.
    #[schema(schema_with = queue::api::schemas::fields::customer_email)]
    pub email: String,
    /// Password.
    #[schema(schema_with = queue::api::schemas::fields::new_password)]
    pub password: String,
    /// The page's language, as in [`AccountRequest::lang`].
    #[serde(default)]
    #[schema(schema_with = queue::api::schemas::fields::language)]
    pub lang: Option<String>,
}

impl From<NewAccount> for AccountRequest {
    fn from(n: NewAccount) -> Self {
        Self {
            email: n.email,
            password: n.password,
            lang: n.lang,
        }
    }
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

/// Answer of login and of a completed verification.
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

/// Checks the length rule of a new password.
fn check_password(password: &str) -> Result<()> {
    let len = password.chars().count();
    if (8..=1024).contains(&len) {
        Ok(())
    } else {
        Err(BookingError::validation(
            "password",
            "must be 8 to 1024 characters",
        ))
    }
}

/// argon2id of `password` (PHC string), on the bounded hashing pool
/// shared with operator logins (`crate::password`).
async fn hash_password(password: String) -> Result<String> {
    crate::password::hash(password).await
}

/// A hash of a random password with the same parameters as real ones:
/// checked when there is no stored hash, so an unknown email costs the
/// same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let password = uuid::Uuid::new_v4().to_string();
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Whether `password` matches `stored`; always runs one argon2 check, on
/// the bounded hashing pool.
async fn verify_password(password: String, stored: Option<String>) -> Result<bool> {
    let real = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
    let ok = crate::password::verify(stored, password).await?;
    Ok(real && ok)
}

/// The accounts service: registration, email verification, sign-in and
/// customer sessions.
#[derive(Clone)]
pub struct Accounts {
    pub(crate) config: Arc<BookingConfig>,
    pub(crate) db: Db,
    /// HMAC key of customer session tokens.
    pub(crate) session_key: Arc<[u8]>,
    /// Wakes the email worker when an email is queued.
    pub(crate) mail_wakeup: Arc<Notify>,
}

impl Accounts {
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

    /// The session claims of a bearer token, checking only its signature
    /// and expiry (the edge's per-account place cap uses this; anything
    /// that grants access to orders uses [`Accounts::account_from`]).
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

    /// The verified account signed in with this request, if any. A session
    /// issued before the account's latest verification is refused: that
    /// drops sessions of passwords set before verification existed, and of
    /// the password a completed re-registration replaced.
    pub async fn account_from(&self, creds: &Credentials) -> Result<Option<CustomerRecord>> {
        let Some(claims) = self.customer_from(creds) else {
            return Ok(None);
        };
        let customer = self.db.customers().by_id(&claims.sub).await?;
        Ok(customer.filter(|c| {
            c.is_verified_account()
                && c.email_verified_at
                    .is_some_and(|at| claims.iat >= at.timestamp())
        }))
    }

    /// Whether this request's verified account owns `order`.
    pub async fn account_owns(&self, order: &OrderRecord, creds: &Credentials) -> Result<bool> {
        Ok(self
            .account_from(creds)
            .await?
            .is_some_and(|c| c.id == order.customer_id))
    }

    /// An order checked out while signed in belongs to that account, even
    /// when the confirmation goes to another address.
    pub async fn claim_for_account(&self, order: &OrderRecord, creds: &Credentials) -> Result<()> {
        if let Some(account) = self.account_from(creds).await? {
            if account.id != order.customer_id {
                self.db
                    .customers()
                    .assign_order(&order.id, &account.id)
                    .await?;
            }
        }
        Ok(())
    }

    /// Checks a password and returns a session. Unknown email and wrong
    /// password answer the same; the right password of an email not yet
    /// verified answers 403 `email_unverified` and mails a fresh link.
    pub async fn login(&self, req: &AccountRequest) -> Result<SessionView> {
        const WRONG: BookingError = BookingError::Unauthorized("wrong email or password");
        let email = normalize_email(&req.email).map_err(|_| WRONG)?;
        let customer = self.db.customers().by_email(&email).await?;
        let account = customer.as_ref().filter(|c| c.is_verified_account());
        let stored = match account {
            Some(c) => c.password_hash.clone(),
            // Not an account yet: the newest pending registration's
            // password, else one set before verification existed.
            None => match self
                .db
                .customers()
                .latest_verification(&email, now())
                .await?
            {
                Some(pending) => Some(pending.password_hash),
                None => customer.as_ref().and_then(|c| c.password_hash.clone()),
            },
        };
        if !verify_password(req.password.clone(), stored.clone()).await? {
            return Err(WRONG);
        }
        match (account, stored) {
            (Some(c), _) => self.issue_session(&c.id, &c.email),
            (None, Some(hash)) => {
                let lang = crate::email::i18n::Lang::from_tag(req.lang.as_deref().unwrap_or(""));
                Err(self.resend_verification(&email, hash, lang).await?)
            }
            (None, None) => Err(WRONG),
        }
    }

    /// The signed-in customer's orders.
    pub async fn my_orders(&self, creds: &Credentials) -> Result<Vec<OrderSummary>> {
        let account = self
            .account_from(creds)
            .await?
            .ok_or(BookingError::Unauthorized(
                "sign in first (Authorization: Bearer <session token>)",
            ))?;
        self.db.orders().orders_for_customer(&account.id).await
    }
}
