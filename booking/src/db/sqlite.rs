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
    const EXPIRED_HOLDS: &'static str = "select id from hold
        where status = 'active' and expires_at <= $1
        order by expires_at limit $2";

    /// One writer: the lease update is enough.
    const CLAIM_EMAILS: &'static str = "update email_outbox
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

    pub(in crate::db) fn read(&self) -> &Pool<Sqlite> {
        &self.read
    }

    pub(in crate::db) async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("begin immediate").await?)
    }
}

impl Backend for SqliteStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }
}

impl_catalog_repo!(SqliteStore, Sqlite);
impl_event_search!(SqliteStore, Sqlite);
impl_hold_repo!(SqliteStore, Sqlite);
impl_order_repo!(SqliteStore, Sqlite);
impl_settle!(SqliteStore, Sqlite);
impl_account_repos!(SqliteStore, Sqlite);
impl_sales_repo!(SqliteStore, Sqlite);
impl_payment_repo!(SqliteStore, Sqlite);
impl_ticket_repo!(SqliteStore, Sqlite);
