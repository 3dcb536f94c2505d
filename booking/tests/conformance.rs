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
#[path = "conformance/holds.rs"]
mod holds;
#[path = "conformance/payments.rs"]
mod payments;
#[path = "conformance/sales.rs"]
mod sales;
#[path = "conformance/stripe.rs"]
mod stripe;
