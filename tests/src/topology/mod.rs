//! The production topology driven from outside (scripts/topology-test.sh):
//! nginx in front of three waitroom processes, Redis with AOF, PostgreSQL,
//! a Stripe stand-in and an SMTP sink.

pub mod checks;
pub mod fans;
pub mod ledger;
pub mod procs;
pub mod sale;
pub mod smtp;
pub mod stripe;
