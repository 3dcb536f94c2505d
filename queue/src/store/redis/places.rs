//! Places given back after the store lost them (`restore.lua`,
//! `claim.lua`); joining is in `joins.rs`.

use super::codec::{self, redis_error, to_u64};
use super::keys::{EventKeys, EVENTS};
use super::RedisStore;
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::settings::QueueSettings;
use crate::store::{Millis, RestoreFloor, RESTORED_SESSION_PREFIX};
use fred::interfaces::SetsInterface;

impl RedisStore {
    /// See `QueueStore::restore`: `restore.lua`, then the event is listed
    /// (as in `put_settings`, after its settings exist).
    pub(super) async fn restore_event(
        &self,
        event: &EventId,
        settings: &QueueSettings,
        floor: &RestoreFloor,
        now: Millis,
    ) -> Result<()> {
        settings.validate()?;
        let k = EventKeys::new(event);
        let keys = vec![k.seq(), k.clock(), k.active(), k.settings()];
        let mut args = vec![
            floor.id.clone(),
            floor.last_ticket.to_string(),
            floor.head.to_string(),
            floor.active.to_string(),
            floor.active_until.to_string(),
            now.to_string(),
            RESTORED_SESSION_PREFIX.to_owned(),
        ];
        for (field, value) in codec::settings_fields(settings) {
            args.extend([field.to_owned(), value]);
        }
        let reply = self
            .scripts
            .restore
            .run(&self.client, &self.commands, keys, args);
        to_u64(&reply.await?, "restore reply")?;
        self.count();
        self.client
            .sadd::<(), _, _>(EVENTS, event.as_str())
            .await
            .map_err(redis_error)
    }

    /// See `QueueStore::claim`.
    pub(super) async fn claim_place(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        ticket: u64,
        now: Millis,
    ) -> Result<Option<u64>> {
        let k = EventKeys::new(event);
        let keys = vec![k.fifo(), k.visitors(), k.seen(), k.clock(), k.settings()];
        let args = vec![visitor.to_string(), ticket.to_string(), now.to_string()];
        let reply = self
            .scripts
            .claim
            .run(&self.client, &self.commands, keys, args)
            .await?;
        match reply.as_i64() {
            Some(1) => Ok(Some(ticket)),
            Some(0) => Ok(None),
            Some(-1) => Err(QueueError::UnknownEvent(event.to_string())),
            _ => Err(QueueError::Corrupt(format!("claim reply {reply:?}"))),
        }
    }
}
