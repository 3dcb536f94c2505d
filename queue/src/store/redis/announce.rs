//! Announcements on Redis: the one in force is a key of the event (so
//! `remove_event` deletes it), and every change is published on
//! [`ANNOUNCEMENTS_CHANNEL`] for the other processes' sockets. Fans'
//! contacts are a hash of the event, likewise.

use super::codec::{redis_error, to_u64};
use super::keys::{EventKeys, ANNOUNCEMENTS_CHANNEL};
use super::RedisStore;
use crate::announce::Announcement;
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use fred::interfaces::{KeysInterface, PubsubInterface};

impl RedisStore {
    /// See `QueueStore::announce`: one script, then one `PUBLISH`.
    pub(super) async fn announce_set(&self, announcement: &Announcement) -> Result<()> {
        let event = &announcement.event;
        let json = serde_json::to_string(announcement)
            .map_err(|e| QueueError::Corrupt(format!("announcement: {e}")))?;
        let k = EventKeys::new(event);
        let stored = if announcement.is_cleared() {
            String::new()
        } else {
            json.clone()
        };
        let reply = self.scripts.announce.run(
            &self.client,
            &self.commands,
            vec![k.settings(), k.announcement()],
            vec![stored],
        );
        if to_u64(&reply.await?, "announce reply")? != 1 {
            return Err(QueueError::UnknownEvent(event.to_string()));
        }
        // Stored first: a process that misses the message still finds the
        // announcement when it next reads it (`Engine` re-reads it).
        self.count();
        self.client
            .publish::<(), _, _>(ANNOUNCEMENTS_CHANNEL, json)
            .await
            .map_err(redis_error)
    }

    /// See `QueueStore::announcement`.
    pub(super) async fn announcement_get(&self, event: &EventId) -> Result<Option<Announcement>> {
        self.count();
        let json: Option<String> = self
            .client
            .get(EventKeys::new(event).announcement())
            .await
            .map_err(redis_error)?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| QueueError::Corrupt(format!("announcement: {e}")))
        })
        .transpose()
    }

    /// See `QueueStore::set_contact`: one script.
    pub(super) async fn contact_set(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        contact: &str,
    ) -> Result<bool> {
        let k = EventKeys::new(event);
        let reply = self.scripts.contact.run(
            &self.client,
            &self.commands,
            vec![k.settings(), k.visitors(), k.contacts()],
            vec![visitor.to_string(), contact.to_owned()],
        );
        match to_u64(&reply.await?, "contact reply")? {
            2 => Err(QueueError::UnknownEvent(event.to_string())),
            n => Ok(n == 1),
        }
    }

    /// See `QueueStore::contacts`: one `HMGET`.
    pub(super) async fn contacts_get(
        &self,
        event: &EventId,
        visitors: &[VisitorId],
    ) -> Result<Vec<(VisitorId, String)>> {
        let found = self
            .fields_of(EventKeys::new(event).contacts(), visitors)
            .await?;
        Ok(visitors
            .iter()
            .zip(found)
            .filter_map(|(v, c)| c.map(|c| (v.clone(), c)))
            .collect())
    }
}
