//! The one cloneable application state every handler gets through
//! `with_state`. Feature modules add their operations as `impl AppState`
//! blocks, so a test can drive the same code the HTTP layer does.

use crate::catalog::SeatMapCache;
use crate::config::BookingConfig;
use crate::db::Db;
use crate::holds::locks::SeatLocks;
use crate::payment::PaymentProvider;
use queue::admission::AdmissionVerifier;
use queue::QueueStore;
use std::ops::Deref;
use std::sync::Arc;
use tokio::sync::Notify;

/// Shared state: cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What the state holds.
pub struct Inner {
    /// Settings.
    pub config: BookingConfig,
    /// Storage.
    pub db: Db,
    /// Admission-token verifier (public keys only).
    pub verifier: Arc<AdmissionVerifier>,
    /// The waiting room, told when an admitted session ends.
    pub queue: Arc<dyn QueueStore>,
    /// Seat maps cached for about a second.
    pub seat_maps: SeatMapCache,
    /// Redis seat locks, when Redis is configured.
    pub locks: Option<SeatLocks>,
    /// Stripe or dev.
    pub payments: Arc<dyn PaymentProvider>,
    /// Wakes the email worker when an email is queued.
    pub mail_wakeup: Notify,
    /// HMAC key of customer session tokens.
    pub session_key: Vec<u8>,
    /// Signs and verifies tickets.
    pub tickets: crate::tickets::TicketKeys,
}

impl AppState {
    /// Wraps the parts.
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Now, truncated to microseconds (what PostgreSQL stores), so values read
/// back compare equal to the ones written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let t = chrono::Utc::now();
    let micros = t.timestamp_micros();
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or(t)
}
