//! The outbox worker: claims due emails (leased, so several workers never
//! send the same one at once), sends them, and retries failures with
//! exponential backoff until [`MAX_ATTEMPTS`].

use super::Mailer;
use crate::config::BookingConfig;
use crate::db::Db;
use crate::state::now;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Attempts before an email is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// While claimed, an email is invisible to other workers for this long.
const LEASE: chrono::Duration = chrono::Duration::seconds(120);

/// Delay before retry `attempt` (1-based): 5 s, 10 s, 20 s, … capped at 1 h.
pub fn backoff(attempt: i64) -> chrono::Duration {
    let exp = attempt.clamp(1, 12) - 1;
    chrono::Duration::seconds((5_i64 << exp).min(3600))
}

/// The email outbox: what the worker sends.
#[derive(Clone)]
pub struct Outbox {
    pub(crate) config: Arc<BookingConfig>,
    pub(crate) db: Db,
    /// Rung by whoever queues an email.
    pub(crate) mail_wakeup: Arc<Notify>,
    /// Ticks, and the contacts fans left for "your turn" emails.
    pub(crate) queue: Arc<dyn queue::QueueStore>,
    /// The names fans know events by.
    pub(crate) looks: crate::look::Looks,
}

impl Outbox {
    /// Sends every due email once; returns how many were sent.
    pub async fn flush_outbox(&self, mailer: &Mailer) -> crate::error::Result<usize> {
        let mut sent = 0;
        loop {
            let at = now();
            let batch = self.db.outbox().claim_due(at, at + LEASE, 20).await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            for email in batch {
                let result = mailer
                    .send(
                        &self.config.mail_from,
                        &email.recipient,
                        &email.subject,
                        &email.body_text,
                        &email.body_html,
                    )
                    .await;
                match result {
                    Ok(()) => {
                        self.db.outbox().mark_sent(email.id, now()).await?;
                        metrics::counter!("waitroom_emails_sent_total").increment(1);
                        sent += 1;
                    }
                    Err(error) => {
                        let retry = (email.attempts < MAX_ATTEMPTS)
                            .then(|| now() + backoff(email.attempts));
                        let last = if retry.is_none() { "true" } else { "false" };
                        metrics::counter!("waitroom_email_failures_total", "final" => last)
                            .increment(1);
                        tracing::warn!(email = email.id, attempts = email.attempts, %error,
                            "email send failed");
                        self.db
                            .outbox()
                            .mark_failed(email.id, &error, retry)
                            .await?;
                    }
                }
            }
        }
    }
}

/// The worker loop: wakes when an email is queued, and every few seconds
/// for retries. Runs until its task is aborted.
pub async fn run(state: Outbox, mailer: Arc<Mailer>) {
    loop {
        if let Err(e) = state.flush_outbox(&mailer).await {
            tracing::warn!(error = %e, "outbox flush failed");
        }
        match state.db.outbox().backlog().await {
            Ok(backlog) => {
                metrics::gauge!("waitroom_email_outbox_pending").set(backlog.pending as f64);
                metrics::gauge!("waitroom_email_outbox_failed").set(backlog.failed as f64);
            }
            Err(e) => tracing::warn!(error = %e, "reading the outbox backlog failed"),
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), state.mail_wakeup.notified()).await;
    }
}
