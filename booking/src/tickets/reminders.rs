//! Reminder emails: every ticket holder of an event gets one, a configured
//! time (`reminder_hours`) before it starts. Every booking process runs the
//! worker; the `order_reminder` row inserted with the email makes each
//! order's reminder happen once, whichever process gets there first and
//! however often they restart.

use super::Tickets;
use crate::error::{BookingError, Result};
use crate::payment::checkout::order_detail;
use crate::state::now;
use chrono::Duration;

/// Orders looked at per query.
const BATCH: i64 = 100;
/// How often the worker looks.
const EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Tickets {
    /// Queues the reminders now due; returns how many this call queued.
    pub async fn send_reminders(&self) -> Result<usize> {
        if self.config.reminder_hours == 0 {
            return Ok(0);
        }
        let hours = i64::try_from(self.config.reminder_hours).unwrap_or(i64::MAX / 3600);
        let at = now();
        let until = at + Duration::hours(hours.min(24 * 366));
        let mut queued = 0;
        loop {
            let due = self.db.tickets().reminders_due(at, until, BATCH).await?;
            for order in &due {
                let detail = order_detail(&self.db, order).await?;
                let event = self
                    .db
                    .catalog()
                    .event(&detail.order.event_id)
                    .await?
                    .ok_or_else(|| BookingError::internal("an order without its event"))?;
                let starts = event
                    .starts_at
                    .format("%A %-d %B %Y, %H:%M UTC")
                    .to_string();
                let email = crate::email::templates::reminder(
                    &detail,
                    &starts,
                    &self.config.public_base_url,
                );
                if self.db.tickets().queue_reminder(order, &email, at).await? {
                    queued += 1;
                }
            }
            // Every order of a batch is reminded now (by us or another
            // process), so the next query moves on; a short batch is the last.
            if (due.len() as i64) < BATCH {
                break;
            }
        }
        if queued > 0 {
            self.mail_wakeup.notify_one();
            tracing::info!(queued, "reminder emails queued");
        }
        Ok(queued)
    }
}

/// The reminder worker: looks every minute.
pub async fn run(state: Tickets) {
    loop {
        if let Err(e) = state.send_reminders().await {
            tracing::warn!(error = %e, "reminders failed; retrying in a minute");
        }
        tokio::time::sleep(EVERY).await;
    }
}
