//! Booking settings. The gateway deserializes them (defaults, then a file,
//! then env vars) and hands them to [`crate::Booking::start`].

pub use queue::Secret;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Everything the booking service can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BookingConfig {
    /// `postgres://…` for production; unset means the embedded SQLite file
    /// `data_dir/waitroom.db`. May carry a password, hence a [`Secret`].
    pub database_url: Option<Secret>,
    /// Where the SQLite file and the default mail folder live.
    pub data_dir: PathBuf,
    /// With Redis, per-seat `SET NX PX` locks shed contention before the
    /// database (the database stays the authority).
    pub redis_url: Option<Secret>,
    /// How long a hold keeps its seats (default 10 minutes).
    pub hold_ttl_seconds: u64,
    /// Most seats (or GA places) one admission token may hold.
    pub max_seats_per_token: u32,
    /// Stripe secret key; set means Stripe is the payment provider.
    pub stripe_secret_key: Option<Secret>,
    /// Returned to the browser for Stripe.js.
    pub stripe_publishable_key: Option<String>,
    /// Verifies `Stripe-Signature` on webhooks.
    pub stripe_webhook_secret: Option<Secret>,
    /// Stripe API base URL; tests point it at a local stand-in.
    pub stripe_api_base: Option<String>,
    /// `smtp://…` or `smtps://…`; unset writes emails as files to `mail_dir`.
    pub smtp_url: Option<Secret>,
    /// Folder for emails when no SMTP server is configured
    /// (default `data_dir/mail`).
    pub mail_dir: Option<PathBuf>,
    /// `From:` of every email.
    pub mail_from: String,
    /// Production refuses the dev payment provider.
    pub production: bool,
    /// Base of links in emails and of the dev provider's confirm URL.
    pub public_base_url: String,
    /// HMAC key for customer session tokens; unset generates one per
    /// process (sessions then do not survive restarts; refused in production).
    pub session_secret: Option<Secret>,
    /// Create the `demo` event when the database has no events.
    pub seed_demo: bool,
    /// Connections in the PostgreSQL pool (SQLite uses one writer).
    pub db_max_connections: u32,
    /// Whether a hold on PostgreSQL is answered before or after its commit
    /// reaches the disk.
    pub hold_commit: HoldCommit,
    /// How often the sweeper looks for expired holds.
    pub sweep_interval_ms: u64,
    /// Ticket signing keys (`kid:seed,…`, the first signs). The gateway
    /// derives them from the admission signing keys when unset; a booking
    /// service built on its own generates one per process.
    pub ticket_keys: Option<Secret>,
    /// Hours before an event that its ticket holders get a reminder
    /// email; `0` sends none.
    pub reminder_hours: u64,
}

/// How a hold's transaction commits on PostgreSQL (SQLite always waits
/// for its write).
///
/// A hold is a reservation of a few minutes for which no money has moved.
/// With `async`, PostgreSQL answers a batch of holds once its commit is in
/// the WAL buffers and writes them to disk within a fraction of a second
/// (`synchronous_commit = off` on the hold workers' connections only). A
/// crash of PostgreSQL or its machine in that window loses those holds
/// whole, never part of one: their seats are free again, their admissions
/// unused, and their fans are told at checkout that the hold is gone. No
/// seat is sold twice, and no later step builds on a lost hold: checkout,
/// payments and releases commit on the main pool and wait for the disk,
/// and such a commit carries every earlier one with it. `flushed` waits
/// for the disk on every hold, at a lower rate of holds
/// (docs/benchmarks.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldCommit {
    /// Answered once committed in memory; on disk moments later.
    #[default]
    Async,
    /// Answered once on disk.
    Flushed,
}

impl Default for BookingConfig {
    fn default() -> Self {
        Self {
            database_url: None,
            data_dir: PathBuf::from("data"),
            redis_url: None,
            hold_ttl_seconds: 600,
            max_seats_per_token: 6,
            stripe_secret_key: None,
            stripe_publishable_key: None,
            stripe_webhook_secret: None,
            stripe_api_base: None,
            smtp_url: None,
            mail_dir: None,
            mail_from: "waitroom <tickets@localhost>".to_owned(),
            production: false,
            public_base_url: "http://localhost:8080".to_owned(),
            session_secret: None,
            seed_demo: true,
            db_max_connections: 20,
            hold_commit: HoldCommit::default(),
            sweep_interval_ms: 1000,
            ticket_keys: None,
            reminder_hours: 24,
        }
    }
}

impl BookingConfig {
    /// The database URL in effect.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("waitroom.db").display()
            ),
        }
    }

    /// The mail folder in effect.
    pub fn effective_mail_dir(&self) -> PathBuf {
        self.mail_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("mail"))
    }
}

/// The part of [`BookingConfig`] an operator tunes in the `[booking]`
/// section (`WAITROOM_BOOKING__…`). Backends, payments and mail are
/// top-level settings shared with the other roles; naming one here is an
/// error rather than a value silently replaced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BookingTuning {
    /// How long a hold keeps its seats.
    pub hold_ttl_seconds: u64,
    /// Most seats (or GA places) one admission token may hold.
    pub max_seats_per_token: u32,
    /// HMAC key for customer session tokens (required in production).
    pub session_secret: Option<Secret>,
    /// Connections in the PostgreSQL pool.
    pub db_max_connections: u32,
    /// Whether a hold waits for its commit to reach the disk.
    pub hold_commit: HoldCommit,
    /// How often the sweeper looks for expired holds.
    pub sweep_interval_ms: u64,
    /// Folder for emails when no SMTP server is configured.
    pub mail_dir: Option<PathBuf>,
    /// Ticket signing keys (`kid:seed,…`); derived from the signing keys
    /// when unset.
    pub ticket_keys: Option<Secret>,
    /// Hours before an event that its ticket holders are reminded; `0`
    /// sends no reminder.
    pub reminder_hours: u64,
}

impl Default for BookingTuning {
    fn default() -> Self {
        let base = BookingConfig::default();
        Self {
            hold_ttl_seconds: base.hold_ttl_seconds,
            max_seats_per_token: base.max_seats_per_token,
            session_secret: base.session_secret,
            db_max_connections: base.db_max_connections,
            hold_commit: base.hold_commit,
            sweep_interval_ms: base.sweep_interval_ms,
            mail_dir: base.mail_dir,
            ticket_keys: base.ticket_keys,
            reminder_hours: base.reminder_hours,
        }
    }
}

impl BookingTuning {
    /// `config` with this tuning laid over it.
    pub fn apply(self, config: BookingConfig) -> BookingConfig {
        BookingConfig {
            hold_ttl_seconds: self.hold_ttl_seconds,
            max_seats_per_token: self.max_seats_per_token,
            session_secret: self.session_secret,
            db_max_connections: self.db_max_connections,
            hold_commit: self.hold_commit,
            sweep_interval_ms: self.sweep_interval_ms,
            mail_dir: self.mail_dir,
            ticket_keys: self.ticket_keys,
            reminder_hours: self.reminder_hours,
            ..config
        }
    }
}
