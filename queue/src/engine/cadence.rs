//! Which waiters hear about a tick. Sending every waiter every change costs
//! a message per waiter per tick, most of which change nothing a fan can
//! see ("you are number 48,212" becoming "48,207"). A waiter hears about a
//! tick when its page would change visibly; the front of the line, where
//! every place counts, hears every change.

use crate::store::Millis;

/// The front of the line is at least this many places deep.
pub const FRONT_MIN: u64 = 1_000;
/// ... and at least as deep as the waiters the measured rate admits within
/// this many seconds.
pub const FRONT_HORIZON_SECS: f64 = 60.0;
/// Behind the front, a position moves visibly when it moves by at least
/// this many places and at least 1%.
pub const FEW_PLACES: u64 = 5;
/// A waiter whose numbers changed at all hears about it at least this often:
/// the numbers a page shows are never older than this when the next message
/// reaches it.
pub const REFRESH_MS: Millis = 10_000;
/// Behind the front, an ETA that crosses a step the page shows is sent at
/// once only when it also moved by this many percent: the measured rate
/// wobbles by a percent or two from tick to tick, which moves every ETA at
/// once and would flip the minute shown on a third of the pages in one
/// tick. Smaller moves wait for the waiter's refresh.
pub const ETA_MOVE_PERCENT: u64 = 5;

/// The numbers a waiter's page shows: those of the last message it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shown {
    /// Position (1 = next).
    pub position: u64,
    /// ETA in seconds, `None` while unknown.
    pub eta_seconds: Option<u64>,
    /// Waiters in the queue.
    pub waiting: u64,
    /// When those numbers were true (the tick's `at`).
    pub at: Millis,
}

/// The rule for one tick, computed once per tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// Positions up to this one are the front and hear every change.
    pub front: u64,
    /// Places a position may move in the next tick: the page must stay
    /// within 1% through it too, until the next message lands.
    pub step: u64,
    /// The tail's refreshes come every this many ticks, each waiter on its
    /// own slot (its ticket modulo the period): every tick refreshes the
    /// same share of the tail, so refreshes never bunch into one tick, even
    /// after a tick that sent everyone a message.
    pub period: u64,
    tick_ms: Millis,
    /// The oldest numbers a tick may leave on a page (a tick whose slot was
    /// skipped because ticks ran late falls back on this).
    max_age_ms: Millis,
}

impl Cadence {
    /// The rule at an admission rate of `per_second` (the measured rate,
    /// or the configured one while none is measured) with ticks every
    /// `tick_ms`.
    pub fn new(per_second: f64, tick_ms: Millis) -> Self {
        let horizon = (per_second.max(0.0) * FRONT_HORIZON_SECS).ceil();
        let tick_ms = tick_ms.max(1);
        // One tick of the budget is for delivery (a tick's messages arrive
        // within it), one for ticks that run late.
        let period = (REFRESH_MS.saturating_sub(2 * tick_ms) / tick_ms).max(1);
        // Twice a tick's admissions: a late tick admits for the time it
        // covers.
        let step = (2.0 * per_second.max(0.0) * tick_ms as f64 / 1_000.0).ceil();
        // `as` saturates on huge or NaN values, which is what we want.
        Self {
            front: FRONT_MIN.max(horizon as u64),
            step: step as u64,
            period,
            tick_ms,
            max_age_ms: REFRESH_MS.saturating_sub(tick_ms),
        }
    }

    /// Whether the waiter holding `ticket` and showing `shown` gets a
    /// message carrying `next`.
    pub fn due(&self, ticket: u64, shown: &Shown, next: &Shown) -> bool {
        let changed = shown.position != next.position
            || shown.eta_seconds != next.eta_seconds
            || shown.waiting != next.waiting;
        if !changed {
            return false;
        }
        if next.position <= self.front {
            return true;
        }
        let moved = shown.position.abs_diff(next.position);
        // 1% of the true position is the most the page may be off, also
        // after the next tick has moved the truth once more.
        let off_next_tick = moved.saturating_add(self.step).saturating_mul(100);
        if moved >= FEW_PLACES && off_next_tick >= next.position {
            return true;
        }
        if eta_moved_visibly(shown.eta_seconds, next.eta_seconds) {
            return true;
        }
        let slot = (next.at / self.tick_ms) % self.period == ticket % self.period;
        let age = next.at.saturating_sub(shown.at);
        slot || age + self.tick_ms > self.max_age_ms
    }
}

/// Whether the page's ETA text changes and the ETA moved enough to be more
/// than the measured rate's wobble (see [`ETA_MOVE_PERCENT`]).
fn eta_moved_visibly(shown: Option<u64>, next: Option<u64>) -> bool {
    match (shown, next) {
        (Some(a), Some(b)) => {
            eta_step(shown) != eta_step(next)
                && a.abs_diff(b).saturating_mul(100) >= ETA_MOVE_PERCENT * a.max(b)
        }
        (a, b) => a.is_some() != b.is_some(),
    }
}

/// What the page shows for an ETA (`fmtEta` in web/queue.js): a step
/// number that changes exactly when the shown text does.
pub fn eta_step(eta_seconds: Option<u64>) -> Option<u64> {
    let sec = eta_seconds?;
    if sec < 45 {
        return Some(0);
    }
    let minutes = (sec + 30) / 60;
    if minutes < 90 {
        return Some(minutes.max(1));
    }
    // Half hours, kept apart from the minute steps.
    Some(1_000 + (sec + 900) / 1_800)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(position: u64, eta: Option<u64>, waiting: u64, at: Millis) -> Shown {
        Shown {
            position,
            eta_seconds: eta,
            waiting,
            at,
        }
    }

    #[test]
    fn the_front_is_a_minute_of_admissions_and_at_least_a_thousand() {
        assert_eq!(Cadence::new(0.0, 1_000).front, 1_000);
        assert_eq!(Cadence::new(10.0, 1_000).front, 1_000);
        assert_eq!(Cadence::new(50.0, 1_000).front, 3_000);
        assert_eq!(Cadence::new(f64::NAN, 1_000).front, 1_000);
    }

    /// A ticket whose refresh slot is not at the ticks used below (1, 8 and
    /// 9 s, with 1 s ticks and a period of 8).
    const OFF_SLOT: u64 = 5;

    #[test]
    fn the_front_hears_every_change_and_nobody_hears_no_change() {
        let c = Cadence::new(1.0, 1_000);
        let before = shown(1_000, Some(900), 50_000, 0);
        assert!(c.due(OFF_SLOT, &before, &shown(999, Some(900), 50_000, 1_000)));
        assert!(c.due(OFF_SLOT, &before, &shown(1_000, Some(900), 50_001, 1_000)));
        assert!(!c.due(OFF_SLOT, &before, &before));
        assert!(!c.due(OFF_SLOT, &before, &shown(1_000, Some(900), 50_000, 60_000)));
    }

    #[test]
    fn the_tail_hears_a_move_before_it_is_one_percent_off() {
        // 5 admissions a tick: the page must be within 1% after the next
        // tick's places too, counted twice for a late tick.
        let c = Cadence::new(5.0, 1_000);
        assert_eq!(c.step, 10);
        let before = shown(10_000, None, 50_000, 0);
        assert!(!c.due(OFF_SLOT, &before, &shown(9_911, None, 50_000, 1_000)));
        assert!(c.due(OFF_SLOT, &before, &shown(9_910, None, 50_000, 1_000)));
        // A resync may correct either way; 1% of the truth is the bound.
        assert!(!c.due(OFF_SLOT, &before, &shown(10_090, None, 50_000, 1_000)));
        assert!(c.due(OFF_SLOT, &before, &shown(10_091, None, 50_000, 1_000)));
        // Near the front, where the next tick may move 1%, every tick counts.
        let near = shown(1_500, None, 50_000, 0);
        assert!(c.due(OFF_SLOT, &near, &shown(1_490, None, 50_000, 1_000)));
    }

    #[test]
    fn the_tail_hears_a_visible_eta_move_but_not_the_rates_wobble() {
        let c = Cadence::new(1.0, 1_000);
        let at = |s: &Shown| c.due(OFF_SLOT, &shown(5_000, Some(600), 50_000, 0), s);
        // 10 minutes either way: not visible.
        assert!(!at(&shown(4_999, Some(590), 50_000, 1_000)));
        // 9 minutes, 6.7% sooner: visible.
        assert!(at(&shown(4_999, Some(560), 50_000, 1_000)));
        // 50 minutes shown; a 1.7% wobble of the rate makes it 49: the text
        // would change on many pages at once, so it waits for the refresh.
        let before = shown(30_000, Some(3_000), 50_000, 0);
        assert!(!c.due(
            OFF_SLOT,
            &before,
            &shown(29_990, Some(2_950), 50_000, 1_000)
        ));
        assert!(c.due(
            OFF_SLOT,
            &before,
            &shown(29_990, Some(2_800), 50_000, 1_000)
        ));
        // Known after unknown (and back) is visible.
        assert!(c.due(
            OFF_SLOT,
            &shown(5_000, None, 1, 0),
            &shown(5_000, Some(600), 1, 1_000)
        ));
        assert!(c.due(
            OFF_SLOT,
            &shown(5_000, Some(600), 1, 0),
            &shown(5_000, None, 1, 1_000)
        ));
    }

    #[test]
    fn the_tail_is_refreshed_on_its_slot_or_before_its_numbers_are_too_old() {
        let c = Cadence::new(1.0, 1_000);
        assert_eq!(c.period, 8);
        let before = shown(5_000, Some(600), 50_000, 0);
        let waiting_moved = |at| shown(5_000, Some(600), 50_010, at);
        // On its slot (tick 3, ticket 11), whatever the age.
        assert!(c.due(11, &before, &waiting_moved(3_000)));
        assert!(!c.due(12, &before, &waiting_moved(3_000)));
        // Off its slot (ticks skipped by late ticks): before the next tick
        // would leave numbers over 9 s old.
        assert!(!c.due(OFF_SLOT, &before, &waiting_moved(8_000)));
        assert!(c.due(OFF_SLOT, &before, &waiting_moved(9_000)));
        // Nothing changed: no refresh.
        assert!(!c.due(11, &before, &shown(5_000, Some(600), 50_000, 3_000)));
    }

    #[test]
    fn refreshes_spread_evenly_over_the_ticks() {
        let c = Cadence::new(1.0, 1_000);
        // 8,000 tail waiters who all heard at the same tick (say the
        // operator changed the rate).
        let mut pages: Vec<(u64, Shown)> = (20_000..28_000)
            .map(|t| (t, shown(t, Some(t / 10), 50_000, 0)))
            .collect();
        for tick in 1..=24u64 {
            let mut sent = 0;
            for (ticket, page) in &mut pages {
                let next = shown(*ticket, Some(*ticket / 10), 50_000 + tick, tick * 1_000);
                if c.due(*ticket, page, &next) {
                    assert!(next.at - page.at <= 8_000, "refreshed every 8 ticks");
                    *page = next;
                    sent += 1;
                }
            }
            assert_eq!(sent, 1_000, "tick {tick}: an eighth of the tail");
        }
    }

    #[test]
    fn eta_steps_follow_the_page() {
        assert_eq!(eta_step(None), None);
        assert_eq!(eta_step(Some(44)), Some(0));
        assert_eq!(eta_step(Some(45)), Some(1));
        assert_eq!(eta_step(Some(89)), Some(1));
        assert_eq!(eta_step(Some(90)), Some(2));
        assert_eq!(eta_step(Some(89 * 60 + 29)), Some(89));
        assert_eq!(eta_step(Some(89 * 60 + 30)), Some(1_003));
        assert_ne!(eta_step(Some(3 * 3_600)), eta_step(Some(3 * 3_600 + 900)));
    }
}
