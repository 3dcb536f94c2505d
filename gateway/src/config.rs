//! Typed, layered configuration: defaults, then an optional TOML file, then
//! `WAITROOM_*` environment variables (nested keys with `__`), plus the
//! conventional unprefixed `REDIS_URL`, `DATABASE_URL`, `STRIPE_*`, `SMTP_URL`.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Secrets are redacted in `Debug`; one type for the whole workspace.
pub use queue::Secret;

/// Which parts of the product this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in one process.
    #[default]
    All,
    /// Fan API, WebSocket and admission ticks.
    Queue,
    /// Catalog, holds, checkout, webhooks.
    Booking,
    /// Operator API.
    Admin,
}

impl Role {
    /// Whether this process serves `part`.
    pub fn runs(self, part: Role) -> bool {
        self == Role::All || self == part
    }
}

/// What kind of deployment this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine: generated secrets, the dev payment provider.
    #[default]
    Development,
    /// A real sale: every secret supplied, the dev provider refused, weak
    /// keys refused. A misspelt value fails the start instead of quietly
    /// meaning development.
    Production,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything `waitroom serve` can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Where `/metrics` is served, apart from the public API so scrapes and
    /// fans never share a port and the figures are not public. Unset: on
    /// the main listener (one-process setups).
    pub metrics_listen: Option<SocketAddr>,
    /// Roles served by this process.
    pub role: Role,
    /// Where embedded state lives (SQLite file, generated keys, mail).
    pub data_dir: PathBuf,
    /// Static pages (the repository's `web/` when run from its root; the
    /// image sets `/app/web`).
    pub web_dir: PathBuf,
    /// `development` or `production`.
    pub env: Environment,
    /// Public URL of the site; `https://…` turns on `Secure` cookies.
    pub public_base_url: Option<String>,
    /// Log format.
    pub log_format: LogFormat,
    /// Redis for queue state; unset = in-process store (single node).
    pub redis_url: Option<Secret>,
    /// PostgreSQL for records; unset = SQLite under `data_dir`.
    pub database_url: Option<Secret>,
    /// `kid:seed,…` Ed25519 keys; unset = generated under `data_dir`.
    pub signing_keys: Option<Secret>,
    /// Operator API key; unset = generated under `data_dir`, printed once.
    pub admin_token: Option<Secret>,
    /// Email of the owner account created on first start (no operators yet).
    pub admin_email: String,
    /// That owner's password; unset = generated and printed once.
    pub admin_password: Option<Secret>,
    /// Failed bearer credentials (operator key, API keys) one client
    /// address may send before it must wait, doubling per failure.
    pub admin_bearer_free_attempts: u32,
    /// Admission tick interval in milliseconds.
    pub tick_ms: u64,
    /// Admitter lease lifetime in milliseconds (takeover delay).
    pub lease_ttl_ms: u64,
    /// Create the `demo` event when the queue store has no events.
    pub demo_event: bool,
    /// Seconds to wait for connections to finish on shutdown.
    pub shutdown_grace_seconds: u64,
    /// Stripe secret key; unset = dev payments.
    pub stripe_secret_key: Option<Secret>,
    /// Stripe publishable key, handed to the checkout page.
    pub stripe_publishable_key: Option<String>,
    /// Stripe webhook signing secret.
    pub stripe_webhook_secret: Option<Secret>,
    /// Stripe API base URL (tests point it at a local stand-in).
    pub stripe_api_base: Option<String>,
    /// SMTP URL; unset = mail written to files under `data_dir/mail`.
    pub smtp_url: Option<Secret>,
    /// Sender address of emails.
    pub mail_from: String,
    /// Bot defences at the edge (trusted proxies, rate limits, CAPTCHA);
    /// flattened, so each is a top-level key (`WAITROOM_POW_DIFFICULTY`, …).
    #[serde(flatten)]
    pub edge: crate::edge::EdgeSettings,
    /// Booking tuning (`[booking]` in the file, `WAITROOM_BOOKING__…` in the
    /// environment): `hold_ttl_seconds`, `max_seats_per_token`,
    /// `session_secret`, `db_max_connections`, `hold_commit`, `sweep_interval_ms`,
    /// `mail_dir`. Anything else there is an error: backends, Stripe and
    /// mail are the top-level settings above.
    pub booking: booking::BookingTuning,
    /// The listener's bounds (connection caps, header and idle timeouts);
    /// flattened, so each is a top-level key (`WAITROOM_MAX_CONNECTIONS`, …).
    #[serde(flatten)]
    pub connections: crate::server::ConnectionSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            role: Role::All,
            data_dir: PathBuf::from("data"),
            web_dir: PathBuf::from("web"),
            env: Environment::Development,
            public_base_url: None,
            log_format: LogFormat::Text,
            redis_url: None,
            database_url: None,
            signing_keys: None,
            admin_token: None,
            admin_email: "admin@localhost".to_owned(),
            admin_password: None,
            admin_bearer_free_attempts: admin::FREE_BEARER_PER_ADDRESS,
            tick_ms: 1_000,
            lease_ttl_ms: 3_000,
            demo_event: true,
            shutdown_grace_seconds: 10,
            stripe_secret_key: None,
            stripe_publishable_key: None,
            stripe_webhook_secret: None,
            stripe_api_base: None,
            smtp_url: None,
            mail_from: "waitroom <tickets@localhost>".to_owned(),
            edge: crate::edge::EdgeSettings::default(),
            booking: booking::BookingTuning::default(),
            connections: crate::server::ConnectionSettings::default(),
        }
    }
}

impl Settings {
    /// Loads defaults → `file` (if given) → environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            fig = fig.merge(Toml::file_exact(path));
        }
        fig = fig
            .merge(
                Env::raw()
                    .only(&[
                        "REDIS_URL",
                        "DATABASE_URL",
                        "STRIPE_SECRET_KEY",
                        "STRIPE_PUBLISHABLE_KEY",
                        "STRIPE_WEBHOOK_SECRET",
                        "STRIPE_API_BASE",
                        "SMTP_URL",
                        "CAPTCHA_PROVIDER",
                        "CAPTCHA_SECRET",
                        "CAPTCHA_SITE_KEY",
                    ])
                    .map(|k| k.as_str().to_ascii_lowercase().into()),
            )
            .merge(Env::prefixed("WAITROOM_").split("__"));
        fig.extract().map_err(Box::new)
    }

    /// Whether this is a production deployment.
    pub fn production(&self) -> bool {
        self.env == Environment::Production
    }

    /// The booking service's configuration: its tuning section with the
    /// shared backend, payment and mail settings laid over it.
    pub fn booking_config(&self) -> booking::BookingConfig {
        self.booking.clone().apply(booking::BookingConfig {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            redis_url: self.redis_url.clone(),
            stripe_secret_key: self.stripe_secret_key.clone(),
            stripe_publishable_key: self.stripe_publishable_key.clone(),
            stripe_webhook_secret: self.stripe_webhook_secret.clone(),
            stripe_api_base: self.stripe_api_base.clone(),
            smtp_url: self.smtp_url.clone(),
            mail_from: self.mail_from.clone(),
            production: self.production(),
            public_base_url: self
                .public_base_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.listen)),
            seed_demo: self.demo_event,
            ..booking::BookingConfig::default()
        })
    }

    /// Whether cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_base_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use booking::HoldCommit;

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Settings {
            redis_url: Some(Secret::new("redis://:hunter2@host")),
            admin_token: Some(Secret::new("tok-123")),
            ..Settings::default()
        };
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("hunter2") && !dbg.contains("tok-123"),
            "{dbg}"
        );
    }

    #[test]
    // figment's Jail closure returns figment's (large) error type.
    #[allow(clippy::result_large_err)]
    fn environment_overrides_file_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("w.toml", "tick_ms = 500\nlisten = \"127.0.0.1:9000\"\n")?;
            jail.set_env("WAITROOM_TICK_MS", "250");
            jail.set_env("REDIS_URL", "redis://127.0.0.1:6379");
            let s = Settings::load(Some(Path::new("w.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.tick_ms, 250);
            assert_eq!(s.listen.port(), 9000);
            assert_eq!(
                s.redis_url.as_ref().map(Secret::expose),
                Some("redis://127.0.0.1:6379")
            );
            assert_eq!(s.lease_ttl_ms, 3_000);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn a_misspelt_environment_or_a_shadowed_booking_key_fails_the_start() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WAITROOM_ENV", "prodution");
            let err = Settings::load(None).expect_err("unknown environment");
            assert!(err.to_string().contains("prodution"), "{err}");
            jail.set_env("WAITROOM_ENV", "production");
            assert_eq!(
                Settings::load(None).map_err(|e| e.to_string())?.env,
                Environment::Production
            );

            jail.create_file(
                "w.toml",
                "[booking]\ndatabase_url = \"postgres://elsewhere\"\n",
            )?;
            let err = Settings::load(Some(Path::new("w.toml"))).expect_err("shadowed key");
            assert!(err.to_string().contains("database_url"), "{err}");

            jail.create_file("w.toml", "[booking]\nhold_ttl_seconds = 120\n")?;
            let s = Settings::load(Some(Path::new("w.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.booking_config().hold_ttl_seconds, 120);
            assert_eq!(s.booking_config().hold_commit, HoldCommit::Async);
            jail.set_env("WAITROOM_BOOKING__HOLD_COMMIT", "flushed");
            let s = Settings::load(Some(Path::new("w.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.booking_config().hold_commit, HoldCommit::Flushed);
            jail.set_env("WAITROOM_BOOKING__HOLD_COMMIT", "sometimes");
            let err = Settings::load(Some(Path::new("w.toml"))).expect_err("unknown mode");
            assert!(err.to_string().contains("HOLD_COMMIT"), "{err}");
            // Valid again, for the loads below.
            jail.set_env("WAITROOM_BOOKING__HOLD_COMMIT", "flushed");

            // The door's settings are booking tuning too.
            jail.set_env("WAITROOM_BOOKING__REMINDER_HOURS", "6");
            jail.set_env("WAITROOM_BOOKING__TICKET_KEYS", "t1:AAAA");
            let s = Settings::load(Some(Path::new("w.toml"))).map_err(|e| e.to_string())?;
            let config = s.booking_config();
            assert_eq!(config.reminder_hours, 6);
            assert_eq!(
                config.ticket_keys.as_ref().map(|k| k.expose()),
                Some("t1:AAAA")
            );
            Ok(())
        });
    }
}
