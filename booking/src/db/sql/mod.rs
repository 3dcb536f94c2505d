//! The SQL shared by both backends, as macros each backend instantiates
//! with its store type and `sqlx` database. A backend provides:
//!
//! - `fn read(&self) -> &sqlx::Pool<DB>`: the pool for plain reads;
//! - `async fn begin(&self) -> Result<sqlx::Transaction<'static, DB>>`: a
//!   write transaction (SQLite: `begin immediate` on the single writer);
//! - `const EXPIRED_HOLDS: &str` and `const CLAIM_EMAILS: &str`: the two
//!   work-queue queries, which use `for update skip locked` on PostgreSQL.
//!
//! Rows that must not change under a multi-step write are locked portably
//! with a no-op update (`update … set status = status … returning …`): a
//! row lock on PostgreSQL, and a no-op under SQLite's single writer.

/// The columns of `PaymentRecord`, for `concat!` into its queries.
macro_rules! payment_columns {
    () => {
        "id, order_id, provider, provider_ref, client_secret, amount, currency, status,
        failed_attempts, last_error_code, last_error_message, amount_refunded, refund_error,
        dispute_status, intent_cancel, create_request_id, cancel_request_id, refund_request_id"
    };
}

#[macro_use]
mod catalog;
#[macro_use]
mod holds;
#[macro_use]
mod orders;
#[macro_use]
mod accounts;
#[macro_use]
mod settle;
#[macro_use]
mod sales;
#[macro_use]
mod payments;
