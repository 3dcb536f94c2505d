//! Rows of customer accounts and their email verification.

use chrono::{DateTime, Utc};

/// A customer row: made by a guest checkout (no password) or by a
/// completed registration (password and `email_verified_at`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRecord {
    /// Id.
    pub id: String,
    /// Lowercased email.
    pub email: String,
    /// argon2id PHC string, if a password was ever set.
    pub password_hash: Option<String>,
    /// When the owner proved the email is theirs; `None` means this row is
    /// not an account (a guest, or a password set before verification).
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl CustomerRecord {
    /// Whether this row is a signed-in-able account.
    pub fn is_verified_account(&self) -> bool {
        self.email_verified_at.is_some() && self.password_hash.is_some()
    }
}

/// A registration waiting for its emailed link.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VerificationRecord {
    /// SHA-256 (hex) of the link's token.
    pub token_hash: String,
    /// Lowercased email it would verify.
    pub email: String,
    /// The password chosen at registration (argon2id PHC string).
    pub password_hash: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Unusable after this.
    pub expires_at: DateTime<Utc>,
    /// The page's language at registration (`en`, `fr`, …): the welcome
    /// is written in it.
    pub lang: String,
}

/// Outcome of counting one account mail against an address's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailBudget {
    /// Within the budget: send.
    Send,
    /// Over it: send nothing until the window ends, in this many seconds.
    Exhausted {
        /// Seconds until the window ends.
        retry_after: u64,
    },
}
