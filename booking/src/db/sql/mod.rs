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

/// A `TicketRecord` query up to its `where`: the status is derived from
/// the ticket, its order and its event, so a refund, a cancellation or a
/// reissue revokes without touching every path that makes one.
macro_rules! ticket_select {
    () => {
        r#"select t.id, t.reference, t.order_id, t.event_id, t.seat,
            case when t.revoked_at is not null or o.status <> 'confirmed'
                    or e.status = 'cancelled' then 'revoked'
                 when t.checked_in_at is not null then 'used'
                 else 'valid' end as status,
            case when t.revoked_at is not null then t.revoked_reason
                 when e.status = 'cancelled' then 'event_cancelled'
                 when o.status <> 'confirmed' then 'order_' || o.status
                 else null end as revoked_reason,
            t.version, t.jws as qr, t.checked_in_at, t.checked_in_gate
        from ticket t
        join "order" o on o.id = t.order_id
        join event e on e.id = t.event_id "#
    };
}

#[macro_use]
mod catalog;
#[macro_use]
mod search;
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
#[macro_use]
mod tickets;
#[macro_use]
mod look;
