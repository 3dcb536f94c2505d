//! Placing a hold differs per dialect (see each module).

pub(in crate::db) use batch::HoldBatcher;

mod batch;
mod postgres;
mod sqlite;
