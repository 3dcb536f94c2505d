//! Building Redis clients, connecting the store (scripts, tick feed) and
//! the housekeeping that is not part of the `QueueStore` contract.

use super::codec::{self, redis_error};
use super::keys::{EventKeys, EVENTS};
use super::{feed, joins, RedisStore, Scripts, COMMAND_TIMEOUT};
use crate::error::{QueueError, Result};
use crate::ids::EventId;
use crate::settings::QueueState;
use crate::store::memory::{ANNOUNCEMENT_CHANNEL_CAPACITY, TICK_CHANNEL_CAPACITY};
use fred::interfaces::{ClientLike, KeysInterface, SetsInterface};
use fred::types::config::{Config, ReconnectPolicy};
use fred::types::Builder;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

/// A client builder that fails fast while Redis is down and reconnects
/// forever: every Redis client in the workspace is built from this, so none
/// can hang a request (or readiness) when Redis stops answering.
pub fn fail_fast_builder(config: Config) -> Builder {
    let mut builder = Builder::from_config(config);
    builder
        .with_connection_config(|c| {
            c.connection_timeout = COMMAND_TIMEOUT;
            c.internal_command_timeout = COMMAND_TIMEOUT;
        })
        .with_performance_config(|p| p.default_command_timeout = COMMAND_TIMEOUT)
        // Unlimited attempts, 100 ms doubling up to 2 s.
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2));
    builder
}

/// Drops any `user:password@` from a URL before it goes into a message.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl RedisStore {
    /// See `QueueStore::remove_event`: two commands (the event set lives
    /// in another Cluster slot).
    pub(super) async fn forget_event(&self, event: &EventId) -> Result<()> {
        self.commands.fetch_add(2, Ordering::Relaxed);
        self.client
            .del::<(), _>(EventKeys::new(event).all())
            .await
            .map_err(redis_error)?;
        self.client
            .srem::<(), _, _>(EVENTS, event.as_str())
            .await
            .map_err(redis_error)
    }

    /// Connects to `url` (`redis://`, `rediss://`, `redis-sentinel://`,
    /// `redis-cluster://` as fred parses them), loads the scripts and
    /// subscribes to the tick channel. Fails with `Unavailable` when Redis
    /// cannot be reached now, rather than retrying forever at startup.
    pub async fn connect(url: &str) -> Result<RedisStore> {
        let unreachable = |e: fred::error::Error| {
            QueueError::Unavailable(format!("cannot reach Redis at {}: {e}", redact(url)))
        };
        let config = Config::from_url(url).map_err(|e| {
            QueueError::Unavailable(format!("invalid Redis URL {}: {e}", redact(url)))
        })?;
        let mut builder = fail_fast_builder(config);
        builder.with_performance_config(|p| {
            p.default_command_timeout = COMMAND_TIMEOUT;
            // fred's pub/sub fan-out; the default (32) lags under bursts.
            p.broadcast_channel_capacity = TICK_CHANNEL_CAPACITY;
        });

        let client = builder.build().map_err(unreachable)?;
        let connection = client.init().await.map_err(unreachable)?;
        let commands = Arc::new(AtomicU64::new(0));
        let scripts = match Scripts::load(&client, &commands).await {
            Ok(scripts) => scripts,
            Err(e) => {
                connection.abort();
                return Err(e);
            }
        };
        let (ticks, _) = broadcast::channel(TICK_CHANNEL_CAPACITY);
        let (announcements, _) = broadcast::channel(ANNOUNCEMENT_CHANNEL_CAPACITY);
        let feed = match feed::TickFeed::start(&builder, ticks.clone(), announcements.clone()).await
        {
            Ok(feed) => feed,
            Err(e) => {
                connection.abort();
                return Err(e);
            }
        };
        let placer = joins::Placer {
            client: client.clone(),
            script: scripts.join.clone(),
            commands: commands.clone(),
            joinable: codec::states_where(QueueState::accepts_joins).into(),
        };
        Ok(RedisStore {
            client,
            connection,
            commands,
            scripts,
            joins: joins::JoinQueue::start(placer.clone()),
            placer,
            ticks,
            announcements,
            _feed: feed,
            admitting: codec::states_where(QueueState::admits),
        })
    }

    /// Redis commands this store has sent on its command connection: one
    /// per command or script call (`EVALSHA`, and `EVAL` after a `NOSCRIPT`),
    /// including the `SCRIPT LOAD`s at connect. The subscriber connection's
    /// `SUBSCRIBE` is not counted.
    pub fn commands_sent(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    /// Counts one command about to be sent.
    pub(super) fn count(&self) {
        self.commands.fetch_add(1, Ordering::Relaxed);
    }
}
