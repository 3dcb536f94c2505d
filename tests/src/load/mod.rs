//! The load generator's scenarios and the pieces they share.

pub mod admission;
pub mod aggregate;
pub mod control;
pub mod flood;
pub mod hist;
pub mod http;
pub mod joins;
pub mod lookups;
pub mod peer;
pub mod redis;
pub mod store;
pub mod waiters;
pub mod ws;
