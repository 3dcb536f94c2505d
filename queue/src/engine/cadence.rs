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
/// the numbers a page shows are never older than this.
pub const REFRESH_MS: Millis = 10_000;

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
    /// Numbers this old are refreshed now: the next tick would be too late.
    pub refresh_ms: Millis,
}

impl Cadence {
    /// The rule at an admission rate of `per_second` (the measured rate,
    /// or the configured one while none is measured) with ticks every
    /// `tick_ms`.
    pub fn new(per_second: f64, tick_ms: Millis) -> Self {
        let horizon = (per_second.max(0.0) * FRONT_HORIZON_SECS).ceil();
        // `as` saturates on huge or NaN values, which is what we want.
        Self {
            front: FRONT_MIN.max(horizon as u64),
            refresh_ms: REFRESH_MS.saturating_sub(tick_ms),
        }
    }

    /// Whether a waiter showing `shown` gets a message carrying `next`.
    pub fn due(&self, shown: &Shown, next: &Shown) -> bool {
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
        // 1% of the true position: the most the page may be off.
        if moved >= FEW_PLACES && moved.saturating_mul(100) >= next.position {
            return true;
        }
        eta_step(shown.eta_seconds) != eta_step(next.eta_seconds)
            || next.at.saturating_sub(shown.at) > self.refresh_ms
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

    #[test]
    fn the_front_hears_every_change_and_nobody_hears_no_change() {
        let c = Cadence::new(1.0, 1_000);
        let before = shown(1_000, Some(900), 50_000, 0);
        assert!(c.due(&before, &shown(999, Some(900), 50_000, 1_000)));
        assert!(c.due(&before, &shown(1_000, Some(900), 50_001, 1_000)));
        assert!(!c.due(&before, &before));
        assert!(!c.due(&before, &shown(1_000, Some(900), 50_000, 60_000)));
    }

    #[test]
    fn the_tail_hears_a_one_percent_move() {
        let c = Cadence::new(1.0, 1_000);
        let before = shown(10_000, None, 50_000, 0);
        assert!(!c.due(&before, &shown(9_901, None, 50_000, 1_000)));
        assert!(c.due(&before, &shown(9_900, None, 50_000, 1_000)));
        // A resync may correct either way; 1% of the truth is the bound.
        assert!(!c.due(&before, &shown(10_101, None, 50_000, 1_000)));
        assert!(c.due(&before, &shown(10_102, None, 50_000, 1_000)));
    }

    #[test]
    fn the_tail_hears_a_visible_eta_step_and_a_ten_second_refresh() {
        let c = Cadence::new(1.0, 1_000);
        let before = shown(5_000, Some(600), 50_000, 0);
        // 10 minutes either way: not visible.
        assert!(!c.due(&before, &shown(4_999, Some(590), 50_000, 1_000)));
        // 9 minutes: visible.
        assert!(c.due(&before, &shown(4_999, Some(560), 50_000, 1_000)));
        // Known after unknown is visible.
        assert!(c.due(&shown(5_000, None, 1, 0), &shown(5_000, Some(600), 1, 1)));
        // Anything changed, and the next tick would show numbers over 10 s
        // old (ticks may come a little late, hence "over 9 s").
        assert!(!c.due(&before, &shown(5_000, Some(600), 50_010, 9_000)));
        assert!(c.due(&before, &shown(5_000, Some(600), 50_010, 9_001)));
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
