//! Live announcements on this node: the one in force per event (what
//! `status` reports and a new socket hears after its hello), and the task
//! that forwards every change, from whichever node made it, to the sockets
//! here.

use super::{lock, now_ms, Engine, EventHub};
use crate::announce::{validate_message, Announcement};
use crate::error::Result;
use crate::ids::EventId;
use crate::protocol::ServerMsg;
use crate::store::Millis;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often every hub's announcement is re-read from the store, so a
/// node that missed a published change (its subscription was reconnecting)
/// catches up.
const REFRESH: Duration = Duration::from_secs(5);

/// An event's announcement as this node knows it.
#[derive(Debug, Default)]
pub(crate) struct AnnouncementCache {
    /// The one in force.
    pub(crate) current: Option<Announcement>,
    /// When the latest change applied here was made (ms): an older message
    /// arriving late is ignored.
    pub(crate) at: Millis,
}

impl Engine {
    /// Sets (or, with an empty `message`, clears) the event's announcement
    /// for every fan on every node. Fails with `UnknownEvent` when the event
    /// has no queue, `Invalid` when the message is too long or not text.
    pub async fn announce(&self, event: &EventId, message: &str) -> Result<Announcement> {
        let announcement = Announcement {
            event: event.clone(),
            message: validate_message(message)?,
            at: now_ms(),
        };
        self.track(self.store.announce(&announcement).await)?;
        // The subscription delivers it here too; applying it now lets this
        // node's fans see it without waiting for the round trip.
        self.apply_announcement(&announcement);
        Ok(announcement)
    }

    /// The event's announcement in force, read from the store.
    pub async fn announcement(&self, event: &EventId) -> Result<Option<Announcement>> {
        self.ensure_event(event)
            .await?
            .ok_or_else(|| crate::QueueError::UnknownEvent(event.to_string()))?;
        self.track(self.store.announcement(event).await)
    }

    /// A published change: kept and sent to this node's sockets of the
    /// event, unless it is older than what the node already has.
    pub(crate) fn apply_announcement(&self, announcement: &Announcement) {
        let Some(hub) = self.read_hubs().get(&announcement.event).cloned() else {
            return; // no fan of this event here; a new hub reads the store
        };
        let mut cache = lock(&hub.announcement);
        if announcement.at < cache.at {
            return;
        }
        let next = (!announcement.is_cleared()).then(|| announcement.clone());
        if next == cache.current {
            cache.at = announcement.at;
            return;
        }
        cache.at = announcement.at;
        cache.current = next;
        drop(cache);
        send_to_sockets(&hub, announcement);
    }

    /// Re-reads an event's announcement from the store (see [`REFRESH`]).
    async fn refresh_announcement(&self, hub: &EventHub) {
        let started = now_ms();
        let stored = match self.store.announcement(&hub.event).await {
            Ok(stored) => stored,
            Err(error) => {
                tracing::debug!(%error, event = %hub.event, "announcement not re-read");
                return;
            }
        };
        match stored {
            Some(a) => self.apply_announcement(&a),
            None => {
                let mut cache = lock(&hub.announcement);
                // Only what was set before this read began can be known to
                // be cleared; a newer one arrived while reading.
                let Some(current) = cache.current.take_if(|c| c.at < started) else {
                    return;
                };
                drop(cache);
                let cleared = Announcement {
                    message: String::new(),
                    ..current
                };
                send_to_sockets(hub, &cleared);
            }
        }
    }

    /// The announcement a hub starts with (one store read when the event is
    /// first used on this node); a failed read starts empty and the next
    /// refresh catches up.
    pub(crate) async fn initial_announcement(&self, event: &EventId) -> AnnouncementCache {
        match self.store.announcement(event).await {
            Ok(current) => AnnouncementCache {
                at: current.as_ref().map_or(0, |a| a.at),
                current,
            },
            Err(error) => {
                tracing::debug!(%error, event = %event, "announcement not read");
                AnnouncementCache::default()
            }
        }
    }

    /// Follows every node's announcements, and re-reads them every
    /// [`REFRESH`] for the changes a reconnecting subscription missed.
    pub(super) async fn announcer(self: Arc<Self>) {
        let mut changes = self.store.subscribe_announcements();
        let mut subscribed = true;
        let mut refresh = tokio::time::interval(REFRESH);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                change = changes.recv(), if subscribed => match change {
                    Ok(a) => self.apply_announcement(&a),
                    Err(RecvError::Lagged(_)) => self.refresh_all().await,
                    // A store without a feed: the refresh alone keeps up.
                    Err(RecvError::Closed) => subscribed = false,
                },
                _ = refresh.tick() => self.refresh_all().await,
            }
        }
    }

    async fn refresh_all(&self) {
        for hub in self.all_hubs() {
            if !lock(&hub.waiters).is_empty() || lock(&hub.announcement).current.is_some() {
                self.refresh_announcement(&hub).await;
            }
        }
    }
}

/// The `announcement` message of a change.
pub(crate) fn message(announcement: &Announcement) -> ServerMsg {
    ServerMsg::Announcement {
        message: announcement.message.clone(),
        at: announcement.at,
    }
}

fn send_to_sockets(hub: &EventHub, announcement: &Announcement) {
    lock(&hub.waiters).broadcast(&message(announcement));
}
