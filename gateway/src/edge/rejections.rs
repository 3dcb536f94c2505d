//! Per-event rejection counts for the operators' dashboard: gathered in
//! process (a map update per rejection, no I/O on the refusal path) and
//! flushed once a second into the queue store's shared counters, so the
//! dashboard shows one event's rejections summed over every node.

use queue::store::counters::{CAPTCHA_FAILED, RATE_LIMITED};
use queue::{EventId, QueueStore};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Distinct events counted between flushes. Rejected requests may name
/// any event id; past this bound new ids are not counted until the next
/// flush, so a flood of made-up ids cannot grow memory.
const MAX_EVENTS: usize = 1_024;

/// Counts waiting for the next flush: `[rate limited, CAPTCHA failed]`.
#[derive(Debug, Default)]
pub struct RejectionCounts {
    pending: Mutex<HashMap<EventId, [u64; 2]>>,
}

impl RejectionCounts {
    /// A request for `event` hit a rate limit.
    pub fn rate_limited(&self, event: &EventId) {
        self.add(event.clone(), 0);
    }

    /// A join of `event` came without a valid CAPTCHA solution.
    pub fn captcha_failed(&self, event: &EventId) {
        self.add(event.clone(), 1);
    }

    fn add(&self, event: EventId, slot: usize) {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pending.len() >= MAX_EVENTS && !pending.contains_key(&event) {
            return;
        }
        pending.entry(event).or_default()[slot] += 1;
    }

    /// Adds what was counted since the last flush to the store, for events
    /// that exist. A failed write drops that second's counts (they are
    /// also in the Prometheus metrics); the refusals themselves happened.
    pub async fn flush(&self, store: &dyn QueueStore) {
        let pending = std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if pending.is_empty() {
            return;
        }
        let known: HashSet<EventId> = match store.events().await {
            Ok(events) => events.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "rejection counts not flushed");
                return;
            }
        };
        for (event, [limited, captcha]) in pending {
            if !known.contains(&event) {
                continue;
            }
            let deltas = [(RATE_LIMITED, limited), (CAPTCHA_FAILED, captcha)];
            if let Err(e) = store.add_counters(&event, &deltas).await {
                tracing::warn!(event = %event, error = %e, "rejection counts not flushed");
            }
        }
    }
}
