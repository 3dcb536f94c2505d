//! Placing a hold differs per dialect (see each module).

mod postgres;
mod sqlite;
