//! Per-event queue settings, written by operators and read on every tick.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a queue is in the sale lifecycle (docs/architecture.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    /// Configured, not yet accepting anyone.
    Scheduled,
    /// Accepting arrivals who will be shuffled fairly at opening.
    Prequeue,
    /// Accepting joins and admitting at the configured rate.
    #[default]
    Open,
    /// Accepting joins, admitting nobody.
    Paused,
    /// Refusing joins, still admitting those already waiting.
    Draining,
    /// Refusing joins, admitting nobody.
    Closed,
}

impl QueueState {
    /// Whether new visitors may take a place.
    pub fn accepts_joins(self) -> bool {
        matches!(self, Self::Prequeue | Self::Open | Self::Paused)
    }

    /// Whether admission ticks admit anyone.
    pub fn admits(self) -> bool {
        matches!(self, Self::Open | Self::Draining)
    }

    /// The lowercase name used on the wire and in Redis.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Prequeue => "prequeue",
            Self::Open => "open",
            Self::Paused => "paused",
            Self::Draining => "draining",
            Self::Closed => "closed",
        }
    }

    /// Parses the wire name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "scheduled" => Self::Scheduled,
            "prequeue" => Self::Prequeue,
            "open" => Self::Open,
            "paused" => Self::Paused,
            "draining" => Self::Draining,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

impl fmt::Display for QueueState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The knobs an operator turns on sale day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSettings {
    /// Lifecycle state.
    pub state: QueueState,
    /// Admission rate; fractions of a visitor carry over between ticks.
    pub admit_per_minute: u32,
    /// Cap on admitted sessions that have not yet expired or been released.
    pub max_active: u32,
    /// How long an admitted session (and its admission token) lives.
    pub session_ttl_seconds: u32,
    /// A waiter with neither a socket nor a poll for this long departs.
    pub departure_grace_seconds: u32,
    /// Everything else an operator sets per event (bot defence, seat limit,
    /// schedule). Flattened on the wire.
    #[serde(flatten)]
    pub policy: QueuePolicy,
}

/// When a join must carry a CAPTCHA solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaptchaPolicy {
    /// Never.
    Off,
    /// Always.
    #[default]
    OnJoin,
    /// Only when the client is close to its rate limits.
    OnSuspicion,
}

/// What happens to a join whose CAPTCHA solution is missing or wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaptchaFailure {
    /// 403 `captcha_required` with a fresh challenge.
    #[default]
    Refuse,
    /// A place that is never admitted, so a bot learns nothing.
    InfiniteQueue,
}

/// Per-event settings the admission tick does not need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueuePolicy {
    /// CAPTCHA before joining.
    pub captcha: CaptchaPolicy,
    /// What a failed CAPTCHA gets.
    pub captcha_failure: CaptchaFailure,
    /// Places one client IP (IPv6: one /64) may take; 0 = no cap.
    pub max_places_per_ip: u32,
    /// Seats one admitted visitor may hold.
    pub max_seats_per_visitor: u32,
    /// When pre-queue starts (ms since the epoch).
    pub prequeue_at: Option<u64>,
    /// When the sale opens and the pre-queue is shuffled.
    pub opens_at: Option<u64>,
    /// When the queue closes.
    pub closes_at: Option<u64>,
    /// How long a fan who went absent (missed the departure grace) keeps
    /// their ticket, seconds after departing: coming back within it puts
    /// them back at that ticket. `None` (the default) keeps places for the
    /// whole sale; `0` gives every returning fan a new ticket at the back.
    pub place_ttl_seconds: Option<u32>,
    /// Once the event has sold out, whether new arrivals may still join
    /// the line (the waitlist) or are refused with `sold_out`.
    pub waitlist_joins: bool,
    /// How long a waitlisted fan has to take a seat that came back before
    /// the offer passes to the next fan.
    pub offer_ttl_seconds: u32,
    /// Incremented on every write, for optimistic concurrency (`ETag`).
    pub version: u64,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        Self {
            captcha: CaptchaPolicy::OnJoin,
            captcha_failure: CaptchaFailure::Refuse,
            max_places_per_ip: 0,
            max_seats_per_visitor: 6,
            prequeue_at: None,
            opens_at: None,
            closes_at: None,
            place_ttl_seconds: None,
            waitlist_joins: true,
            offer_ttl_seconds: DEFAULT_OFFER_TTL_SECONDS,
            version: 0,
        }
    }
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            state: QueueState::Open,
            admit_per_minute: 600,
            max_active: 1_000,
            session_ttl_seconds: 900,
            departure_grace_seconds: 120,
            policy: QueuePolicy::default(),
        }
    }
}

/// Limits that keep settings meaningful; checked before anything is stored.
pub const MAX_ADMIT_PER_MINUTE: u32 = 1_000_000;

/// A waitlist offer lasts 15 minutes unless the operator says otherwise.
pub const DEFAULT_OFFER_TTL_SECONDS: u32 = 900;

/// Offer lifetimes an operator may choose, seconds.
pub const OFFER_TTL_RANGE: std::ops::RangeInclusive<u32> = 10..=86_400;

impl QueueSettings {
    /// Whether a fan who departed (by absence) at `departed_at` still has
    /// their place at `now` (see [`QueuePolicy::place_ttl_seconds`]).
    pub fn keeps_place(&self, departed_at: u64, now: u64) -> bool {
        match self.policy.place_ttl_seconds {
            None => true,
            Some(ttl) => now.saturating_sub(departed_at) < u64::from(ttl) * 1_000,
        }
    }

    /// Checks ranges; the error names the offending field.
    pub fn validate(&self) -> crate::error::Result<()> {
        let bad = |field, message: &str| {
            Err(crate::QueueError::Invalid {
                field,
                message: message.to_owned(),
            })
        };
        if self.admit_per_minute > MAX_ADMIT_PER_MINUTE {
            return bad("admit_per_minute", "must be at most 1000000");
        }
        if self.session_ttl_seconds < 30 || self.session_ttl_seconds > 86_400 {
            return bad("session_ttl_seconds", "must be between 30 and 86400");
        }
        if self.departure_grace_seconds < 5 || self.departure_grace_seconds > 86_400 {
            return bad("departure_grace_seconds", "must be between 5 and 86400");
        }
        let p = &self.policy;
        if p.max_seats_per_visitor == 0 || p.max_seats_per_visitor > 100 {
            return bad("max_seats_per_visitor", "must be between 1 and 100");
        }
        if !OFFER_TTL_RANGE.contains(&p.offer_ttl_seconds) {
            return bad("offer_ttl_seconds", "must be between 10 and 86400");
        }
        if let (Some(pre), Some(open)) = (p.prequeue_at, p.opens_at) {
            if open < pre {
                return bad("opens_at", "must not be before prequeue_at");
            }
        }
        if let (Some(open), Some(close)) = (p.opens_at, p.closes_at) {
            if close <= open {
                return bad("closes_at", "must be after opens_at");
            }
        }
        Ok(())
    }
}
