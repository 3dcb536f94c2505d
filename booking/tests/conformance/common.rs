//! Fixture: a booking state on a fresh database (PostgreSQL: a new
//! database per test; SQLite: a file in a temp dir), real admission tokens
//! minted with the queue's issuer, and a queue that records releases.

use async_trait::async_trait;
use booking::db::Db;
use booking::{AppState, Booking, BookingConfig, Credentials, Secret};
use queue::admission::{AdmissionIssuer, AdmissionVerifier};
use queue::keys::SigningKeys;
use queue::store::memory::MemoryStore;
use queue::store::{JoinOutcome, Millis, Snapshot, VisitorRecord};
use queue::visitor::{CredentialCodec, VisitorCredential};
use queue::{EventId, QueueSettings, QueueStore, Tick, VisitorId};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// PostgreSQL admin URL (a database the tests may create databases from).
pub fn pg_admin_url() -> String {
    std::env::var("WR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A queue that records `release` calls (and delegates the rest).
#[derive(Default)]
pub struct RecordingQueue {
    inner: MemoryStore,
    pub released: Mutex<Vec<(String, String)>>,
    /// Events booking reported sold out, once per report.
    pub sold_out: Mutex<Vec<String>>,
}

impl RecordingQueue {
    pub fn releases(&self) -> Vec<(String, String)> {
        self.released.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn sold_out_reports(&self) -> Vec<String> {
        self.sold_out.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

type QResult<T> = queue::error::Result<T>;

#[async_trait]
impl QueueStore for RecordingQueue {
    fn backend(&self) -> &'static str {
        "recording"
    }
    async fn ping(&self) -> QResult<()> {
        Ok(())
    }
    async fn put_settings(&self, e: &EventId, s: &QueueSettings) -> QResult<()> {
        self.inner.put_settings(e, s).await
    }
    async fn settings(&self, e: &EventId) -> QResult<Option<QueueSettings>> {
        self.inner.settings(e).await
    }
    async fn events(&self) -> QResult<Vec<EventId>> {
        self.inner.events().await
    }
    async fn join(&self, e: &EventId, v: &VisitorId, now: Millis) -> QResult<JoinOutcome> {
        self.inner.join(e, v, now).await
    }
    async fn reinstate(&self, e: &EventId, v: &VisitorId, now: Millis) -> QResult<Option<u64>> {
        self.inner.reinstate(e, v, now).await
    }
    async fn lookup(&self, e: &EventId, v: &VisitorId, now: Millis) -> QResult<VisitorRecord> {
        self.inner.lookup(e, v, now).await
    }
    async fn lookup_many(
        &self,
        e: &EventId,
        v: &[VisitorId],
        now: Millis,
    ) -> QResult<Vec<VisitorRecord>> {
        self.inner.lookup_many(e, v, now).await
    }
    async fn touch(&self, e: &EventId, v: &[VisitorId], now: Millis) -> QResult<()> {
        self.inner.touch(e, v, now).await
    }
    async fn leave(&self, e: &EventId, v: &VisitorId) -> QResult<bool> {
        self.inner.leave(e, v).await
    }
    async fn release(&self, e: &EventId, v: &VisitorId) -> QResult<bool> {
        if let Ok(mut r) = self.released.lock() {
            r.push((e.to_string(), v.to_string()));
        }
        Ok(true)
    }
    async fn mark_sold_out(&self, e: &EventId) -> QResult<bool> {
        if let Ok(mut r) = self.sold_out.lock() {
            r.push(e.to_string());
        }
        Ok(true)
    }
    async fn acquire_lease(&self, e: &EventId, node: &str, ttl: u64) -> QResult<bool> {
        self.inner.acquire_lease(e, node, ttl).await
    }
    async fn tick(&self, e: &EventId, node: &str, now: Millis) -> QResult<Option<Tick>> {
        self.inner.tick(e, node, now).await
    }
    async fn snapshot(&self, e: &EventId) -> QResult<Snapshot> {
        self.inner.snapshot(e).await
    }
    fn subscribe(&self) -> broadcast::Receiver<Tick> {
        self.inner.subscribe()
    }
    async fn set_contact(&self, e: &EventId, v: &VisitorId, contact: &str) -> QResult<bool> {
        self.inner.set_contact(e, v, contact).await
    }
    async fn contacts(&self, e: &EventId, v: &[VisitorId]) -> QResult<Vec<(VisitorId, String)>> {
        self.inner.contacts(e, v).await
    }
}

/// An admitted fan: admission token and visitor credential.
#[derive(Debug, Clone)]
pub struct Fan {
    pub visitor: String,
    pub token: String,
    pub queue_token: String,
}

impl Fan {
    /// Credentials as the HTTP layer would read them.
    pub fn creds(&self) -> Credentials {
        Credentials::with_queue_token(Some(self.token.clone()), self.queue_token.clone())
    }

    /// Only the session (for release/checkout).
    pub fn session(&self) -> Credentials {
        Credentials::with_queue_token(None, self.queue_token.clone())
    }
}

/// A booking service on its own database.
pub struct TestApp {
    pub state: AppState,
    /// The storage under the services, for storage-level checks.
    pub db: Db,
    /// The config the state was built with (a second "process" on the
    /// same database is built from it).
    pub config: BookingConfig,
    pub queue: Arc<RecordingQueue>,
    issuer: AdmissionIssuer,
    codec: CredentialCodec,
    ticket: std::sync::atomic::AtomicU64,
    pg_db: Option<String>,
    _dir: tempfile::TempDir,
}

pub const ISSUER: &str = "waitroom-test";
pub const AUDIENCE: &str = "booking";

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A base config on a temp dir and, for PostgreSQL, a fresh database.
pub async fn config_for(
    backend: Backend,
    dir: &tempfile::TempDir,
) -> (BookingConfig, Option<String>) {
    let mut config = BookingConfig {
        data_dir: dir.path().to_path_buf(),
        public_base_url: "http://booking.test".to_owned(),
        ..BookingConfig::default()
    };
    let mut pg_db = None;
    if backend == Backend::Postgres {
        let admin = pg_admin_url();
        let name = format!("wr_test_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for these tests and is unreachable at {admin} ({e}); \
                 start it or set WR_TEST_POSTGRES_URL"
            )
        });
        sqlx::query(&format!("create database {name}"))
            .execute(&pool)
            .await
            .expect("create test database");
        pool.close().await;
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or(admin);
        config.database_url = Some(Secret::new(format!("{base}/{name}")));
        config.db_max_connections = 20;
        pg_db = Some(name);
    }
    (config, pg_db)
}

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        Self::with(backend, |_| {}).await
    }

    pub async fn with(backend: Backend, tweak: impl FnOnce(&mut BookingConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut config, pg_db) = config_for(backend, &dir).await;
        // Fixed, so a second process signs and verifies the same tickets.
        config.ticket_keys = Some(Secret::new(SigningKeys::generate().to_spec()));
        tweak(&mut config);
        let keys = Arc::new(SigningKeys::generate());
        let verifier = Arc::new(AdmissionVerifier::new(
            keys.public_keys(),
            ISSUER.to_owned(),
            AUDIENCE.to_owned(),
        ));
        let queue = Arc::new(RecordingQueue::default());
        let db = Booking::open_db(&config).await.expect("booking database");
        let state = Booking::build_state(config.clone(), db.clone(), verifier, queue.clone())
            .await
            .expect("booking state");
        Self {
            state,
            db,
            config,
            queue,
            issuer: AdmissionIssuer::new(keys.clone(), ISSUER.to_owned(), AUDIENCE.to_owned()),
            codec: CredentialCodec::new(&keys),
            ticket: Default::default(),
            pg_db,
            _dir: dir,
        }
    }

    /// A freshly admitted fan of `event`.
    pub fn admit(&self, event: &str) -> Fan {
        let event = EventId::parse(event).expect("event id");
        let visitor = VisitorId::random();
        let cred = VisitorCredential::new(event.clone(), visitor.clone());
        let ticket = self
            .ticket
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let now = now_ms();
        let token = self
            .issuer
            .issue(
                &event,
                &visitor,
                ticket,
                now,
                now + 600_000,
                &cred.session_hash(),
            )
            .expect("issue token");
        Fan {
            visitor: visitor.to_string(),
            token,
            queue_token: self.codec.encode(&cred),
        }
    }

    /// Another booking service on the same database, as a second process
    /// would be (its own pools, the same ticket keys).
    pub async fn second_process(&self) -> AppState {
        let verifier = Arc::new(AdmissionVerifier::new(
            SigningKeys::generate().public_keys(),
            ISSUER.to_owned(),
            AUDIENCE.to_owned(),
        ));
        let db = Booking::open_db(&self.config)
            .await
            .expect("second booking database");
        Booking::build_state(self.config.clone(), db, verifier, self.queue.clone())
            .await
            .expect("second booking state")
    }

    /// Seat ids of the demo event and their status.
    pub async fn seats(&self) -> Vec<(i64, String)> {
        let map = self.db.catalog().seat_map("demo").await.expect("seat map");
        map.seats.into_iter().map(|s| (s.id, s.status)).collect()
    }

    /// Places a hold on seats `ids` of the demo event as `creds`.
    pub async fn hold_seats(
        &self,
        creds: &Credentials,
        ids: &[i64],
    ) -> Result<booking::holds::HoldView, booking::BookingError> {
        self.state
            .holds()
            .place_hold(&demo(), creds, &seats(ids))
            .await
    }

    /// Emails of `kind` waiting in the outbox (leased for a minute, so a
    /// second call does not see them again).
    pub async fn queued_emails(&self, kind: &str) -> Vec<booking::db::EmailRecord> {
        let at = booking::state::now();
        let due = self
            .db
            .outbox()
            .claim_due(at, at + chrono::Duration::seconds(60), 50)
            .await
            .expect("claim emails");
        due.into_iter().filter(|m| m.kind == kind).collect()
    }

    /// Drops the PostgreSQL test database.
    pub async fn cleanup(self) {
        let Some(name) = self.pg_db.clone() else {
            return;
        };
        drop(self);
        drop_pg_db(&name).await;
    }
}

/// Drops a PostgreSQL test database (best effort).
pub async fn drop_pg_db(name: &str) {
    if let Ok(pool) = sqlx::PgPool::connect(&pg_admin_url()).await {
        let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
            .execute(&pool)
            .await;
    }
}

/// A hold request for these seats.
pub fn seats(ids: &[i64]) -> booking::holds::HoldRequest {
    booking::holds::HoldRequest {
        seats: Some(ids.to_vec()),
        ..Default::default()
    }
}

pub fn demo() -> EventId {
    EventId::parse("demo").expect("demo id")
}

/// Instantiates each listed test once per backend.
#[macro_export]
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        pub mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
        pub mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
    };
}
