//! Arrivals at the door minute by minute and gate by gate, over the whole
//! event, for the operators' CSV (the live dashboard keeps to the last hour,
//! see `checkin::checkin_counts`).

use super::Tickets;
use crate::error::{BookingError, Result};
use chrono::{DateTime, Duration, DurationRound, Utc};
use std::collections::BTreeMap;

/// Tickets first admitted at one gate in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateMinute {
    /// Start of the minute.
    pub minute: DateTime<Utc>,
    /// Gate name as the scanner sent it.
    pub gate: String,
    /// Tickets admitted.
    pub arrived: i64,
}

/// The header of [`csv_line`].
pub const CSV_HEADER: &str = "minute_utc,gate,checked_in\n";

/// One row of the check-ins CSV. The gate is what door staff typed, so it
/// goes through the same quoting and formula defusing as the order export.
pub fn csv_line(m: &GateMinute) -> String {
    format!(
        "{},{},{}\n",
        m.minute.format("%Y-%m-%dT%H:%MZ"),
        crate::sales::csv_field(&m.gate),
        m.arrived
    )
}

impl Tickets {
    /// Every check-in of `event`, counted by minute (oldest first) and
    /// gate (by name).
    pub async fn arrivals_by_minute(&self, event: &str) -> Result<Vec<GateMinute>> {
        let mut counts: BTreeMap<(DateTime<Utc>, String), i64> = BTreeMap::new();
        for t in self.db.tickets().event_tickets(event).await? {
            let Some(at) = t.checked_in_at else { continue };
            let minute = at
                .duration_trunc(Duration::minutes(1))
                .map_err(BookingError::internal)?;
            let gate = t.checked_in_gate.unwrap_or_default();
            *counts.entry((minute, gate)).or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|((minute, gate), arrived)| GateMinute {
                minute,
                gate,
                arrived,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_are_quoted_and_defused() {
        let minute = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let line = |gate: &str| {
            csv_line(&GateMinute {
                minute,
                gate: gate.to_owned(),
                arrived: 3,
            })
        };
        assert_eq!(line("North 1"), "2027-01-15T08:00Z,North 1,3\n");
        assert_eq!(line("=1+1"), "2027-01-15T08:00Z,'=1+1,3\n");
        assert_eq!(line("A, B"), "2027-01-15T08:00Z,\"A, B\",3\n");
    }
}
