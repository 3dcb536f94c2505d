//! How many places one holder (a client IP group, or an account) has taken
//! in one event, capped by the event's `max_places_per_ip`.
//!
//! On Redis the count is one key per (event, holder) in the event's hash
//! tag, changed by one script, so the cap holds across every process. In
//! process it is a map. A count lives for `place_window_seconds` after the
//! holder's last new place: the cap is "places taken recently", which needs
//! no bookkeeping when places are admitted or depart.

use async_trait::async_trait;
use fred::clients::Client;
use fred::interfaces::{KeysInterface, LuaInterface};
use queue::{EventId, QueueError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts places per holder and event.
#[async_trait]
pub trait PlaceCounter: Send + Sync + 'static {
    /// Takes one of `cap` places for `holder` in `event`: `false` (and
    /// nothing counted) when all `cap` are taken.
    async fn take(&self, event: &EventId, holder: &str, cap: u32) -> Result<bool, QueueError>;

    /// Gives back a place taken by [`take`](Self::take) whose join then
    /// failed or returned an existing place.
    async fn give_back(&self, event: &EventId, holder: &str) -> Result<(), QueueError>;
}

/// The embedded default: a map in this process.
#[derive(Debug)]
pub struct MemoryPlaces {
    window: Duration,
    counts: Mutex<Pruned<(EventId, String), (u32, Instant)>>,
}

/// A map that drops expired entries once it has doubled since the last
/// sweep, so sweeping stays amortised O(1) per insert however many entries
/// are still live.
#[derive(Debug)]
struct Pruned<K, V> {
    map: HashMap<K, V>,
    sweep_at: usize,
}

impl<K: std::hash::Hash + Eq, V> Pruned<K, V> {
    fn new() -> Self {
        Self {
            map: HashMap::new(),
            sweep_at: 10_000,
        }
    }

    fn sweep(&mut self, live: impl FnMut(&K, &mut V) -> bool) {
        if self.map.len() >= self.sweep_at {
            self.map.retain(live);
            self.sweep_at = (self.map.len() * 2).max(10_000);
        }
    }
}

impl MemoryPlaces {
    /// Counts that expire `window` after the holder's last new place.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            counts: Mutex::new(Pruned::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pruned<(EventId, String), (u32, Instant)>> {
        // A poisoned lock only means a panic elsewhere; the counts are fine.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl PlaceCounter for MemoryPlaces {
    async fn take(&self, event: &EventId, holder: &str, cap: u32) -> Result<bool, QueueError> {
        let now = Instant::now();
        let mut counts = self.lock();
        // Expired counts are swept as the map grows, so it holds only
        // holders seen within the window (and joins are rate-limited).
        counts.sweep(|_, (_, until)| *until > now);
        let entry = counts
            .map
            .entry((event.clone(), holder.to_owned()))
            .or_insert((0, now));
        if entry.1 <= now {
            entry.0 = 0;
        }
        if entry.0 >= cap {
            return Ok(false);
        }
        entry.0 += 1;
        entry.1 = now + self.window;
        Ok(true)
    }

    async fn give_back(&self, event: &EventId, holder: &str) -> Result<(), QueueError> {
        if let Some(e) = self.lock().map.get_mut(&(event.clone(), holder.to_owned())) {
            e.0 = e.0.saturating_sub(1);
        }
        Ok(())
    }
}

/// INCR, refuse (and undo) over the cap, keep the window fresh.
const TAKE_LUA: &str = r#"
local n = redis.call('INCR', KEYS[1])
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"#;

/// DECR, never below zero.
const GIVE_BACK_LUA: &str = r#"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0
"#;

/// Counts in Redis, shared by every process.
pub struct RedisPlaces {
    client: Client,
    window: Duration,
}

impl std::fmt::Debug for RedisPlaces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPlaces").finish_non_exhaustive()
    }
}

impl RedisPlaces {
    /// Counts on `client` that expire `window` after the last new place.
    pub fn new(client: Client, window: Duration) -> Self {
        Self { client, window }
    }

    /// `wr:{evt:<event>}:places:<holder>`: in the event's slot, beside its
    /// queue. Holders are `ip:<addr or /64>` or `acct:<hex>`, no braces.
    fn key(event: &EventId, holder: &str) -> String {
        format!("wr:{{evt:{event}}}:places:{holder}")
    }
}

pub(super) fn unavailable(e: fred::error::Error) -> QueueError {
    QueueError::Unavailable(format!("edge counters: {e}"))
}

#[async_trait]
impl PlaceCounter for RedisPlaces {
    async fn take(&self, event: &EventId, holder: &str, cap: u32) -> Result<bool, QueueError> {
        let ok: i64 = self
            .client
            .eval(
                TAKE_LUA,
                vec![Self::key(event, holder)],
                vec![cap.to_string(), self.window.as_millis().to_string()],
            )
            .await
            .map_err(unavailable)?;
        Ok(ok == 1)
    }

    async fn give_back(&self, event: &EventId, holder: &str) -> Result<(), QueueError> {
        let _: i64 = self
            .client
            .eval(
                GIVE_BACK_LUA,
                vec![Self::key(event, holder)],
                Vec::<String>::new(),
            )
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Remembers challenge ids until they expire, so a solution works once.
#[async_trait]
pub trait ReplayGuard: Send + Sync + 'static {
    /// `true` the first time `id` is presented for `event` within `ttl`.
    async fn first_use(&self, event: &EventId, id: &str, ttl: Duration)
        -> Result<bool, QueueError>;
}

/// The embedded default: ids in a map, dropped once expired.
#[derive(Debug)]
pub struct MemoryReplay {
    seen: Mutex<Pruned<String, Instant>>,
}

impl Default for MemoryReplay {
    fn default() -> Self {
        Self {
            seen: Mutex::new(Pruned::new()),
        }
    }
}

#[async_trait]
impl ReplayGuard for MemoryReplay {
    async fn first_use(
        &self,
        event: &EventId,
        id: &str,
        ttl: Duration,
    ) -> Result<bool, QueueError> {
        let now = Instant::now();
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only valid, unexpired solutions get here, so the map holds at most
        // one entry per accepted join within a challenge's lifetime.
        seen.sweep(|_, until| *until > now);
        let key = format!("{event}/{id}");
        match seen.map.get(&key) {
            Some(until) if *until > now => Ok(false),
            _ => {
                seen.map.insert(key, now + ttl);
                Ok(true)
            }
        }
    }
}

/// Ids in Redis (`SET NX PX`), so a solution used on one process is spent
/// on all of them.
pub struct RedisReplay {
    client: Client,
}

impl std::fmt::Debug for RedisReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplay").finish_non_exhaustive()
    }
}

impl RedisReplay {
    /// Replay guard on `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl ReplayGuard for RedisReplay {
    async fn first_use(
        &self,
        event: &EventId,
        id: &str,
        ttl: Duration,
    ) -> Result<bool, QueueError> {
        let key = format!("wr:{{evt:{event}}}:pow:{id}");
        let ms = i64::try_from(ttl.as_millis().max(1)).unwrap_or(i64::MAX);
        let set: Option<String> = self
            .client
            .set(
                key,
                "1",
                Some(fred::types::Expiration::PX(ms)),
                Some(fred::types::SetOptions::NX),
                false,
            )
            .await
            .map_err(unavailable)?;
        // `SET NX` answers OK when it set the key, nil when it existed.
        Ok(set.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_places_cap_and_give_back() {
        let p = MemoryPlaces::new(Duration::from_secs(60));
        let e = EventId::parse("e").expect("event");
        assert!(p.take(&e, "ip:1.2.3.4", 2).await.expect("take"));
        assert!(p.take(&e, "ip:1.2.3.4", 2).await.expect("take"));
        assert!(!p.take(&e, "ip:1.2.3.4", 2).await.expect("take"));
        assert!(p.take(&e, "ip:1.2.3.5", 2).await.expect("other ip"));
        p.give_back(&e, "ip:1.2.3.4").await.expect("give back");
        assert!(p.take(&e, "ip:1.2.3.4", 2).await.expect("take again"));
    }

    #[tokio::test]
    async fn memory_replay_allows_one_use() {
        let r = MemoryReplay::default();
        let e = EventId::parse("e").expect("event");
        let ttl = Duration::from_secs(60);
        assert!(r.first_use(&e, "abc", ttl).await.expect("first"));
        assert!(!r.first_use(&e, "abc", ttl).await.expect("second"));
        assert!(r.first_use(&e, "abd", ttl).await.expect("other"));
    }
}
