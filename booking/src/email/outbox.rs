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
/// A worker that dies mid-batch strands its claimed emails until then.
const LEASE: chrono::Duration = chrono::Duration::seconds(120);

/// One send (connect, TLS, the SMTP conversation) is given up after this
/// and retried with backoff; lettre's own timeout is per command.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Emails claimed at once: few, so a worker's whole batch is sent, at the
/// slowest, before its lease runs out (else another worker would claim and
/// send the rest again), and a killed worker strands few.
const BATCH: i64 = 4;

// The slowest batch, with a fifth of the lease to spare for the database.
const _: () = assert!(BATCH as u64 * SEND_TIMEOUT.as_secs() <= LEASE.num_seconds() as u64 * 4 / 5);

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
        self.flush_within(mailer, SEND_TIMEOUT).await
    }

    /// [`Self::flush_outbox`], giving one send up after `send_timeout`
    /// (tests use a short one).
    pub async fn flush_within(
        &self,
        mailer: &Mailer,
        send_timeout: Duration,
    ) -> crate::error::Result<usize> {
        let mut sent = 0;
        loop {
            let at = now();
            let batch = self.db.outbox().claim_due(at, at + LEASE, BATCH).await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            for email in batch {
                let send = mailer.send(
                    &self.config.mail_from,
                    &email.recipient,
                    &email.subject,
                    &email.body_text,
                    &email.body_html,
                );
                let result = tokio::time::timeout(send_timeout, send)
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {send_timeout:?}")));
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
