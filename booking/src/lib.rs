//! The booking service: catalog, token-gated seat holds, checkout,
//! payments, webhooks, email and customer accounts (design.md §6, §7).

pub mod config;
pub mod db;
pub mod error;

pub use config::{BookingConfig, Secret};
pub use error::BookingError;
