//! The waitlist on Redis: every change is one run of `waitlist.lua`; the
//! tick script makes and expires the offers.

use super::codec::{to_array, to_u64};
use super::keys::EventKeys;
use super::RedisStore;
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::store::{Millis, WaitlistState};
use fred::types::Value;

impl RedisStore {
    /// One run of `waitlist.lua` on `event`'s keys.
    async fn run_waitlist(&self, event: &EventId, args: Vec<String>) -> Result<Value> {
        let k = EventKeys::new(event);
        let keys = vec![k.waitlist(), k.offers(), k.settings()];
        self.scripts
            .waitlist
            .run(&self.client, &self.commands, keys, args)
            .await
    }

    /// Runs a changing mode of `waitlist.lua`; returns its reply (`-1`: no
    /// such queue, which changes nothing and is not an error here).
    pub(super) async fn waitlist_change(
        &self,
        event: &EventId,
        mode: &str,
        visitor: Option<&VisitorId>,
        seats: u64,
    ) -> Result<i64> {
        let args = vec![
            mode.to_owned(),
            seats.to_string(),
            visitor.map(ToString::to_string).unwrap_or_default(),
            String::new(),
        ];
        let reply = self.run_waitlist(event, args).await?;
        reply
            .as_i64()
            .ok_or_else(|| QueueError::Corrupt(format!("waitlist reply {reply:?}")))
    }

    /// See `QueueStore::waitlist`.
    pub(super) async fn waitlist_read(
        &self,
        event: &EventId,
        visitor: Option<&VisitorId>,
        now: Millis,
    ) -> Result<WaitlistState> {
        let args = vec![
            "read".to_owned(),
            "0".to_owned(),
            visitor.map(ToString::to_string).unwrap_or_default(),
            now.to_string(),
        ];
        let reply = self.run_waitlist(event, args).await?;
        if reply.as_i64() == Some(-1) {
            return Err(QueueError::UnknownEvent(event.to_string()));
        }
        let items = to_array(reply, "waitlist reply")?;
        let [sold_out, free, offers, mine] = <[Value; 4]>::try_from(items)
            .map_err(|v| QueueError::Corrupt(format!("waitlist reply {v:?}")))?;
        Ok(WaitlistState {
            sold_out: to_u64(&sold_out, "sold_out")? == 1,
            free: to_u64(&free, "free")?,
            offers: to_u64(&offers, "offers")?,
            offer_expires_at: mine.as_i64().and_then(|m| u64::try_from(m).ok()),
        })
    }
}
