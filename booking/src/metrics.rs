//! What on-call reads about the booking side: holds, checkouts, payments,
//! webhooks and the email outbox, each by outcome. The gateway registers
//! [`METRICS`] with its own at start, so every series reads 0 before the
//! first sale rather than "no data".

use crate::error::Result;

/// Booking's metric names and help texts.
pub const METRICS: &[(&str, &str)] = &[
    ("waitroom_holds_total", "hold attempts by outcome: placed, or the error code that refused them"),
    ("waitroom_checkouts_total", "checkout attempts by outcome: started, or the error code that refused them"),
    ("waitroom_payments_total", "payment settlements by outcome: confirmed, declined, failed, refund_due, duplicate, already_settled"),
    ("waitroom_webhooks_total", "Stripe webhook deliveries by outcome: handled, duplicate, ignored, or the error code that refused them"),
    ("waitroom_emails_sent_total", "emails the outbox handed to the mail server"),
    ("waitroom_email_failures_total", "email sends that failed, by whether the outbox gives up (final=\"true\") or retries"),
    ("waitroom_email_outbox_pending", "emails queued in the database outbox, due or backing off (database-wide: every process reports the same)"),
    ("waitroom_email_outbox_failed", "emails the outbox gave up on (database-wide)"),
];

/// The outcome each labelled series starts with at 0.
const FIRST_OUTCOMES: &[(&str, &str, &str)] = &[
    ("waitroom_holds_total", "outcome", "placed"),
    ("waitroom_checkouts_total", "outcome", "started"),
    ("waitroom_payments_total", "outcome", "confirmed"),
    ("waitroom_webhooks_total", "outcome", "handled"),
    ("waitroom_email_failures_total", "final", "false"),
    ("waitroom_email_failures_total", "final", "true"),
];

/// Describes [`METRICS`] and creates their first series at 0.
pub fn register() {
    for (name, help) in METRICS {
        let name = *name;
        if name.ends_with("_total") {
            metrics::describe_counter!(name, *help);
        } else {
            metrics::describe_gauge!(name, *help);
            let _ = metrics::gauge!(name);
        }
    }
    metrics::counter!("waitroom_emails_sent_total").increment(0);
    for (name, label, value) in FIRST_OUTCOMES {
        metrics::counter!(*name, *label => *value).increment(0);
    }
}

/// Counts one attempt under `name`: `ok` when it succeeded, else the
/// error's code (a closed set, so the label cannot explode).
pub(crate) fn count<T>(name: &'static str, ok: &'static str, result: &Result<T>) {
    count_named(name, result.as_ref().map_or_else(|e| e.code(), |_| ok));
}

/// Counts an outcome that is already a name.
pub(crate) fn count_named(name: &'static str, outcome: &'static str) {
    metrics::counter!(name, "outcome" => outcome).increment(1);
}
