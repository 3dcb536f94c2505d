//! Per-event queue settings, written by operators and read on every tick.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a queue is in the sale lifecycle (design.md §4).
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
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            state: QueueState::Open,
            admit_per_minute: 600,
            max_active: 1_000,
            session_ttl_seconds: 900,
            departure_grace_seconds: 120,
        }
    }
}

/// Limits that keep settings meaningful; checked before anything is stored.
pub const MAX_ADMIT_PER_MINUTE: u32 = 1_000_000;

impl QueueSettings {
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
        Ok(())
    }
}
