//! Booking's side of the sold-out waitlist (README, "Sold out and the
//! waitlist"): booking is the one that knows when no seat is left and when
//! seats come back, and tells the waiting room, which offers each seat that
//! came back to the next fan in line (`queue::store::waitlist`).
//!
//! Every call here is best effort: a failure is logged and the sale goes
//! on. A missed "sold out" is reported again by the next hold attempt that
//! finds nothing left; a missed return leaves a seat on open sale to the
//! fans already admitted rather than offered.

use crate::db::{EventRecord, Left, OrderDetail, Released};
use crate::holds::Holds;
use queue::{EventId, VisitorId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// "Is anything left?" after every hold, one query at a time per event. A
/// hold needs an answer from a query that started after it committed;
/// holds that ask while a query runs wait for the next one, which starts
/// after all of them and answers for them all. A burst of holds costs a
/// few queries instead of one each.
#[derive(Default)]
pub(crate) struct SoldOutChecks {
    events: Mutex<HashMap<String, Arc<EventChecks>>>,
}

#[derive(Default)]
struct EventChecks {
    /// Checks asked for so far; each asker holds the number of its own.
    asked: AtomicU64,
    /// Sold-out reports so far: a hold notes it before it is placed, so an
    /// answer its batch brings back can tell whether a report came after
    /// it was sent (see [`Seen`]).
    reports: AtomicU64,
    /// Locked while a query runs: the highest number it answers for.
    answered: tokio::sync::Mutex<Answered>,
}

#[derive(Default)]
struct Answered {
    /// The highest check number answered.
    upto: u64,
    /// The free seat the last query found: the next one looks from there
    /// (see `CatalogRepo::left`).
    free_seat: i64,
    /// Whether an answer found nothing left and the queue heard it, with
    /// no answer finding a seat since: the holds that share a look after
    /// their batch, and two queries that both start after the last seat
    /// went (askers who came between them), report once.
    reported: bool,
}

impl Answered {
    /// Takes in an answer; whether it is to be reported now.
    fn hear(&mut self, sold_out: bool, newer: bool) -> bool {
        if !sold_out {
            if newer {
                self.reported = false;
            }
            return false;
        }
        !self.reported
    }
}

impl EventChecks {
    /// Whether an answer to a hold sent when `reports_before` reports had
    /// been made is newer than the last report.
    fn newer(&self, reports_before: u64) -> bool {
        self.reports.load(Ordering::SeqCst) == reports_before
    }

    /// The queue heard a report.
    fn reported(&self, answered: &mut Answered) {
        answered.reported = true;
        self.reports.fetch_add(1, Ordering::SeqCst);
    }
}

impl SoldOutChecks {
    /// Asked twice per hold (before it is sent and after): a known event
    /// is found without copying its id.
    fn of(&self, event: &str) -> Arc<EventChecks> {
        match self.events.lock() {
            Ok(mut events) => match events.get(event) {
                Some(checks) => checks.clone(),
                None => events.entry(event.to_owned()).or_default().clone(),
            },
            // A panic elsewhere poisoned the map: check alone.
            Err(_) => Arc::default(),
        }
    }

    /// To be noted before a hold of `event` is sent to the database: see
    /// [`Seen`].
    pub(crate) fn reports_before(&self, event: &str) -> u64 {
        self.of(event).reports.load(Ordering::SeqCst)
    }
}

/// What the database found left after a hold's batch committed, and the
/// sold-out reports made before the hold was sent. Batches answer out of
/// order: a batch that looked before the last seats went can be answered
/// after one that found none. Its "seats left" then undoes nothing unless
/// no report came after its hold was sent (its look started after that
/// report, so it is newer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub(crate) left: Left,
    pub(crate) reports_before: u64,
}

impl Holds {
    /// After a hold was placed for `visitor`: its seats are no longer free
    /// for the waitlist (and the visitor's offer, if any, is used up), and
    /// if they were the last, the event is sold out. `left`: what the
    /// database found left after the hold's commit, if it looked.
    pub(crate) async fn waitlist_after_hold(
        &self,
        event: &EventRecord,
        visitor: &str,
        seats: u64,
        seen: Option<Seen>,
    ) {
        let (Ok(id), Ok(visitor)) = (EventId::parse(&event.id), VisitorId::parse(visitor)) else {
            return;
        };
        if let Err(e) = self.queue.take_seats(&id, &visitor, seats).await {
            tracing::warn!(event = %id, error = %e, "telling the waitlist about a hold failed");
        }
        self.check_sold_out(&id, seen).await;
    }

    /// After a hold attempt found the seats or places taken: perhaps
    /// everything is.
    pub(crate) async fn waitlist_after_refusal(&self, event: &EventRecord, seen: Option<Seen>) {
        if let Ok(id) = EventId::parse(&event.id) {
            self.check_sold_out(&id, seen).await;
        }
    }

    /// Asks the database whether anything is left; nothing left marks the
    /// event sold out in the queue (once: later reports change nothing).
    /// Returns after a query that started after the call (see
    /// [`SoldOutChecks`]). `seen`: an answer from such a query already,
    /// which is used instead; each returns after the report, if any.
    async fn check_sold_out(&self, event: &EventId, seen: Option<Seen>) {
        let checks = self.sold_out_checks.of(event.as_str());
        if let Some(seen) = seen {
            let mut answered = checks.answered.lock().await;
            let newer = checks.newer(seen.reports_before);
            self.heard(event, &checks, &mut answered, seen.left, newer)
                .await;
            return;
        }
        let mine = checks.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut answered = checks.answered.lock().await;
        if answered.upto >= mine {
            return;
        }
        // Everyone who has asked by now is answered by this query.
        let upto = checks.asked.load(Ordering::SeqCst);
        let left = self
            .db
            .catalog()
            .left(event.as_str(), answered.free_seat)
            .await;
        if let Ok(Left {
            seat: Some(seat), ..
        }) = left
        {
            answered.free_seat = seat;
        }
        match left {
            // Queries run one at a time, so this one is the newest.
            Ok(left) => self.heard(event, &checks, &mut answered, left, true).await,
            Err(e) => tracing::warn!(event = %event, error = %e, "checking for seats left failed"),
        }
        answered.upto = upto;
    }

    /// Acts on what an answer found left: the first "nothing" since seats
    /// were last found is reported. `newer`: whether the answer is newer
    /// than the last report; an older one finding seats undoes nothing.
    async fn heard(
        &self,
        event: &EventId,
        checks: &EventChecks,
        answered: &mut Answered,
        left: Left,
        newer: bool,
    ) {
        if answered.hear(left.sold_out(), newer) && self.report_sold_out(event).await {
            checks.reported(answered);
        }
    }

    /// Marks the event sold out in the queue (once: later reports change
    /// nothing); whether the queue heard it.
    async fn report_sold_out(&self, event: &EventId) -> bool {
        match self.queue.mark_sold_out(event).await {
            Ok(true) => {
                tracing::info!(event = %event, "sold out: the queue is now the waitlist");
                true
            }
            Ok(false) => true,
            Err(e) => {
                tracing::warn!(event = %event, error = %e, "marking sold out failed");
                false
            }
        }
    }

    /// After a hold ended: unless it became an order (its seats are sold),
    /// its seats are back, to be offered to the waitlist.
    pub(crate) async fn waitlist_after_release(&self, released: &Released) {
        let Ok(event) = EventId::parse(&released.event_id) else {
            return;
        };
        if !self.sold_out(&event).await {
            return;
        }
        let detail = match self.db.holds().get(&released.hold_id).await {
            Ok(Some(d)) => d,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(hold = %released.hold_id, error = %e, "reading a released hold failed");
                return;
            }
        };
        if detail.hold.status == "completed" {
            return;
        }
        let places: i64 = detail.ga.iter().map(|g| g.1).sum();
        self.return_seats(&event, detail.seats.len() as u64 + places.max(0) as u64)
            .await;
    }

    /// After a confirmed order was cancelled (refunded): its seats are back.
    pub(crate) async fn waitlist_after_cancel(&self, detail: &OrderDetail) {
        let Ok(event) = EventId::parse(&detail.order.event_id) else {
            return;
        };
        if !self.sold_out(&event).await {
            return;
        }
        let places: i64 = detail.lines.iter().map(|l| l.quantity.max(0)).sum();
        self.return_seats(&event, places as u64).await;
    }

    async fn sold_out(&self, event: &EventId) -> bool {
        match self.queue.waitlist(event, None, 0).await {
            Ok(w) => w.sold_out,
            // No queue for the event: nobody to offer seats to.
            Err(queue::QueueError::UnknownEvent(_)) => false,
            Err(e) => {
                tracing::warn!(event = %event, error = %e, "reading the waitlist failed");
                false
            }
        }
    }

    async fn return_seats(&self, event: &EventId, seats: u64) {
        if seats == 0 {
            return;
        }
        match self.queue.return_seats(event, seats).await {
            Ok(()) => tracing::info!(event = %event, seats, "seats back for the waitlist"),
            Err(e) => {
                tracing::warn!(event = %event, error = %e, "returning seats to the waitlist failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two batches answer out of order: the one that looked first (seats
    /// left) is heard after the one that found none. The old answer must
    /// not undo the report, or the next "none" reports again.
    #[test]
    fn an_older_answer_does_not_undo_a_report() {
        let checks = EventChecks::default();
        let mut answered = Answered::default();
        let hear = |answered: &mut Answered, sold_out: bool, reports_before: u64| {
            let report = answered.hear(sold_out, checks.newer(reports_before));
            if report {
                // The queue heard it.
                checks.reported(answered);
            }
            report
        };
        // Both batches were sent before any report.
        let (older, newer) = (0, 0);
        assert!(hear(&mut answered, true, newer), "the first 'none'");
        assert!(!hear(&mut answered, false, older), "old seats left");
        assert!(!hear(&mut answered, true, newer), "reported once");
        // A hold sent after the report that finds a seat (one came back)
        // does reset it, and the next "none" is reported again.
        let after = checks.reports.load(Ordering::SeqCst);
        assert!(!hear(&mut answered, false, after));
        assert!(hear(&mut answered, true, after));
    }
}
