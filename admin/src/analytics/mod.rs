//! Sale analytics that outlive the live dashboard's hour: every process
//! folds the published ticks into one-minute figures ([`fold`]) and writes
//! them every [`FLUSH_EVERY`] to `sale_minute` ([`db`]) with the event's
//! cumulative counts (rejections and returns from the queue store's shared
//! counters, holds, orders and revenue from the sales tables). A watermark
//! moved by compare-and-set in the same transaction decides which ticks a
//! write adds, so each tick is counted once over any number of processes,
//! and the figures survive restarts. [`http`] serves the report of any
//! range as JSON or CSV.
//!
//! Cost: every process reads the event's counters and four counts over
//! its holds and orders (indexed by event) each [`FLUSH_EVERY`] while the
//! event ticks, and writes at most one transaction per event.

#[cfg(test)]
mod conformance;
pub(crate) mod db;
mod fold;
pub mod http;
mod report;

use crate::AdminApi;
use db::Totals;

use queue::EventId;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often a process writes its folds (and so the most a minute's
/// cumulative counts can lag its end).
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Folds the tick feed and writes the minutes until aborted.
pub fn spawn(api: &AdminApi) -> tokio::task::JoinHandle<()> {
    let folds = Arc::new(fold::Folds::default());
    let mut ticks = api.engine.store().subscribe();
    let feed = folds.clone();
    let follow = tokio::spawn(async move {
        loop {
            match ticks.recv().await {
                Ok(tick) => feed.record(&tick),
                // Another process that saw the missed ticks adds them
                // (see `batch`).
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    });
    let api = api.clone();
    tokio::spawn(async move {
        // Aborting this task must stop the follower too.
        let _follow = AbortOnDrop(follow);
        let mut every = tokio::time::interval(FLUSH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            flush(&api, &folds).await;
        }
    })
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn flush(api: &AdminApi, folds: &fold::Folds) {
    for (event, ticks) in folds.pending() {
        if let Err(e) = flush_event(api, folds, &event, &ticks).await {
            // Kept in memory: the next flush (here or elsewhere) adds them.
            tracing::warn!(event = %event, error = %e, "writing sale analytics failed");
        }
    }
}

/// The ticks to add after the watermark `seq`: those that follow it
/// without a gap. A gap younger than [`GAP_WAIT`] stops the batch, since
/// another process that saw the missing ticks will add them first; an
/// older one is a tick no live process saw, skipped.
fn batch(ticks: &[fold::TickFigures], seq: u64, now: u64) -> &[fold::TickFigures] {
    let start = ticks.partition_point(|t| t.seq <= seq);
    let mut expected = seq + 1;
    let mut end = start;
    for t in &ticks[start..] {
        if t.seq != expected && t.at + GAP_WAIT.as_millis() as u64 > now {
            break;
        }
        expected = t.seq + 1;
        end += 1;
    }
    &ticks[start..end]
}

/// Whether `ticks` belong to a queue made again after the one `w` counted:
/// numbered no higher, yet run well after (more than any clock skew
/// between processes).
fn restarted(ticks: &[fold::TickFigures], w: &db::Watermark) -> bool {
    let (seq, at) = (w.seq.max(0) as u64, w.at.max(0) as u64);
    ticks
        .iter()
        .any(|t| t.seq <= seq && t.at > at + RESTART_AFTER_MS)
}

/// See [`restarted`].
const RESTART_AFTER_MS: u64 = 60_000;

/// How long a process waits for another to add ticks it missed.
const GAP_WAIT: Duration = Duration::from_secs(2 * FLUSH_EVERY.as_secs());

async fn flush_event(
    api: &AdminApi,
    folds: &fold::Folds,
    event: &EventId,
    ticks: &[fold::TickFigures],
) -> crate::error::Result<()> {
    let minutes = api.db.sale_minutes();
    let seen = minutes.watermark(event.as_str()).await?;
    let (seq, base, base_at) = match seen {
        Some(w) if !restarted(ticks, &w) => (
            w.seq.max(0) as u64,
            w.last_ticket.max(0) as u64,
            w.at.max(0) as u64,
        ),
        // Nothing added yet, or a new queue under the same id: from zero.
        _ => (0, 0, 0),
    };
    let batch = batch(ticks, seq, crate::now_ms());
    let Some(last) = batch.last() else {
        folds.written(event, seq);
        return Ok(());
    };
    let by_minute = fold::by_minute(batch, base, base_at);
    let totals = cumulative(api, event).await?;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let next = db::Watermark {
        seq: n(last.seq),
        last_ticket: n(last.last_ticket.max(base)),
        at: n(last.at),
    };
    if minutes
        .add(event.as_str(), seen, next, &by_minute, &totals)
        .await?
    {
        folds.written(event, last.seq);
    }
    Ok(())
}

/// The event's cumulative counts now.
async fn cumulative(api: &AdminApi, event: &EventId) -> crate::error::Result<Totals> {
    use queue::store::counters::{CAPTCHA_FAILED, RATE_LIMITED, RETURNED};
    let counters = api.engine.store().counters(event).await?;
    let get = |name: &str| i64::try_from(counters.get(name).copied().unwrap_or(0)).unwrap_or(0);
    let sales = api.db.sale_minutes().sales_totals(event.as_str()).await?;
    let revenue = match api.booking.sales.sales_summary(event.as_str()).await {
        Ok(s) => s.revenue,
        // An event sold elsewhere (a queue without a catalog entry) has no
        // revenue here.
        Err(booking::BookingError::NotFound(_)) => 0,
        Err(e) => return Err(e.into()),
    };
    Ok(Totals {
        rate_limited: get(RATE_LIMITED),
        captcha_failed: get(CAPTCHA_FAILED),
        returned: get(RETURNED),
        revenue,
        ..sales
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fold::TickFigures;

    fn ticks(seqs: &[(u64, u64)]) -> Vec<TickFigures> {
        seqs.iter()
            .map(|&(seq, at)| TickFigures {
                seq,
                at,
                ..TickFigures::default()
            })
            .collect()
    }

    #[test]
    fn a_batch_waits_for_missing_ticks_until_they_are_old() {
        let t = ticks(&[(4, 1_000), (5, 2_000), (7, 4_000), (8, 5_000)]);
        let seqs = |b: &[TickFigures]| b.iter().map(|t| t.seq).collect::<Vec<_>>();
        assert_eq!(seqs(batch(&t, 4, 5_000)), [5], "tick 6 may still come");
        assert_eq!(seqs(batch(&t, 4, 20_000)), [5, 7, 8], "nobody saw tick 6");
        assert_eq!(
            seqs(batch(&t, 2, 5_000)),
            Vec::<u64>::new(),
            "tick 3 may still come"
        );
        assert_eq!(seqs(batch(&t, 8, 5_000)), Vec::<u64>::new());
    }

    #[test]
    fn a_queue_made_again_is_told_apart_from_clock_skew() {
        let w = db::Watermark {
            seq: 500,
            last_ticket: 90,
            at: 1_000_000,
        };
        assert!(!restarted(&ticks(&[(499, 1_002_000)]), &w), "skew");
        assert!(!restarted(&ticks(&[(501, 1_300_000)]), &w), "later");
        assert!(restarted(&ticks(&[(3, 1_300_000)]), &w), "a new queue");
    }
}
