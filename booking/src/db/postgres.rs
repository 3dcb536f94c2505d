//! PostgreSQL backend: one pool for reads and writes; row locks and
//! `for update skip locked` let several nodes share the database.

use super::{Backend, BackendKind};
use crate::error::{BookingError, Result};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, Pool, Postgres, Transaction};
use std::time::Duration;

/// How long a pooled connection may sit unused before it is checked with a
/// ping when next taken.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    /// Places concurrent holds in shared transactions.
    holds: super::place::HoldBatcher,
}

impl PgStore {
    /// Several sweepers may run at once; each takes the holds no one else
    /// has locked.
    pub(in crate::db) const EXPIRED_HOLDS: &'static str = "select id from hold
        where status = 'active' and expires_at <= $1
        order by expires_at limit $2
        for update skip locked";

    /// Leases due emails to this worker; rows another worker is claiming
    /// right now are skipped, not waited for.
    pub(in crate::db) const CLAIM_EMAILS: &'static str = "update email_outbox
        set next_attempt_at = $2, attempts = attempts + 1
        where id in (
            select id from email_outbox
            where status = 'pending' and next_attempt_at <= $1
            order by next_attempt_at limit $3
            for update skip locked)
        returning id, kind, recipient, subject, body_text, body_html, attempts";

    /// Connects and migrates.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            // sqlx pings every connection it hands out by default: a round
            // trip before each query, which under a sale's load is a good
            // share of all round trips. A connection is pinged only after
            // sitting idle; one that breaks in between fails one query and
            // is dropped when given back (sqlx pings it then, off the
            // caller's path).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        super::migrate::postgres(&pool)
            .await
            .map_err(|e| BookingError::internal(format!("postgres migrations: {e}")))?;
        let holds = super::place::HoldBatcher::start(pool.clone());
        Ok(Self { pool, holds })
    }

    pub(in crate::db) fn hold_batcher(&self) -> &super::place::HoldBatcher {
        &self.holds
    }

    /// The pool for plain reads.
    pub fn read(&self) -> &Pool<Postgres> {
        &self.pool
    }

    /// A write transaction.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

impl Backend for PgStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }
}
