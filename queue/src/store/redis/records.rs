//! Visitor records read in bulk: `HMGET` on the visitors' hash, a bounded
//! number of fields per command so one call never holds Redis for long.

use super::codec::{self, redis_error};
use super::keys::EventKeys;
use super::RedisStore;
use crate::error::Result;
use crate::ids::{EventId, VisitorId};
use crate::store::{Millis, VisitorRecord};
use fred::interfaces::HashesInterface;

/// Fields per `HMGET`: 1,000 records of about 20 bytes each answer in well
/// under a millisecond.
pub(super) const FIELDS_PER_COMMAND: usize = 1_000;

impl RedisStore {
    /// See `QueueStore::lookup_many`.
    pub(super) async fn records(
        &self,
        event: &EventId,
        visitors: &[VisitorId],
        now: Millis,
    ) -> Result<Vec<VisitorRecord>> {
        let key = EventKeys::new(event).visitors();
        let mut records = Vec::with_capacity(visitors.len());
        for chunk in visitors.chunks(FIELDS_PER_COMMAND) {
            self.count();
            let fields: Vec<&str> = chunk.iter().map(VisitorId::as_str).collect();
            let raw: Vec<Option<String>> =
                self.client.hmget(&key, fields).await.map_err(redis_error)?;
            for r in raw {
                records.push(codec::parse_record(r, now)?);
            }
        }
        Ok(records)
    }
}
