//! Fixtures shared by every check.

use fred::prelude::{Builder, Client, ClientLike, Config, SetsInterface};
use queue::store::memory::MemoryStore;
use queue::store::redis::RedisStore;
use queue::store::{JoinOutcome, Millis, QueueStore, Tick};
use queue::{EventId, QueueSettings, QueueState, VisitorId};
use std::sync::Arc;

/// An arbitrary fixed start time (ms); checks move time forward from here.
pub const T0: Millis = 1_700_000_000_000;

/// What a check runs against.
pub struct Harness {
    /// The store under test.
    pub store: Arc<dyn QueueStore>,
    /// A second handle on the same backend, as another node would have it:
    /// the same instance for memory, a second connection for Redis.
    pub peer: Arc<dyn QueueStore>,
    /// A fresh event id, so checks never share state.
    pub event: EventId,
    /// The concrete Redis store, for checks that read `commands_sent`.
    pub redis: Option<Arc<RedisStore>>,
}

fn fresh_event() -> EventId {
    EventId::parse(&format!("t-{}", VisitorId::random())).expect("valid event id")
}

/// The in-process backend.
pub async fn memory() -> Harness {
    let store: Arc<dyn QueueStore> = Arc::new(MemoryStore::new());
    Harness {
        peer: store.clone(),
        store,
        event: fresh_event(),
        redis: None,
    }
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn connect_redis() -> Arc<RedisStore> {
    let url = redis_url();
    match RedisStore::connect(&url).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!(
            "the Redis conformance tests need a Redis server at {url} \
             (start one or set REDIS_URL): {e}"
        ),
    }
}

/// The Redis backend; panics with a clear message if Redis is unreachable.
pub async fn redis() -> Harness {
    let redis = connect_redis().await;
    let peer: Arc<dyn QueueStore> = connect_redis().await;
    Harness {
        store: redis.clone(),
        peer,
        event: fresh_event(),
        redis: Some(redis),
    }
}

/// A bare client of the test Redis, for what no store does (reading the
/// event list, making the server forget its scripts); quit it when done.
pub async fn plain_redis_client() -> Client {
    let config = Config::from_url(&redis_url()).expect("REDIS_URL");
    let client = Builder::from_config(config).build().expect("client");
    client.init().await.expect("connect to the test Redis");
    client
}

/// Nothing to clean up: the memory store dies with the test.
pub async fn forget_memory(_event: EventId) {}

/// Deletes the keys a passed Redis check wrote for `event` and any event
/// derived from it (`<event>-…`), so a shared Redis does not collect test
/// events in `wr:events` (which other nodes' engines iterate).
pub async fn forget_redis(event: EventId) {
    let client = plain_redis_client().await;
    let events: Vec<String> = client.smembers("wr:events").await.expect("smembers");
    client.quit().await.expect("quit");
    let store = queue::store::redis::RedisStore::connect(&redis_url())
        .await
        .expect("connect for cleanup");
    for id in events.iter().filter(|id| id.starts_with(event.as_str())) {
        let id = EventId::parse(id).expect("stored event id");
        store.remove_event(&id).await.expect("forget");
    }
}

/// A visitor id from a number, sortable in the order checks create them.
pub fn visitor(i: usize) -> VisitorId {
    VisitorId::parse(&format!("v{i:06}")).expect("valid visitor id")
}

/// Open queue settings with the given rate and cap; long session and grace
/// so nothing expires unless a check moves time that far.
pub fn open(admit_per_minute: u32, max_active: u32) -> QueueSettings {
    QueueSettings {
        state: QueueState::Open,
        admit_per_minute,
        max_active,
        session_ttl_seconds: 600,
        departure_grace_seconds: 3_600,
        policy: Default::default(),
    }
}

impl Harness {
    /// Stores `settings` and takes the lease for node `"a"`.
    pub async fn setup(&self, settings: QueueSettings) {
        self.store
            .put_settings(&self.event, &settings)
            .await
            .expect("put_settings");
        assert!(self
            .store
            .acquire_lease(&self.event, "a", 60_000)
            .await
            .expect("acquire_lease"));
    }

    /// Joins visitor `i` at `now`.
    pub async fn join(&self, i: usize, now: Millis) -> JoinOutcome {
        self.store
            .join(&self.event, &visitor(i), now)
            .await
            .expect("join")
    }

    /// Joins visitors `range` one by one (tickets in that order).
    pub async fn join_all(&self, range: std::ops::Range<usize>, now: Millis) {
        for i in range {
            self.join(i, now).await;
        }
    }

    /// Joins polled in one pass (at `T0`), as a busy node's requests reach
    /// the store: one answer per `(event, visitor)`, in order.
    pub async fn join_at_once(
        &self,
        joins: &[(EventId, usize)],
    ) -> Vec<Result<JoinOutcome, queue::QueueError>> {
        let calls = joins
            .iter()
            .map(|(event, i)| async move { self.store.join(event, &visitor(*i), T0).await });
        futures::future::join_all(calls).await
    }

    /// Ticks as node `"a"`, which holds the lease.
    pub async fn tick(&self, now: Millis) -> Tick {
        self.store
            .tick(&self.event, "a", now)
            .await
            .expect("tick")
            .expect("node a holds the lease")
    }

    /// Changes only the state.
    pub async fn set_state(&self, state: QueueState) {
        let mut settings = self
            .store
            .settings(&self.event)
            .await
            .expect("settings")
            .expect("event exists");
        settings.state = state;
        self.store
            .put_settings(&self.event, &settings)
            .await
            .expect("put_settings");
    }
}
