//! SQLite backend (embedded default, one node): WAL so readers never block
//! the writer, and a single-connection writer pool whose transactions start
//! with `begin immediate`, so writes queue in process instead of failing
//! with `SQLITE_BUSY` (`busy_timeout` covers another process).

use super::{Backend, BackendKind};
use crate::error::{BookingError, Result};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// The SQLite store.
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    /// One writer: no row locks needed.
    pub(in crate::db) const EXPIRED_HOLDS: &'static str = "select id from hold
        where status = 'active' and expires_at <= $1
        order by expires_at limit $2";

    /// One writer: the lease update is enough.
    pub(in crate::db) const CLAIM_EMAILS: &'static str = "update email_outbox
        set next_attempt_at = $2, attempts = attempts + 1
        where id in (
            select id from email_outbox
            where status = 'pending' and next_attempt_at <= $1
            order by next_attempt_at limit $3)
        returning id, kind, recipient, subject, body_text, body_html, attempts";

    /// Opens (creating if needed) and migrates.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await?;
        super::migrate::sqlite(&write)
            .await
            .map_err(|e| BookingError::internal(format!("sqlite migrations: {e}")))?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { read, write })
    }

    /// The pool for plain reads (read-only connections).
    pub fn read(&self) -> &Pool<Sqlite> {
        &self.read
    }

    /// A write transaction: `begin immediate` on the single writer.
    pub async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("begin immediate").await?)
    }

    /// Nothing to do: SQLite plans each statement when it is prepared and
    /// has no cached generic plans to go stale (see `PgStore::seats_added`).
    pub(in crate::db) async fn seats_added(&self) {}
}

impl Backend for SqliteStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }
}
