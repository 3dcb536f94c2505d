//! The backend stores behind a `Db`, and the one way SQL shared by both
//! dialects is written: a macro instantiated for each store by
//! [`for_each_backend!`](crate::for_each_backend).

use super::{PgStore, SqliteStore};
use std::sync::Arc;

/// The backend store behind a [`Db`](super::Db), for another crate's repositories on
/// the same pool: each provides `read()` (the pool for plain reads) and
/// `begin()` (a write transaction), and SQL written once as a macro is
/// instantiated for both with [`for_each_backend!`](crate::for_each_backend).
#[derive(Clone)]
pub enum Store {
    /// PostgreSQL (production, several nodes).
    Postgres(Arc<PgStore>),
    /// SQLite (embedded default, one node).
    Sqlite(Arc<SqliteStore>),
}

/// Instantiates `$m!(store type, sqlx database)` once per backend: how the
/// SQL shared by both dialects is written once (`db/sql/`, and admin's
/// repositories).
#[macro_export]
macro_rules! for_each_backend {
    ($($m:ident),+ $(,)?) => {
        $(
            $m!($crate::db::PgStore, ::sqlx::Postgres);
            $m!($crate::db::SqliteStore, ::sqlx::Sqlite);
        )+
    };
}
