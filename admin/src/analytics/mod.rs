//! Sale analytics that outlive the live dashboard's hour: every process
//! folds the published ticks into one-minute figures ([`fold`]) and writes
//! them every [`FLUSH_EVERY`] to `sale_minute` ([`db`]) with the event's
//! cumulative counts (rejections and returns from the queue store's shared
//! counters, holds, orders and revenue from the sales tables). Which write
//! wins is decided in the database, so the figures are counted once over
//! any number of processes and survive restarts. [`http`] serves the
//! report of any range as JSON or CSV.

#[cfg(test)]
mod conformance;
mod db;
mod fold;
pub mod http;
mod report;

use crate::AdminApi;
use db::{SaleMinutes, Totals};

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
                // Missed ticks make this fold less complete than another
                // process's; the database keeps the better one.
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

/// How long a process waits for another to add ticks it missed.
const GAP_WAIT: Duration = Duration::from_secs(2 * FLUSH_EVERY.as_secs());

async fn flush_event(
    api: &AdminApi,
    folds: &fold::Folds,
    event: &EventId,
    ticks: &[fold::TickFigures],
) -> crate::error::Result<()> {
    let minutes = SaleMinutes(&api.db);
    let seen = minutes.watermark(event.as_str()).await?;
    let seq = seen.map_or(0, |w| w.seq.max(0) as u64);
    let batch = batch(ticks, seq, crate::now_ms());
    let Some(last) = batch.last() else {
        folds.written(event, seq);
        return Ok(());
    };
    let base = seen.map_or(0, |w| w.last_ticket.max(0) as u64);
    let by_minute = fold::by_minute(batch, base);
    let totals = cumulative(api, event).await?;
    let next = db::Watermark {
        seq: i64::try_from(last.seq).unwrap_or(i64::MAX),
        last_ticket: i64::try_from(last.last_ticket.max(base)).unwrap_or(i64::MAX),
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
    let sales = SaleMinutes(&api.db).sales_totals(event.as_str()).await?;
    let revenue = match api.booking.sales_summary(event.as_str()).await {
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
