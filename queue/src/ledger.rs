//! The queue's system of record outside the queue store: every event's
//! settings (versioned) and a per-tick checkpoint of what the store must
//! never forget (the ticket high-water mark, the admitted-through head,
//! the active sessions). The store may lose data (a Redis restart without
//! persistence, a flush, a failover to a replica that missed the last
//! writes); the engine restores the event from here (`engine::recovery`).
//!
//! The real implementation is the records database (`admin::store::AdminDb`,
//! PostgreSQL or SQLite); [`MemoryLedger`] is for tests and tools.

use crate::error::Result;
use crate::ids::EventId;
use crate::settings::QueueSettings;
use crate::store::Millis;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// What the admitter records after every tick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// The store's epoch (random id of the event's state) at that tick.
    pub epoch: String,
    /// Highest ticket issued (a high-water mark: never lowered).
    pub last_ticket: u64,
    /// Admitted-through head (never lowered).
    pub head: u64,
    /// Active sessions after the tick.
    pub active: u32,
    /// No session counted in `active` lives past this (ms).
    pub active_until: Millis,
    /// Most tickets issued between two checkpoints so far (never
    /// lowered): joins after the last checkpoint before a loss got at most
    /// about this many tickets, so a restored counter skips this far.
    pub ticket_margin: u64,
    /// When it was taken (ms).
    pub at: Millis,
}

/// Durable queue records, shared by every process.
#[async_trait]
pub trait QueueLedger: Send + Sync + 'static {
    /// Stores `settings` unless a version at least as new is stored.
    async fn save_settings(&self, event: &EventId, settings: &QueueSettings) -> Result<()>;

    /// The newest stored settings.
    async fn load_settings(&self, event: &EventId) -> Result<Option<QueueSettings>>;

    /// Every event with stored settings.
    async fn events(&self) -> Result<Vec<EventId>>;

    /// Forgets the event (its queue was removed on purpose), so it is not
    /// restored.
    async fn forget(&self, event: &EventId) -> Result<()>;

    /// Records a checkpoint. `last_ticket`, `head` and `ticket_margin`
    /// only ever rise; the rest is replaced.
    async fn checkpoint(&self, event: &EventId, checkpoint: &Checkpoint) -> Result<()>;

    /// The event's checkpoint, if a tick ever ran.
    async fn load_checkpoint(&self, event: &EventId) -> Result<Option<Checkpoint>>;
}

/// Raises the high-water fields of `stored` with `new`, replacing the rest:
/// the rule every implementation follows.
pub fn merge_checkpoint(stored: Option<&Checkpoint>, new: &Checkpoint) -> Checkpoint {
    let mut merged = new.clone();
    if let Some(old) = stored {
        merged.last_ticket = merged.last_ticket.max(old.last_ticket);
        merged.head = merged.head.max(old.head);
        merged.ticket_margin = merged.ticket_margin.max(old.ticket_margin);
    }
    merged
}

/// An in-process ledger: the semantics of the database one, without
/// durability. For tests and single-process tools.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    inner: Mutex<HashMap<EventId, Records>>,
}

/// One event's records: settings and checkpoint.
type Records = (Option<QueueSettings>, Option<Checkpoint>);

impl MemoryLedger {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<EventId, Records>) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl QueueLedger for MemoryLedger {
    async fn save_settings(&self, event: &EventId, settings: &QueueSettings) -> Result<()> {
        self.with(|m| {
            let entry = &mut m.entry(event.clone()).or_default().0;
            if entry
                .as_ref()
                .is_none_or(|s| s.policy.version < settings.policy.version)
            {
                *entry = Some(settings.clone());
            }
        });
        Ok(())
    }

    async fn load_settings(&self, event: &EventId) -> Result<Option<QueueSettings>> {
        Ok(self.with(|m| m.get(event).and_then(|e| e.0.clone())))
    }

    async fn events(&self) -> Result<Vec<EventId>> {
        let mut events: Vec<EventId> = self.with(|m| {
            m.iter()
                .filter(|(_, e)| e.0.is_some())
                .map(|(k, _)| k.clone())
                .collect()
        });
        events.sort();
        Ok(events)
    }

    async fn forget(&self, event: &EventId) -> Result<()> {
        self.with(|m| m.remove(event));
        Ok(())
    }

    async fn checkpoint(&self, event: &EventId, checkpoint: &Checkpoint) -> Result<()> {
        self.with(|m| {
            let entry = &mut m.entry(event.clone()).or_default().1;
            *entry = Some(merge_checkpoint(entry.as_ref(), checkpoint));
        });
        Ok(())
    }

    async fn load_checkpoint(&self, event: &EventId) -> Result<Option<Checkpoint>> {
        Ok(self.with(|m| m.get(event).and_then(|e| e.1.clone())))
    }
}
