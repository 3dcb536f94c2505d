//! When the admitter calls the queue store unhealthy (which tells every
//! waiter "reconnecting" and fails readiness): only when the store stops
//! answering, not when one tick fails while it still answers a ping (a
//! node so busy that a command times out while the store idles).

use async_trait::async_trait;
use queue::engine::{Engine, EngineConfig};
use queue::error::Result;
use queue::store::memory::MemoryStore;
use queue::store::{JoinOutcome, Millis, Snapshot, VisitorRecord};
use queue::{
    AdmissionIssuer, CredentialCodec, EventId, QueueError, QueueSettings, QueueState, QueueStore,
    SigningKeys, Tick, VisitorId,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Notify};

/// A memory store whose ticks and pings can be made to fail; counts the
/// admitter's tick attempts so the test can await them.
#[derive(Default)]
struct Flaky {
    inner: MemoryStore,
    ticks_fail: AtomicBool,
    pings_fail: AtomicBool,
    /// The next this many `lookup_present` calls time out.
    lookups_fail: AtomicU64,
    lookups: AtomicU64,
    attempts: AtomicU64,
    attempted: Notify,
}

impl Flaky {
    /// Waits until the admitter has tried `n` more ticks.
    async fn ticks(&self, n: u64) {
        let target = self.attempts.load(Ordering::SeqCst) + n;
        while self.attempts.load(Ordering::SeqCst) < target {
            let notified = self.attempted.notified();
            if self.attempts.load(Ordering::SeqCst) >= target {
                break;
            }
            tokio::time::timeout(Duration::from_secs(10), notified)
                .await
                .expect("the admitter keeps ticking");
        }
    }
}

fn down() -> QueueError {
    QueueError::Unavailable("Timeout Error".to_owned())
}

#[async_trait]
impl QueueStore for Flaky {
    fn backend(&self) -> &'static str {
        "flaky"
    }
    async fn ping(&self) -> Result<()> {
        if self.pings_fail.load(Ordering::SeqCst) {
            return Err(down());
        }
        Ok(())
    }
    async fn put_settings(&self, e: &EventId, s: &QueueSettings) -> Result<()> {
        self.inner.put_settings(e, s).await
    }
    async fn settings(&self, e: &EventId) -> Result<Option<QueueSettings>> {
        self.inner.settings(e).await
    }
    async fn events(&self) -> Result<Vec<EventId>> {
        self.inner.events().await
    }
    async fn join(&self, e: &EventId, v: &VisitorId, now: Millis) -> Result<JoinOutcome> {
        self.inner.join(e, v, now).await
    }
    async fn reinstate(&self, e: &EventId, v: &VisitorId, now: Millis) -> Result<Option<u64>> {
        self.inner.reinstate(e, v, now).await
    }
    async fn lookup(&self, e: &EventId, v: &VisitorId, now: Millis) -> Result<VisitorRecord> {
        self.inner.lookup(e, v, now).await
    }
    async fn lookup_many(
        &self,
        e: &EventId,
        v: &[VisitorId],
        now: Millis,
    ) -> Result<Vec<VisitorRecord>> {
        self.inner.lookup_many(e, v, now).await
    }
    async fn lookup_present(
        &self,
        e: &EventId,
        v: &VisitorId,
        now: Millis,
    ) -> Result<VisitorRecord> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .lookups_fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(down());
        }
        self.inner.lookup_present(e, v, now).await
    }
    async fn touch(&self, e: &EventId, v: &[VisitorId], now: Millis) -> Result<()> {
        self.inner.touch(e, v, now).await
    }
    async fn leave(&self, e: &EventId, v: &VisitorId) -> Result<bool> {
        self.inner.leave(e, v).await
    }
    async fn release(&self, e: &EventId, v: &VisitorId) -> Result<bool> {
        self.inner.release(e, v).await
    }
    async fn acquire_lease(&self, e: &EventId, node: &str, ttl: u64) -> Result<bool> {
        self.inner.acquire_lease(e, node, ttl).await
    }
    async fn tick(&self, e: &EventId, node: &str, now: Millis) -> Result<Option<Tick>> {
        let result = if self.ticks_fail.load(Ordering::SeqCst) {
            Err(down())
        } else {
            self.inner.tick(e, node, now).await
        };
        self.attempts.fetch_add(1, Ordering::SeqCst);
        self.attempted.notify_waiters();
        result
    }
    async fn snapshot(&self, e: &EventId) -> Result<Snapshot> {
        self.inner.snapshot(e).await
    }
    fn subscribe(&self) -> broadcast::Receiver<Tick> {
        self.inner.subscribe()
    }
}

fn engine(store: &Arc<Flaky>) -> Arc<Engine> {
    let keys = Arc::new(SigningKeys::generate());
    Engine::new(
        store.clone(),
        EngineConfig {
            tick_interval: Duration::from_millis(20),
            ..EngineConfig::default()
        },
        CredentialCodec::new(&keys),
        AdmissionIssuer::new(keys, "test".to_owned(), "booking".to_owned()),
    )
}

async fn open_event(store: &Flaky) -> EventId {
    let event = EventId::parse("health").expect("id");
    let open = QueueSettings {
        state: QueueState::Open,
        ..QueueSettings::default()
    };
    store.put_settings(&event, &open).await.expect("settings");
    event
}

#[tokio::test]
async fn a_failed_tick_is_an_outage_only_if_the_store_stops_answering() {
    let store = Arc::new(Flaky::default());
    let engine = engine(&store);
    open_event(&store).await;
    let _loops = engine.spawn_loops();
    store.ticks(2).await;
    assert!(engine.store_ok());

    // Ticks time out, the store still answers: slow, not down.
    store.ticks_fail.store(true, Ordering::SeqCst);
    store.ticks(5).await;
    assert!(engine.store_ok(), "one slow command is not an outage");

    // Nothing answers: down, until ticks succeed again.
    store.pings_fail.store(true, Ordering::SeqCst);
    store.ticks(2).await;
    assert!(!engine.store_ok(), "an unanswered ping is an outage");
    store.ticks_fail.store(false, Ordering::SeqCst);
    store.pings_fail.store(false, Ordering::SeqCst);
    store.ticks(2).await;
    assert!(engine.store_ok(), "healthy again after a good tick");
}

/// A connect storm can starve a process long enough for a place lookup to
/// time out twice; the fan's socket or poll must not be refused for that,
/// but a store that keeps timing out is reported, not waited on forever.
#[tokio::test(start_paused = true)]
async fn a_place_lookup_rides_out_two_timeouts_and_reports_the_third() {
    let store = Arc::new(Flaky::default());
    let engine = engine(&store);
    let event = open_event(&store).await;
    let joined = engine.join(&event, None).await.expect("join");

    store.lookups_fail.store(2, Ordering::SeqCst);
    let status = engine
        .status(&event, &joined.queue_token)
        .await
        .expect("two timeouts are ridden out");
    assert_eq!(status.ticket, joined.ticket);
    assert_eq!(store.lookups.swap(0, Ordering::SeqCst), 3);

    store.lookups_fail.store(3, Ordering::SeqCst);
    let refused = engine.status(&event, &joined.queue_token).await;
    assert!(
        matches!(refused, Err(QueueError::Unavailable(_))),
        "the third timeout is reported: {refused:?}"
    );
    assert_eq!(store.lookups.load(Ordering::SeqCst), 3);
}
