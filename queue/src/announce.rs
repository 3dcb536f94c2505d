//! Live announcements: one short plain-text message per event that an
//! operator pushes to every fan of the event at once.
//!
//! The store keeps the message in force (so a page that connects or polls
//! later still sees it) and publishes every change to every process, which
//! forwards it to its sockets. An empty message clears the announcement.

use crate::error::{QueueError, Result};
use crate::ids::EventId;
use crate::store::Millis;
use serde::{Deserialize, Serialize};

/// Longest announcement, in characters (Unicode scalar values).
pub const MAX_ANNOUNCEMENT_CHARS: usize = 280;

/// One announcement of one event, as stored and published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// The event.
    pub event: EventId,
    /// The text; empty when the announcement was cleared.
    pub message: String,
    /// When it was set (ms since the epoch); also identifies it, so a page
    /// shows a repeated message again only when it was pushed again.
    pub at: Millis,
}

impl Announcement {
    /// Whether this clears the event's announcement.
    pub fn is_cleared(&self) -> bool {
        self.message.is_empty()
    }
}

/// Checks an operator's message and returns it trimmed: plain text of at
/// most [`MAX_ANNOUNCEMENT_CHARS`] characters, no control characters except
/// line breaks (pages render it as text, so markup is harmless but shown
/// literally). Empty clears.
pub fn validate_message(raw: &str) -> Result<String> {
    let message = raw.trim().replace("\r\n", "\n");
    let invalid = |message: String| QueueError::Invalid {
        field: "message",
        message,
    };
    if message.chars().count() > MAX_ANNOUNCEMENT_CHARS {
        return Err(invalid(format!(
            "at most {MAX_ANNOUNCEMENT_CHARS} characters"
        )));
    }
    if message.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(
            "plain text only: no control characters besides line breaks".to_owned(),
        ));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_checked() {
        assert_eq!(
            validate_message("  Doors at 7  ").ok().as_deref(),
            Some("Doors at 7")
        );
        assert_eq!(validate_message("").ok().as_deref(), Some(""));
        assert!(validate_message(&"é".repeat(MAX_ANNOUNCEMENT_CHARS)).is_ok());
        assert!(validate_message(&"é".repeat(MAX_ANNOUNCEMENT_CHARS + 1)).is_err());
        assert!(validate_message("bell\u{7}").is_err());
        assert_eq!(
            validate_message("two\r\nlines").ok().as_deref(),
            Some("two\nlines")
        );
    }
}
