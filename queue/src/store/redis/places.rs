//! Joining and returning to a place: both run `join.lua`, which keeps the
//! rules for kept places in one script.

use super::codec::{status, to_array, to_u64};
use super::keys::EventKeys;
use super::RedisStore;
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::settings::QueueState;
use crate::store::{JoinOutcome, Millis};

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
        let keys = vec![
            k.seq(),
            k.fifo(),
            k.visitors(),
            k.seen(),
            k.settings(),
            k.prequeue(),
            k.pending_reinstated(),
        ];
        let mode = match mode {
            Mode::Join => "join",
            Mode::Reinstate => "reinstate",
        };
        let args = vec![
            visitor.to_string(),
            now.to_string(),
            self.joinable.clone(),
            mode.to_owned(),
        ];
        let reply = self
            .scripts
            .join
            .run(&self.client, &self.commands, keys, args);
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
