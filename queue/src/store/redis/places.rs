//! Joining and returning to a place: both run `join.lua`, which keeps the
//! rules for kept places in one script; and places given back after the
//! store lost them (`restore.lua`, `claim.lua`).

use super::codec::{self, redis_error, status, to_array, to_u64};
use super::keys::{EventKeys, EVENTS};
use super::RedisStore;
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::settings::{QueueSettings, QueueState};
use crate::store::{JoinOutcome, Millis, RestoreFloor, RESTORED_SESSION_PREFIX};
use fred::interfaces::SetsInterface;

/// What `join.lua` is asked to do.
pub(super) enum Mode {
    /// Return any place the visitor has, else issue one.
    Join,
    /// Only give back a place kept after an absence.
    Reinstate,
}

impl RedisStore {
    /// Runs `join.lua`; `None` when `Mode::Reinstate` found no kept place.
    pub(super) async fn place(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
        mode: Mode,
    ) -> Result<Option<JoinOutcome>> {
        let k = EventKeys::new(event);
        let mode = match mode {
            Mode::Join => "join",
            Mode::Reinstate => "reinstate",
        };
        let call = || {
            let keys = vec![
                k.seq(),
                k.fifo(),
                k.visitors(),
                k.seen(),
                k.settings(),
                k.prequeue(),
                k.pending_reinstated(),
            ];
            let args = vec![
                visitor.to_string(),
                now.to_string(),
                self.joinable.clone(),
                mode.to_owned(),
            ];
            (keys, args)
        };
        let reply = self
            .scripts
            .join
            .run_with(&self.client, &self.commands, call);
        let items = to_array(reply.await?, "join reply")?;
        match (status(&items, "join reply")?, items.get(1), items.get(2)) {
            (-1, _, _) => Err(QueueError::UnknownEvent(event.to_string())),
            (-2, Some(state), _) => {
                let state = state.as_str().and_then(|s| QueueState::parse(&s));
                let state = state.ok_or_else(|| QueueError::Corrupt("queue state".into()))?;
                Err(QueueError::NotJoinable(state))
            }
            (-3, _, _) => Ok(None),
            (ticket, Some(fresh), Some(reinstated)) if ticket >= 0 => Ok(Some(JoinOutcome {
                ticket: ticket.unsigned_abs(),
                fresh: to_u64(fresh, "fresh")? == 1,
                reinstated: to_u64(reinstated, "reinstated")? == 1,
            })),
            _ => Err(QueueError::Corrupt(format!("join reply {items:?}"))),
        }
    }
}

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
