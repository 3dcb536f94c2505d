//! The engine's side of the sold-out waitlist (see `store/waitlist.rs`):
//! which state a fan in line is in, offers on admitted fans, and joins a
//! sold-out event refuses.

use super::view::EventView;
use super::waiters::Offer;
use super::{lock, waiting_state, Engine, EventHub};
use crate::error::{QueueError, Result};
use crate::ids::VisitorId;
use crate::protocol::{ServerMsg, WaiterState};
use crate::store::{Millis, VisitorRecord};

/// The state of a fan in line: `waitlisted` once the event sold out and
/// the line moves only as seats come back (a closed queue stays closed).
pub fn in_line_state(view: &EventView) -> WaiterState {
    match waiting_state(view.settings.state) {
        WaiterState::Waiting | WaiterState::Paused if view.sold_out => WaiterState::Waitlisted,
        other => other,
    }
}

impl Engine {
    /// When the visitor's outstanding waitlist offer expires, if they have
    /// one. Only asked once the event sold out; a failed lookup answers
    /// `None` (the admission itself stands, shown without the offer's end).
    pub(crate) async fn offer_of(
        &self,
        hub: &EventHub,
        visitor: &VisitorId,
        now: Millis,
    ) -> Option<Millis> {
        if !lock(&hub.view).sold_out {
            return None;
        }
        match self.store.waitlist(&hub.event, Some(visitor), now).await {
            Ok(w) => w.offer_expires_at,
            Err(e) => {
                tracing::warn!(event = %hub.event, error = %e, "reading a waitlist offer failed");
                None
            }
        }
    }

    /// Refuses a new place at a sold-out event whose operator closed the
    /// waitlist to new arrivals; a fan who still has a place keeps it.
    /// The setting is read from the store (only once sold out), so an
    /// operator's change applies to the very next join.
    pub(crate) async fn check_waitlist_join(
        &self,
        hub: &EventHub,
        before: &VisitorRecord,
        kept: bool,
    ) -> Result<()> {
        let has_place = matches!(
            before,
            VisitorRecord::Waiting { .. }
                | VisitorRecord::Admitted { .. }
                | VisitorRecord::Prequeue
        );
        if kept || has_place || !lock(&hub.view).sold_out {
            return Ok(());
        }
        let settings = self.track(self.store.settings(&hub.event).await)?;
        match settings {
            Some(s) if !s.policy.waitlist_joins => Err(QueueError::SoldOut),
            _ => Ok(()),
        }
    }
}

impl Engine {
    /// Tells every local waiter in line that the event sold out and where
    /// they stand on the waitlist (once, when a tick first reports it).
    pub(crate) fn announce_sold_out(&self, hub: &EventHub) {
        // Lock order everywhere: view, then waiters.
        let view = lock(&hub.view);
        let mut waiters = lock(&hub.waiters);
        waiters.by_conn.retain(|_, w| {
            if w.admitted || w.ticket == 0 {
                return true;
            }
            let p = view.position(w.ticket);
            let msg = ServerMsg::Waitlisted {
                position: p.position,
                ahead: p.ahead,
                waiting: view.waiting.max(p.position),
            };
            w.offer(&msg) == Offer::Sent
        });
    }
}
