//! Redis store (fred): the production backend shared by every node.
//!
//! Key layout is in [`keys`]; every state change is one Lua script
//! ([`scripts`], sources in `redis/*.lua`), so it is atomic even with many
//! nodes, and the tick script itself checks the lease owner so two nodes can
//! never both tick an event. Ticks are published on one pub/sub channel and
//! fanned out in process by [`feed`].
//!
//! The client fails fast: commands time out after [`COMMAND_TIMEOUT`] and
//! surface as `QueueError::Unavailable` while Redis is down, and the
//! connection keeps reconnecting with backoff so everything resumes when it
//! returns.

mod announce;
mod codec;
mod connect;
mod counters;
mod feed;
mod joins;
mod keys;
mod places;
mod prequeue;
mod records;
mod scripts;
mod waitlist;

use super::memory::{MAX_DEPARTURES_PER_TICK, MAX_EXPIRIES_PER_TICK};
use super::{JoinOutcome, Millis, QueueStore, Snapshot, Tick, TickOutcome, VisitorRecord};
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::settings::QueueSettings;
use async_trait::async_trait;
use codec::{redis_error, to_u64, TickReply};
use fred::clients::Client;
use fred::interfaces::{
    ClientLike, HashesInterface, PubsubInterface, SetsInterface, SortedSetsInterface,
};
use fred::types::sorted_sets::Ordering as ZaddOrdering;
use fred::types::{SetOptions, Value};
use keys::{EventKeys, EVENTS, TICKS_CHANNEL};
use scripts::Scripts;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// Longest any single command may take before it fails as `Unavailable`.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

pub use connect::fail_fast_builder;

/// Queue state in Redis.
pub struct RedisStore {
    client: Client,
    /// The client's connection task, stopped when the store is dropped.
    connection: JoinHandle<std::result::Result<(), fred::error::Error>>,
    /// Commands sent so far, so benchmarks can report commands per tick.
    commands: Arc<AtomicU64>,
    scripts: Scripts,
    /// Runs `join.lua` (returns to a kept place go straight through it).
    placer: joins::Placer,
    /// Joins, sent to Redis together.
    joins: joins::JoinQueue,
    /// Ticks from every node, fed by `_feed`.
    ticks: broadcast::Sender<Tick>,
    /// Announcements from every node, fed by `_feed`.
    announcements: broadcast::Sender<crate::announce::Announcement>,
    _feed: feed::TickFeed,
    /// Admitting states, computed once for the scripts (the joinable
    /// ones are the `placer`'s).
    admitting: String,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

#[async_trait]
impl QueueStore for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<()> {
        self.count();
        self.client
            .ping::<Value>(None)
            .await
            .map(drop)
            .map_err(redis_error)
    }

    async fn put_settings(&self, event: &EventId, settings: &QueueSettings) -> Result<()> {
        settings.validate()?;
        let keys = EventKeys::new(event);
        // Settings first: an event listed in `wr:events` always has them.
        // A retry after a failure in between is harmless (both idempotent).
        self.count();
        self.client
            .hset::<(), _, _>(keys.settings(), codec::settings_fields(settings))
            .await
            .map_err(redis_error)?;
        self.count();
        self.client
            .sadd::<(), _, _>(EVENTS, event.as_str())
            .await
            .map_err(redis_error)
    }

    async fn put_settings_if(
        &self,
        event: &EventId,
        settings: &QueueSettings,
        expected: Option<u64>,
    ) -> Result<bool> {
        settings.validate()?;
        let mut args = vec![expected.map(|v| v.to_string()).unwrap_or_default()];
        for (field, value) in codec::settings_fields(settings) {
            args.extend([field.to_owned(), value]);
        }
        let keys = vec![EventKeys::new(event).settings()];
        let reply = self
            .scripts
            .settings_cas
            .run(&self.client, &self.commands, keys, args);
        if to_u64(&reply.await?, "settings_cas reply")? != 1 {
            return Ok(false);
        }
        // As in `put_settings`: listed after the settings exist.
        self.count();
        self.client
            .sadd::<(), _, _>(EVENTS, event.as_str())
            .await
            .map_err(redis_error)?;
        Ok(true)
    }

    async fn prequeue(&self, event: &EventId) -> Result<Vec<(VisitorId, Millis)>> {
        self.prequeue_members(event).await
    }

    async fn open_prequeue(
        &self,
        event: &EventId,
        order: &[VisitorId],
        settings: &QueueSettings,
        expected: u64,
        now: Millis,
    ) -> Result<Option<u64>> {
        self.shuffle_open(event, order, settings, expected, now)
            .await
    }

    async fn init_seed(&self, event: &EventId, seed: &str) -> Result<String> {
        self.seed_init(event, seed).await
    }

    async fn seed(&self, event: &EventId) -> Result<Option<String>> {
        self.seed_get(event).await
    }

    async fn remove_event(&self, event: &EventId) -> Result<()> {
        self.forget_event(event).await
    }

    async fn add_counters(&self, event: &EventId, deltas: &[(&str, u64)]) -> Result<()> {
        self.counters_add(event, deltas).await
    }

    async fn counters(&self, event: &EventId) -> Result<std::collections::BTreeMap<String, u64>> {
        self.counters_get(event).await
    }

    async fn settings(&self, event: &EventId) -> Result<Option<QueueSettings>> {
        self.count();
        let values: Vec<Value> = self
            .client
            .hmget(
                EventKeys::new(event).settings(),
                codec::SETTINGS_FIELDS.to_vec(),
            )
            .await
            .map_err(redis_error)?;
        codec::parse_settings(values)
    }

    async fn events(&self) -> Result<Vec<EventId>> {
        self.count();
        let ids: Vec<String> = self.client.smembers(EVENTS).await.map_err(redis_error)?;
        let mut events = ids
            .iter()
            .map(|id| {
                EventId::parse(id).map_err(|_| QueueError::Corrupt(format!("event id {id:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        events.sort();
        Ok(events)
    }

    async fn join(&self, event: &EventId, visitor: &VisitorId, now: Millis) -> Result<JoinOutcome> {
        self.joins.join(event, visitor, now).await
    }

    async fn reinstate(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
    ) -> Result<Option<u64>> {
        let answers = self
            .placer
            .place(event, &[visitor], now, joins::Mode::Reinstate)
            .await?;
        let answer = answers.into_iter().next();
        let outcome = answer.ok_or_else(|| QueueError::Corrupt("reinstate reply".into()))??;
        Ok(outcome.map(|o| o.ticket))
    }

    async fn lookup(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
    ) -> Result<VisitorRecord> {
        self.count();
        let raw: Option<String> = self
            .client
            .hget(EventKeys::new(event).visitors(), visitor.as_str())
            .await
            .map_err(redis_error)?;
        codec::parse_record(raw, now)
    }

    async fn lookup_many(
        &self,
        event: &EventId,
        visitors: &[VisitorId],
        now: Millis,
    ) -> Result<Vec<VisitorRecord>> {
        self.records(event, visitors, now).await
    }

    async fn touch(&self, event: &EventId, visitors: &[VisitorId], now: Millis) -> Result<()> {
        if visitors.is_empty() {
            return Ok(());
        }
        let scores: Vec<(f64, &str)> = visitors.iter().map(|v| (now as f64, v.as_str())).collect();
        self.count();
        touch_seen(&self.client, event, scores).await
    }

    async fn lookup_present(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
    ) -> Result<VisitorRecord> {
        // One round trip: the touch needs no answer from the lookup, since
        // `seen` holds exactly the waiters (see `touch_seen`).
        let pipeline = self.client.pipeline();
        let _: () = pipeline
            .hget(EventKeys::new(event).visitors(), visitor.as_str())
            .await
            .map_err(redis_error)?;
        touch_seen(&pipeline, event, vec![(now as f64, visitor.as_str())]).await?;
        self.count();
        let (raw, _): (Option<String>, fred::types::Value) =
            pipeline.all().await.map_err(redis_error)?;
        codec::parse_record(raw, now)
    }

    async fn leave(&self, event: &EventId, visitor: &VisitorId) -> Result<bool> {
        let k = EventKeys::new(event);
        let keys = vec![k.fifo(), k.visitors(), k.seen(), k.pending_departed()];
        let reply = self.scripts.leave.run(
            &self.client,
            &self.commands,
            keys,
            vec![visitor.to_string()],
        );
        Ok(to_u64(&reply.await?, "leave reply")? == 1)
    }

    async fn release(&self, event: &EventId, visitor: &VisitorId) -> Result<bool> {
        let k = EventKeys::new(event);
        let keys = vec![k.visitors(), k.active(), k.offers()];
        let reply = self.scripts.release.run(
            &self.client,
            &self.commands,
            keys,
            vec![visitor.to_string()],
        );
        Ok(to_u64(&reply.await?, "release reply")? == 1)
    }

    async fn acquire_lease(&self, event: &EventId, node: &str, ttl_ms: u64) -> Result<bool> {
        let keys = vec![EventKeys::new(event).lease()];
        let args = vec![node.to_owned(), ttl_ms.max(1).to_string()];
        let reply = self
            .scripts
            .lease
            .run(&self.client, &self.commands, keys, args);
        Ok(to_u64(&reply.await?, "lease reply")? == 1)
    }

    async fn tick(&self, event: &EventId, node: &str, now: Millis) -> Result<Option<Tick>> {
        let unguarded = super::TickGuard::default();
        let outcome = self.tick_guarded(event, node, now, &unguarded).await?;
        Ok(outcome.into_tick())
    }

    async fn tick_guarded(
        &self,
        event: &EventId,
        node: &str,
        now: Millis,
        guard: &super::TickGuard,
    ) -> Result<TickOutcome> {
        let k = EventKeys::new(event);
        let keys = vec![
            k.seq(),
            k.fifo(),
            k.visitors(),
            k.seen(),
            k.departed(),
            k.pending_departed(),
            k.active(),
            k.settings(),
            k.clock(),
            k.lease(),
            k.pending_reinstated(),
            k.waitlist(),
            k.offers(),
        ];
        let args = vec![
            node.to_owned(),
            now.to_string(),
            self.admitting.clone(),
            MAX_DEPARTURES_PER_TICK.to_string(),
            MAX_EXPIRIES_PER_TICK.to_string(),
            uuid::Uuid::new_v4().simple().to_string(),
            guard.high_water.to_string(),
            guard.epoch.clone(),
        ];
        let reply = self
            .scripts
            .tick
            .run(&self.client, &self.commands, keys, args)
            .await?;
        let tick = match codec::parse_tick(event, now, reply)? {
            TickReply::NotLeader => return Ok(TickOutcome::NotLeader),
            TickReply::Lost => return Ok(TickOutcome::Lost),
            TickReply::UnknownEvent => return Err(QueueError::UnknownEvent(event.to_string())),
            TickReply::Ran(tick) => tick,
        };
        // The tick is committed; failing to publish it only leaves a `seq`
        // gap that nodes repair with `snapshot`, so it is not an error here.
        match serde_json::to_string(&tick) {
            Ok(json) => {
                self.count();
                if let Err(error) = self.client.publish::<(), _, _>(TICKS_CHANNEL, json).await {
                    tracing::warn!(%error, event = %event, seq = tick.seq, "tick not published");
                }
            }
            Err(error) => tracing::warn!(%error, "tick not serializable"),
        }
        Ok(TickOutcome::Ran(tick))
    }

    async fn snapshot(&self, event: &EventId) -> Result<Snapshot> {
        let k = EventKeys::new(event);
        let keys = vec![
            k.seq(),
            k.fifo(),
            k.departed(),
            k.active(),
            k.settings(),
            k.clock(),
            k.waitlist(),
        ];
        let reply = self
            .scripts
            .snapshot
            .run(&self.client, &self.commands, keys, vec![]);
        codec::parse_snapshot(reply.await?)?
            .ok_or_else(|| QueueError::UnknownEvent(event.to_string()))
    }

    async fn restore(
        &self,
        event: &EventId,
        settings: &QueueSettings,
        floor: &super::RestoreFloor,
        now: Millis,
    ) -> Result<()> {
        self.restore_event(event, settings, floor, now).await
    }

    async fn claim(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        ticket: u64,
        now: Millis,
    ) -> Result<Option<u64>> {
        self.claim_place(event, visitor, ticket, now).await
    }

    fn subscribe(&self) -> broadcast::Receiver<Tick> {
        self.ticks.subscribe()
    }

    async fn mark_sold_out(&self, event: &EventId) -> Result<bool> {
        Ok(self.waitlist_change(event, "sold_out", None, 0).await? == 1)
    }

    async fn return_seats(&self, event: &EventId, seats: u64) -> Result<()> {
        self.waitlist_change(event, "return", None, seats).await?;
        Ok(())
    }

    async fn take_seats(&self, event: &EventId, visitor: &VisitorId, seats: u64) -> Result<()> {
        self.waitlist_change(event, "take", Some(visitor), seats)
            .await?;
        Ok(())
    }

    async fn waitlist(
        &self,
        event: &EventId,
        visitor: Option<&VisitorId>,
        now: Millis,
    ) -> Result<super::WaitlistState> {
        self.waitlist_read(event, visitor, now).await
    }

    async fn announce(&self, announcement: &crate::announce::Announcement) -> Result<()> {
        self.announce_set(announcement).await
    }

    async fn announcement(&self, event: &EventId) -> Result<Option<crate::announce::Announcement>> {
        self.announcement_get(event).await
    }

    fn subscribe_announcements(&self) -> broadcast::Receiver<crate::announce::Announcement> {
        self.announcements.subscribe()
    }

    async fn set_contact(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        contact: &str,
    ) -> Result<bool> {
        self.contact_set(event, visitor, contact).await
    }

    async fn contacts(
        &self,
        event: &EventId,
        visitors: &[VisitorId],
    ) -> Result<Vec<(VisitorId, String)>> {
        self.contacts_get(event, visitors).await
    }
}

/// Marks `scores`' visitors present. `seen` holds exactly the waiters, so
/// `XX` (update existing only) ignores everyone else without a script, and
/// `GT` never moves a timestamp backwards. Millisecond timestamps are exact
/// in an f64.
async fn touch_seen<C: SortedSetsInterface + Sync>(
    client: &C,
    event: &EventId,
    scores: Vec<(f64, &str)>,
) -> Result<()> {
    client
        .zadd::<(), _, _>(
            EventKeys::new(event).seen(),
            Some(SetOptions::XX),
            Some(ZaddOrdering::GreaterThan),
            false,
            false,
            scores,
        )
        .await
        .map_err(redis_error)
}
