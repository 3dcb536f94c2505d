//! PostgreSQL backend: one pool for reads and writes; row locks and
//! `for update skip locked` let several nodes share the database.

use super::place::HoldBatcher;
use super::{Backend, BackendKind};
use crate::config::HoldCommit;
use crate::error::{BookingError, Result};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Pool, Postgres, Transaction};
use std::time::Duration;

/// How long a pooled connection may sit unused before it is checked with a
/// ping when next taken.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    /// Places concurrent holds in shared transactions, on `hold_pool`.
    holds: HoldBatcher,
    hold_pool: PgPool,
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

    /// Connects and migrates. The hold workers get a small pool of their
    /// own, whose sessions commit as `hold_commit` says.
    pub async fn connect(url: &str, max_connections: u32, hold_commit: HoldCommit) -> Result<Self> {
        let options: PgConnectOptions = url.parse()?;
        let pool = pool_options(max_connections.max(2))
            .connect_with(options.clone())
            .await?;
        super::migrate::postgres(&pool)
            .await
            .map_err(|e| BookingError::internal(format!("postgres migrations: {e}")))?;
        let hold_options = match hold_commit {
            HoldCommit::Async => options.options([("synchronous_commit", "off")]),
            HoldCommit::Flushed => options,
        };
        let hold_pool = pool_options(HoldBatcher::CONNECTIONS)
            .connect_with(hold_options)
            .await?;
        let holds = HoldBatcher::start(hold_pool.clone());
        Ok(Self {
            pool,
            holds,
            hold_pool,
        })
    }

    /// See [`super::Db::synchronous_commit`].
    pub(in crate::db) async fn synchronous_commit(&self) -> Result<(String, String)> {
        const SHOW: &str = "show synchronous_commit";
        let holds: String = sqlx::query_scalar(SHOW).fetch_one(&self.hold_pool).await?;
        let rest: String = sqlx::query_scalar(SHOW).fetch_one(&self.pool).await?;
        Ok((holds, rest))
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

    /// Brings the planner's statistics up to date after seats were added
    /// (a new event, a new seat map), before anyone holds them. The hold
    /// workers plan their statements once per connection, from whatever
    /// statistics there are; with none (a new table that autovacuum has not
    /// yet come round to), the seat update of `place_holds` was planned as a hash join
    /// over every available seat of every event, which each batch then
    /// read: about 40% more PostgreSQL CPU per hold in `hold_bench` on 5,100
    /// seats (docs/benchmarks.md). An `analyze` invalidates those plans.
    /// A failure is logged, not returned: the seats are committed, and
    /// autovacuum analyzes the table in time anyway.
    pub(in crate::db) async fn seats_added(&self) {
        if let Err(e) = sqlx::query("analyze seat, ga_pool")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "could not analyze the seat tables after adding seats");
        }
    }
}

/// A pool of at most `max_connections`.
fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
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
}

impl Backend for PgStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }
}
