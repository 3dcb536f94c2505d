//! Shared counters on Redis: one hash per event, incremented in one
//! pipelined round trip per flush.

use super::codec::redis_error;
use super::keys::EventKeys;
use super::RedisStore;
use crate::error::Result;
use crate::ids::EventId;
use fred::interfaces::HashesInterface;
use std::collections::{BTreeMap, HashMap};

impl RedisStore {
    /// See `QueueStore::add_counters`.
    pub(super) async fn counters_add(&self, event: &EventId, deltas: &[(&str, u64)]) -> Result<()> {
        let key = EventKeys::new(event).counters();
        let pipeline = self.client.pipeline();
        for (name, n) in deltas.iter().filter(|(_, n)| *n > 0) {
            let n = i64::try_from(*n).unwrap_or(i64::MAX);
            let _: () = pipeline
                .hincrby(&key, *name, n)
                .await
                .map_err(redis_error)?;
        }
        self.count();
        let _: Vec<fred::types::Value> = pipeline.all().await.map_err(redis_error)?;
        Ok(())
    }

    /// See `QueueStore::counters`.
    pub(super) async fn counters_get(&self, event: &EventId) -> Result<BTreeMap<String, u64>> {
        self.count();
        let all: HashMap<String, u64> = self
            .client
            .hgetall(EventKeys::new(event).counters())
            .await
            .map_err(redis_error)?;
        Ok(all.into_iter().collect())
    }
}
