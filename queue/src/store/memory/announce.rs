//! Announcements and fans' contacts in the in-process store (mirrors
//! `redis/announce.lua` and `redis/contact.lua`): kept with the event, so
//! removing the event removes them.

use super::{unknown, MemoryStore};
use crate::announce::Announcement;
use crate::error::Result;
use crate::ids::{EventId, VisitorId};

impl MemoryStore {
    /// See `QueueStore::announce`.
    pub(super) fn set_announcement(&self, announcement: &Announcement) -> Result<()> {
        let mut inner = self.lock();
        let event = &announcement.event;
        let state = inner.events.get_mut(event).ok_or_else(|| unknown(event))?;
        state.announcement = (!announcement.is_cleared()).then(|| announcement.clone());
        // Sent while locked so subscribers see changes in the stored order;
        // an error only means nobody is subscribed right now.
        let _ = self.announcements.send(announcement.clone());
        Ok(())
    }

    /// See `QueueStore::announcement`.
    pub(super) fn announcement_of(&self, event: &EventId) -> Option<Announcement> {
        self.lock()
            .events
            .get(event)
            .and_then(|state| state.announcement.clone())
    }

    /// See `QueueStore::set_contact`.
    pub(super) fn keep_contact(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        contact: &str,
    ) -> Result<bool> {
        let mut inner = self.lock();
        let state = inner.events.get_mut(event).ok_or_else(|| unknown(event))?;
        if !state.knows(visitor) {
            return Ok(false);
        }
        state.contacts.insert(visitor.clone(), contact.to_owned());
        Ok(true)
    }

    /// See `QueueStore::contacts`.
    pub(super) fn contacts_of(
        &self,
        event: &EventId,
        visitors: &[VisitorId],
    ) -> Vec<(VisitorId, String)> {
        let inner = self.lock();
        let Some(state) = inner.events.get(event) else {
            return Vec::new();
        };
        visitors
            .iter()
            .filter_map(|v| state.contacts.get(v).map(|c| (v.clone(), c.clone())))
            .collect()
    }
}
