//! The booking service: catalog, token-gated seat holds, checkout,
//! payments, webhooks, email and customer accounts (docs/architecture.md §6, §7).
//!
//! The gateway opens the records database with [`Booking::open_db`],
//! builds a [`Booking`] on it with [`Booking::start`] and mounts
//! [`Booking::router`]. Everything the routes do is also callable through
//! the per-feature handles of [`AppState`] (`booking.state().holds()`, see
//! `state`), which is how the tests and the benchmark drive the service
//! layer directly; the operator API gets only [`OperatorHandles`].

pub mod accounts;
pub mod admission;
pub mod catalog;
pub mod config;
pub mod db;
pub mod email;
pub mod error;
pub mod holds;
mod http;
pub mod look;
pub mod metrics;
pub mod password;
pub mod payment;
pub mod sales;
pub mod state;
pub mod tickets;
pub mod waitlist;
pub mod webhook;

pub use admission::Credentials;
pub use config::{BookingConfig, BookingTuning, HoldCommit, Secret};
pub use error::BookingError;
pub use http::{openapi, path_id as http_path_id, router};
pub use state::{AppState, OperatorHandles};

use crate::db::Db;
use crate::email::Mailer;
use crate::holds::locks::SeatLocks;
use crate::payment::{dev::DevProvider, stripe::StripeProvider, PaymentProvider};
use crate::state::Parts;
use queue::admission::AdmissionVerifier;
use queue::QueueStore;
use rand::RngCore;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// A background task that stops when its handle is dropped.
#[derive(Debug)]
pub struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running booking service: its services plus their background workers
/// (hold sweeper, refunds, email outbox, reminders), which stop when this
/// is dropped.
pub struct Booking {
    state: AppState,
    db: Db,
    locks: Option<Arc<SeatLocks>>,
    _workers: Vec<AbortOnDrop>,
}

impl Booking {
    /// Opens the records database of `config` (creating the data directory
    /// of the embedded default) and runs the migrations: the one pool and
    /// the one migration run of a process, shared by booking, the operator
    /// API and the queue ledger.
    pub async fn open_db(config: &BookingConfig) -> Result<Db, BookingError> {
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                BookingError::internal(format!("data_dir {}: {e}", config.data_dir.display()))
            })?;
        }
        Db::connect_with(
            &config.effective_database_url(),
            config.db_max_connections,
            config.hold_commit,
        )
        .await
    }

    /// Seeds the demo event into an empty database, and starts the
    /// services on `db` (see [`open_db`](Self::open_db)) with their
    /// workers.
    pub async fn start(
        config: BookingConfig,
        db: Db,
        verifier: Arc<AdmissionVerifier>,
        queue: Arc<dyn QueueStore>,
    ) -> Result<Self, BookingError> {
        check_config(&config)?;
        let mailer = Arc::new(Mailer::new(
            config.smtp_url.as_ref().map(Secret::expose),
            config.effective_mail_dir(),
        )?);
        let (state, locks) = Self::build(config, db.clone(), verifier, queue).await?;
        let workers = vec![
            AbortOnDrop(tokio::spawn(holds::sweeper::run(state.holds().clone()))),
            AbortOnDrop(tokio::spawn(sales::run_refunds(
                state.sales().clone(),
                std::time::Duration::from_secs(60),
            ))),
            AbortOnDrop(tokio::spawn(email::outbox::run(
                state.outbox().clone(),
                mailer,
            ))),
            AbortOnDrop(tokio::spawn(tickets::reminders::run(
                state.tickets().clone(),
            ))),
            AbortOnDrop(tokio::spawn(email::turn::run(state.outbox().clone()))),
        ];
        Ok(Self {
            state,
            db,
            locks,
            _workers: workers,
        })
    }

    /// Everything [`start`](Self::start) does except the workers (tests
    /// drive sweeps and mail themselves; an operator-only process sends no
    /// mail).
    pub async fn build_state(
        config: BookingConfig,
        db: Db,
        verifier: Arc<AdmissionVerifier>,
        queue: Arc<dyn QueueStore>,
    ) -> Result<AppState, BookingError> {
        Ok(Self::build(config, db, verifier, queue).await?.0)
    }

    async fn build(
        config: BookingConfig,
        db: Db,
        verifier: Arc<AdmissionVerifier>,
        queue: Arc<dyn QueueStore>,
    ) -> Result<(AppState, Option<Arc<SeatLocks>>), BookingError> {
        check_config(&config)?;
        if config.seed_demo && db.catalog().event_count().await? == 0 {
            tracing::info!("empty database: creating the demo event");
            let seeded = db
                .catalog()
                .insert_catalog(&db::seed::demo_catalog(state::now()))
                .await;
            // Several processes starting on one empty database race to
            // seed; the losers find the winner's catalog and carry on.
            if let Err(e) = seeded {
                if db.catalog().event_count().await? == 0 {
                    return Err(e);
                }
            }
        }
        let locks = match &config.redis_url {
            Some(url) => Some(Arc::new(SeatLocks::connect(url.expose()).await.map_err(
                |e| BookingError::Unavailable {
                    what: "redis",
                    detail: e.to_string(),
                },
            )?)),
            None => None,
        };
        let payments: Arc<dyn PaymentProvider> = match &config.stripe_secret_key {
            Some(key) => Arc::new(StripeProvider::new(
                key.expose(),
                config.stripe_api_base.as_deref(),
                config.stripe_publishable_key.clone(),
            )?),
            None => Arc::new(DevProvider),
        };
        let session_key = match &config.session_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => {
                let mut key = vec![0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                key
            }
        };
        let tickets = tickets::TicketKeys::from_config(config.ticket_keys.as_ref())?;
        let state = AppState::new(Parts {
            tickets,
            config,
            db,
            verifier,
            queue,
            locks: locks.clone(),
            payments,
            session_key,
        });
        Ok((state, locks))
    }

    /// The routes under `/api/v1/…`, state applied.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// Readiness: the database (and Redis, if configured) answer.
    pub async fn ping(&self) -> Result<(), BookingError> {
        self.db.ping().await?;
        if let Some(locks) = &self.locks {
            locks.ping().await.map_err(|e| BookingError::Unavailable {
                what: "redis",
                detail: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// The services, for tests and tools.
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

/// Settings the service refuses to start with.
fn check_config(config: &BookingConfig) -> Result<(), BookingError> {
    let refuse = |m: &str| Err(BookingError::internal(m));
    if config.production && config.stripe_secret_key.is_none() {
        return refuse("the dev payment provider is refused in production: set stripe_secret_key");
    }
    if config.production && config.session_secret.is_none() {
        return refuse("session_secret is required in production");
    }
    if config.stripe_secret_key.is_some() && config.stripe_webhook_secret.is_none() {
        return refuse("stripe_webhook_secret is required with stripe_secret_key");
    }
    Ok(())
}
