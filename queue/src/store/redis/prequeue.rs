//! The pre-queue on Redis: members with their join times, the shuffle at
//! opening (`open_prequeue.lua`) and the seed key.

use super::codec::{redis_error, status, to_array, to_u64};
use super::keys::EventKeys;
use super::{codec, RedisStore};
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::settings::QueueSettings;
use crate::store::Millis;
use fred::interfaces::{KeysInterface, SortedSetsInterface};
use fred::types::{SetOptions, Value};

impl RedisStore {
    /// See `QueueStore::prequeue`.
    pub(super) async fn prequeue_members(
        &self,
        event: &EventId,
    ) -> Result<Vec<(VisitorId, Millis)>> {
        self.count();
        let items: Vec<(String, f64)> = self
            .client
            .zrange(
                EventKeys::new(event).prequeue(),
                0,
                -1,
                None,
                false,
                None,
                true,
            )
            .await
            .map_err(redis_error)?;
        items
            .into_iter()
            .map(|(v, at)| {
                let v = VisitorId::parse(&v)
                    .map_err(|_| QueueError::Corrupt(format!("pre-queue member {v:?}")))?;
                Ok((v, at as Millis))
            })
            .collect()
    }

    /// See `QueueStore::open_prequeue`.
    pub(super) async fn shuffle_open(
        &self,
        event: &EventId,
        order: &[VisitorId],
        settings: &QueueSettings,
        expected: u64,
        now: Millis,
    ) -> Result<Option<u64>> {
        settings.validate()?;
        let k = EventKeys::new(event);
        let keys = vec![
            k.settings(),
            k.prequeue(),
            k.seq(),
            k.fifo(),
            k.visitors(),
            k.seen(),
        ];
        let mut args = vec![
            expected.to_string(),
            now.to_string(),
            order.len().to_string(),
        ];
        args.extend(order.iter().map(|v| v.to_string()));
        for (field, value) in codec::settings_fields(settings) {
            args.extend([field.to_owned(), value]);
        }
        let reply = self
            .scripts
            .open_prequeue
            .run(&self.client, &self.commands, keys, args);
        let items = to_array(reply.await?, "open_prequeue reply")?;
        match (status(&items, "open_prequeue reply")?, items.get(1)) {
            (0, _) => Ok(None),
            (1, Some(given)) => Ok(Some(to_u64(given, "tickets given")?)),
            _ => Err(QueueError::Corrupt(format!(
                "open_prequeue reply {items:?}"
            ))),
        }
    }

    /// See `QueueStore::init_seed`.
    pub(super) async fn seed_init(&self, event: &EventId, seed: &str) -> Result<String> {
        let key = EventKeys::new(event).seed();
        self.count();
        let _: Value = self
            .client
            .set(&key, seed, None, Some(SetOptions::NX), false)
            .await
            .map_err(redis_error)?;
        self.seed_get(event)
            .await?
            .ok_or_else(|| QueueError::Corrupt("seed vanished".to_owned()))
    }

    /// See `QueueStore::seed`.
    pub(super) async fn seed_get(&self, event: &EventId) -> Result<Option<String>> {
        self.count();
        self.client
            .get(EventKeys::new(event).seed())
            .await
            .map_err(redis_error)
    }
}
