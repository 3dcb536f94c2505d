//! The booking conformance suite: every test runs on PostgreSQL and on
//! SQLite (`per_backend!`). PostgreSQL must be reachable (see
//! `common::pg_admin_url`); the tests fail, never skip, without it.

#![allow(clippy::unwrap_used)]

#[path = "conformance/accounts.rs"]
mod accounts;
#[path = "conformance/accounts_mail.rs"]
mod accounts_mail;
#[path = "conformance/api.rs"]
mod api;
#[path = "conformance/common.rs"]
mod common;
#[path = "conformance/hold_batch_sql.rs"]
mod hold_batch_sql;
#[path = "conformance/hold_batches.rs"]
mod hold_batches;
#[path = "conformance/holds.rs"]
mod holds;
#[path = "conformance/look.rs"]
mod look;
#[path = "conformance/migrations.rs"]
mod migrations;
#[path = "conformance/payments.rs"]
mod payments;
#[path = "conformance/reminders.rs"]
mod reminders;
#[path = "conformance/sales.rs"]
mod sales;
#[path = "conformance/search.rs"]
mod search;
#[path = "conformance/stand_in.rs"]
mod stand_in;
#[path = "conformance/stand_in_objects.rs"]
mod stand_in_objects;
#[path = "conformance/stripe.rs"]
mod stripe;
#[path = "conformance/stripe_payments.rs"]
mod stripe_payments;
#[path = "conformance/stripe_races.rs"]
mod stripe_races;
#[path = "conformance/stripe_refunds.rs"]
mod stripe_refunds;
#[path = "conformance/ticket_pdf.rs"]
mod ticket_pdf;
#[path = "conformance/tickets.rs"]
mod tickets;
