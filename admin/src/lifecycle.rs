//! The sale lifecycle `scheduled → prequeue → open ⇄ paused → closed`:
//! the writes that move it (the shuffle at opening) and the scheduler
//! that follows `prequeue_at`, `opens_at` and `closes_at` by itself.
//!
//! Every move is a compare-and-set on the settings version, so with
//! several processes running the scheduler exactly one performs each move
//! and the others see a newer version and do nothing.

use crate::queue_settings::update;
use crate::{now_ms, AdminApi};
use queue::api::ApiError;
use queue::store::QueueStore;
use queue::{EventId, QueueSettings, QueueState};
use std::time::Duration;

/// Whether moving from `before` to `after` opens a pre-queue (and so must
/// shuffle it rather than just change the state).
pub(crate) fn opens_prequeue(before: Option<&QueueSettings>, after: &QueueSettings) -> bool {
    before.is_some_and(|b| b.state == QueueState::Prequeue)
        && !matches!(after.state, QueueState::Prequeue | QueueState::Scheduled)
}

/// Makes the event's seed if it has none yet and the settings name a
/// schedule or a pre-queue: the hash must be public before anyone arrives.
pub(crate) async fn ensure_seed(
    store: &dyn QueueStore,
    event: &EventId,
    s: &QueueSettings,
) -> Result<(), ApiError> {
    let scheduled = s.policy.prequeue_at.is_some() || s.policy.opens_at.is_some();
    if scheduled || s.state == QueueState::Prequeue {
        store.init_seed(event, &queue::shuffle::new_seed()).await?;
    }
    Ok(())
}

/// Writes `after` over `before` (version `expected`): a plain
/// compare-and-set, or, when the pre-queue opens, the shuffle. Returns
/// `false` when another writer got there first.
pub(crate) async fn write(
    store: &dyn QueueStore,
    event: &EventId,
    before: Option<&QueueSettings>,
    after: &QueueSettings,
) -> Result<bool, ApiError> {
    let expected = before.map(|b| b.policy.version);
    if !opens_prequeue(before, after) {
        let written = store.put_settings_if(event, after, expected).await?;
        // After the write: a new event exists only now. Several writers
        // racing here agree on one seed (`init_seed` keeps the first).
        if written {
            ensure_seed(store, event, after).await?;
        }
        return Ok(written);
    }
    let seed = store.init_seed(event, &queue::shuffle::new_seed()).await?;
    let now = now_ms();
    // Arrivals before the opening moment are shuffled; anyone recorded
    // after it (the scheduler runs up to a tick late) queues FIFO behind.
    let cutoff = after.policy.opens_at.map_or(now, |at| at.min(now));
    let members = store.prequeue(event).await?;
    let early = members
        .iter()
        .filter(|(_, at)| *at < cutoff)
        .map(|(v, _)| v);
    let order = queue::shuffle::order(&seed, early)
        .ok_or_else(|| ApiError::internal(format!("event {event}: seed is not hex")))?;
    let expected = expected.unwrap_or(0);
    let given = store
        .open_prequeue(event, &order, after, expected, now)
        .await?;
    if let Some(n) = given {
        tracing::info!(event = %event, shuffled = order.len(), tickets = n, "pre-queue opened");
    }
    Ok(given.is_some())
}

/// The state the schedule calls for at `now`, if it differs from the
/// current one. Only moves forward, so a manual override (opening early,
/// pausing) is never undone, except that `closes_at` closes a sale that is
/// open, paused or draining.
pub fn due(s: &QueueSettings, now: u64) -> Option<QueueState> {
    let reached = |t: Option<u64>| t.is_some_and(|t| t <= now);
    let p = &s.policy;
    match s.state {
        QueueState::Scheduled | QueueState::Prequeue if reached(p.closes_at) => {
            Some(QueueState::Closed)
        }
        QueueState::Scheduled | QueueState::Prequeue if reached(p.opens_at) => {
            Some(QueueState::Open)
        }
        QueueState::Scheduled if reached(p.prequeue_at) => Some(QueueState::Prequeue),
        QueueState::Open | QueueState::Paused | QueueState::Draining if reached(p.closes_at) => {
            Some(QueueState::Closed)
        }
        _ => None,
    }
}

/// One pass over every event.
async fn run_once(api: &AdminApi) -> Result<(), ApiError> {
    let store = api.engine.store();
    for event in store.events().await? {
        let Some(current) = store.settings(&event).await? else {
            continue;
        };
        let Some(target) = due(&current, now_ms()) else {
            continue;
        };
        let version = current.policy.version;
        let action = format!("schedule.{}", target.as_str());
        // Naming the version makes a lost race a conflict, not a retry:
        // another process already made this move.
        let moved = update(
            api,
            "scheduler",
            &action,
            &event,
            Some(version),
            false,
            |cur| {
                let cur = cur.cloned().unwrap_or_default();
                Ok(QueueSettings {
                    state: due(&cur, now_ms()).unwrap_or(cur.state),
                    ..cur
                })
            },
        )
        .await;
        match moved {
            Ok((_, after)) => {
                tracing::info!(event = %event, state = %after.state, "schedule followed")
            }
            Err(e) if e.status == axum::http::StatusCode::CONFLICT => {}
            Err(e) => tracing::warn!(event = %event, error = %e.message, "schedule step failed"),
        }
    }
    Ok(())
}

/// Follows every event's schedule every `interval`, until aborted.
pub fn spawn_scheduler(api: AdminApi, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = run_once(&api).await {
                tracing::warn!(error = %e.message, "scheduler pass failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: QueueState, pre: u64, open: u64, close: u64) -> QueueSettings {
        let mut s = QueueSettings {
            state,
            ..QueueSettings::default()
        };
        s.policy.prequeue_at = Some(pre);
        s.policy.opens_at = Some(open);
        s.policy.closes_at = Some(close);
        s
    }

    #[test]
    fn the_schedule_moves_forward_only() {
        use QueueState::*;
        let s = |state| at(state, 10, 20, 30);
        assert_eq!(due(&s(Scheduled), 5), None);
        assert_eq!(due(&s(Scheduled), 10), Some(Prequeue));
        assert_eq!(due(&s(Prequeue), 15), None);
        assert_eq!(due(&s(Prequeue), 20), Some(Open));
        assert_eq!(due(&s(Scheduled), 25), Some(Open), "missed pre-queue");
        assert_eq!(due(&s(Open), 25), None);
        assert_eq!(due(&s(Paused), 25), None, "manual pause is kept");
        assert_eq!(due(&s(Paused), 30), Some(Closed));
        assert_eq!(due(&s(Draining), 31), Some(Closed));
        assert_eq!(due(&s(Closed), 40), None);
        assert_eq!(due(&QueueSettings::default(), u64::MAX), None);
    }
}
