//! Registration and email verification.
//!
//! Registering never reveals whether the email has an account: both cases
//! hash the password, spend the address's mail budget, queue one mail and
//! answer 202 with the same body. A new address gets a link; the owner of
//! an existing account gets a notice that someone tried to register.
//!
//! The password chosen at registration waits with the link and becomes the
//! account's only when the link is used together with that password, so
//! neither a stranger registering your address nor you clicking a link you
//! did not ask for hands your orders to someone else.

use super::Accounts;
use super::{check_password, hash_password, mail, verify_password, AccountRequest, SessionView};
use crate::db::{MailBudget, VerificationRecord};
use crate::email::i18n::Lang;
use crate::error::{BookingError, Result};
use crate::payment::checkout::normalize_email;
use crate::state::now;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A verification link works for this long.
pub const VERIFY_HOURS: i64 = 24;
/// Account mails (links and notices) one address receives per window.
pub const MAIL_LIMIT: i64 = 3;
/// The window of [`MAIL_LIMIT`].
pub const MAIL_WINDOW_MINUTES: i64 = 60;

/// Answer of `POST /auth/register`, the same whether or not the email
/// already has an account.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationView {
    /// Always `verification_sent`.
    pub status: &'static str,
    /// The normalized email.
    pub email: String,
    /// What to do next.
    pub message: &'static str,
}

/// Body of `POST /auth/verify`: the token from the emailed link and the
/// password chosen when registering.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The token after `#verify=` in the link.
    #[schema(schema_with = queue::api::schemas::fields::link_token)]
    pub token: String,
    /// The password given at registration.
    #[schema(schema_with = queue::api::schemas::fields::password)]
    pub password: String,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Accounts {
    /// Starts a registration (see the module docs).
    pub async fn register(&self, req: &AccountRequest) -> Result<RegistrationView> {
        let email = normalize_email(&req.email)?;
        check_password(&req.password)?;
        self.spend_mail_budget(&email).await?;
        let hash = hash_password(req.password.clone()).await?;
        let existing = self.db.customers().by_email(&email).await?;
        let lang = Lang::from_tag(req.lang.as_deref().unwrap_or(""));
        if existing.is_some_and(|c| c.is_verified_account()) {
            let notice = mail::register_attempt(&email, &self.config.public_base_url, lang);
            self.db.outbox().enqueue(&notice, now()).await?;
        } else {
            self.send_verification(&email, hash, lang).await?;
        }
        self.mail_wakeup.notify_one();
        Ok(RegistrationView {
            status: "verification_sent",
            email,
            message: "check your inbox: we sent a link to finish signing up \
                      (or, if you already have an account, a note about it)",
        })
    }

    /// Completes a registration: the link's token and its password make
    /// the email an account; answers a session.
    pub async fn verify_email(&self, req: &VerifyRequest) -> Result<SessionView> {
        let token = req.token.trim();
        let well_formed = token.len() == 43
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(BookingError::validation(
                "token",
                "must be the 43 characters after `#verify=` in the emailed link",
            ));
        }
        let hash = token_hash(token);
        let pending = self
            .db
            .customers()
            .verification(&hash, now())
            .await?
            .ok_or(BookingError::UnknownLink)?;
        if !verify_password(req.password.clone(), Some(pending.password_hash)).await? {
            return Err(BookingError::Unauthorized(
                "wrong password: use the one you chose when registering",
            ));
        }
        let id = format!("cus_{}", uuid::Uuid::new_v4().simple());
        let welcome = super::mail::welcome(
            &pending.email,
            &self.config.public_base_url,
            Lang::from_tag(&pending.lang),
        );
        let customer = self
            .db
            .customers()
            .complete_verification(&hash, &id, now(), &welcome)
            .await?
            .ok_or(BookingError::UnknownLink)?;
        self.mail_wakeup.notify_one();
        tracing::info!(customer = %customer.id, "email verified");
        self.issue_session(&customer.id, &customer.email)
    }

    /// 429 once this address has had its account mails for the window.
    async fn spend_mail_budget(&self, email: &str) -> Result<()> {
        let budget = self
            .db
            .customers()
            .spend_mail_budget(
                email,
                MAIL_LIMIT,
                chrono::Duration::minutes(MAIL_WINDOW_MINUTES),
                now(),
            )
            .await?;
        match budget {
            MailBudget::Send => Ok(()),
            MailBudget::Exhausted { retry_after } => Err(BookingError::RateLimited { retry_after }),
        }
    }

    /// Stores a pending registration with `password_hash` and queues its
    /// link. The token itself exists only in the mail.
    async fn send_verification(
        &self,
        email: &str,
        password_hash: String,
        lang: Lang,
    ) -> Result<()> {
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let token = URL_SAFE_NO_PAD.encode(raw);
        let at = now();
        let pending = VerificationRecord {
            token_hash: token_hash(&token),
            email: email.to_owned(),
            password_hash,
            created_at: at,
            expires_at: at + chrono::Duration::hours(VERIFY_HOURS),
            lang: lang.code().to_owned(),
        };
        let link = format!(
            "{}/account.html#verify={token}",
            self.config.public_base_url.trim_end_matches('/')
        );
        let letter = mail::verify_link(email, &link, VERIFY_HOURS, lang);
        self.db
            .customers()
            .add_verification(&pending, &letter)
            .await
    }

    /// After the right password of an unverified email: a fresh link
    /// (within the mail budget), and the error that says so.
    pub(super) async fn resend_verification(
        &self,
        email: &str,
        password_hash: String,
        lang: Lang,
    ) -> Result<BookingError> {
        let message = match self.spend_mail_budget(email).await {
            Ok(()) => {
                self.send_verification(email, password_hash, lang).await?;
                self.mail_wakeup.notify_one();
                "confirm your email first: we sent you a new link"
            }
            Err(BookingError::RateLimited { .. }) => {
                "confirm your email first with the link we sent you recently"
            }
            Err(e) => return Err(e),
        };
        Ok(BookingError::EmailUnverified(message))
    }
}
