//! Operators, API keys and the audit log in the records database (the same
//! PostgreSQL or SQLite the booking service uses), with one small
//! repository per aggregate. The admin role may run in a process without
//! booking, so it opens its own small pool; the migrations are the shared
//! ones (`migrations/`), applied by whichever service starts first.
//!
//! The SQL is identical on both backends (`$n` placeholders, integer
//! times), so each query is written once and run on either pool by
//! [`on_pool!`].

use crate::error::Result;
use serde::Serialize;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{FromRow, PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// The database behind the admin repositories.
#[derive(Clone, Debug)]
pub enum AdminDb {
    /// PostgreSQL (several nodes).
    Postgres(PgPool),
    /// SQLite (embedded default).
    Sqlite(SqlitePool),
}

/// Runs the same query text on whichever pool is configured.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::AdminDb::Postgres($pool) => $body,
            $crate::store::AdminDb::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// An operator's account.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct OperatorRow {
    /// `op_…`.
    pub id: String,
    /// Login name, lowercased.
    pub email: String,
    /// argon2id PHC string; never serialized.
    #[serde(skip)]
    pub password_hash: String,
    /// `viewer`, `operator` or `owner`.
    pub role: String,
    /// ms since the epoch.
    pub created_at: i64,
    /// Sessions issued under another epoch are refused; moved on by
    /// logout, password and role changes.
    #[serde(skip)]
    pub session_epoch: i64,
}

/// An API key's metadata (the key itself is shown once, at creation).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct ApiKeyRow {
    /// `key_…`.
    pub id: String,
    /// What the key is for.
    pub name: String,
    /// SHA-256 of the key, hex; never serialized.
    #[serde(skip)]
    pub key_sha256: String,
    /// Role the key acts with.
    pub role: String,
    /// Who created it.
    pub created_by: String,
    /// ms since the epoch.
    pub created_at: i64,
    /// When it was revoked; revoked keys authenticate nobody.
    pub revoked_at: Option<i64>,
}

/// One audited change.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct AuditRow {
    /// Increasing id.
    pub id: i64,
    /// ms since the epoch.
    pub at: i64,
    /// Who (`operator:<email>`, `api_key:<name>`, `admin_token`, `scheduler`).
    pub actor: String,
    /// What, e.g. `queue.settings.change`.
    pub action: String,
    /// On what, e.g. `event:demo`.
    pub target: String,
    /// JSON before the change, if anything existed.
    pub before: Option<String>,
    /// JSON after the change.
    pub after: Option<String>,
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    /// Who.
    pub actor: &'a str,
    /// What.
    pub action: &'a str,
    /// On what.
    pub target: &'a str,
    /// State before.
    pub before: Option<serde_json::Value>,
    /// State after.
    pub after: Option<serde_json::Value>,
}

impl AdminDb {
    /// Connects to `url` (`postgres://…` or `sqlite:…`) and applies the
    /// shared migrations (missing ones tolerated: a newer node may have
    /// added some during a rolling deploy).
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            booking::db::migrate::postgres(&pool)
                .await
                .map_err(sqlx::Error::from)?;
            Ok(Self::Postgres(pool))
        } else {
            // A busy timeout because booking's writer shares the file.
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await?;
            booking::db::migrate::sqlite(&pool)
                .await
                .map_err(sqlx::Error::from)?;
            Ok(Self::Sqlite(pool))
        }
    }

    /// Operator accounts.
    pub fn operators(&self) -> Operators<'_> {
        Operators(self)
    }

    /// API keys.
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys(self)
    }

    /// The audit log.
    pub fn audit(&self) -> Audit<'_> {
        Audit(self)
    }

    /// The shared secret `name`: `candidate` when this call stores it
    /// first, else the one stored before (processes starting together
    /// agree on whichever insert landed).
    pub async fn shared_secret(&self, name: &str, candidate: &str, now: i64) -> Result<String> {
        let insert = "insert into admin_secret (name, value, created_at) values ($1, $2, $3) \
                      on conflict (name) do nothing";
        let select = "select value from admin_secret where name = $1";
        Ok(on_pool!(self, p => {
            sqlx::query(insert).bind(name).bind(candidate).bind(now).execute(p).await?;
            sqlx::query_scalar(select).bind(name).fetch_one(p).await?
        }))
    }
}

/// Repository of operator accounts.
pub struct Operators<'a>(&'a AdminDb);

const OPERATOR_COLUMNS: &str =
    "select id, email, password_hash, role, created_at, session_epoch from operator";

impl Operators<'_> {
    /// How many accounts exist (the first start creates an owner).
    pub async fn count(&self) -> Result<i64> {
        let q = "select count(*) from operator";
        Ok(on_pool!(self.0, p => sqlx::query_scalar(q).fetch_one(p).await?))
    }

    /// Creates an account; `false` when the email is taken.
    pub async fn insert(&self, row: &OperatorRow) -> Result<bool> {
        let q = "insert into operator (id, email, password_hash, role, created_at) \
                 values ($1, $2, $3, $4, $5) on conflict (email) do nothing";
        let done = on_pool!(self.0, p => sqlx::query(q)
            .bind(&row.id).bind(&row.email).bind(&row.password_hash)
            .bind(&row.role).bind(row.created_at)
            .execute(p).await?.rows_affected());
        Ok(done == 1)
    }

    /// By (lowercased) email.
    pub async fn by_email(&self, email: &str) -> Result<Option<OperatorRow>> {
        let q = format!("{OPERATOR_COLUMNS} where email = $1");
        Ok(on_pool!(self.0, p => sqlx::query_as(&q).bind(email).fetch_optional(p).await?))
    }

    /// By id.
    pub async fn by_id(&self, id: &str) -> Result<Option<OperatorRow>> {
        let q = format!("{OPERATOR_COLUMNS} where id = $1");
        Ok(on_pool!(self.0, p => sqlx::query_as(&q).bind(id).fetch_optional(p).await?))
    }

    /// Every account, oldest first.
    pub async fn list(&self) -> Result<Vec<OperatorRow>> {
        let q = format!("{OPERATOR_COLUMNS} order by created_at, id");
        Ok(on_pool!(self.0, p => sqlx::query_as(&q).fetch_all(p).await?))
    }

    /// Changes the role and/or password and ends the account's sessions
    /// (a new epoch); `false` when there is no such id.
    pub async fn update(&self, id: &str, role: &str, password_hash: &str) -> Result<bool> {
        let q = "update operator set role = $2, password_hash = $3, \
                 session_epoch = session_epoch + 1 where id = $1";
        let done = on_pool!(self.0, p => sqlx::query(q)
            .bind(id).bind(role).bind(password_hash).execute(p).await?.rows_affected());
        Ok(done == 1)
    }

    /// Ends every session of the account (logout); `false` when there is
    /// no such id.
    pub async fn end_sessions(&self, id: &str) -> Result<bool> {
        let q = "update operator set session_epoch = session_epoch + 1 where id = $1";
        let done = on_pool!(self.0, p => sqlx::query(q).bind(id).execute(p).await?.rows_affected());
        Ok(done == 1)
    }

    /// Deletes an account; `false` when there is no such id.
    pub async fn delete(&self, id: &str) -> Result<bool> {
        let q = "delete from operator where id = $1";
        let done = on_pool!(self.0, p => sqlx::query(q).bind(id).execute(p).await?.rows_affected());
        Ok(done == 1)
    }
}

/// Repository of API keys.
pub struct ApiKeys<'a>(&'a AdminDb);

const KEY_COLUMNS: &str =
    "select id, name, key_sha256, role, created_by, created_at, revoked_at from api_key";

impl ApiKeys<'_> {
    /// Stores a new key's digest.
    pub async fn insert(&self, row: &ApiKeyRow) -> Result<()> {
        let q = "insert into api_key (id, name, key_sha256, role, created_by, created_at) \
                 values ($1, $2, $3, $4, $5, $6)";
        on_pool!(self.0, p => sqlx::query(q)
            .bind(&row.id).bind(&row.name).bind(&row.key_sha256).bind(&row.role)
            .bind(&row.created_by).bind(row.created_at)
            .execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// The live (not revoked) key with this digest.
    pub async fn by_digest(&self, sha256_hex: &str) -> Result<Option<ApiKeyRow>> {
        let q = format!("{KEY_COLUMNS} where key_sha256 = $1 and revoked_at is null");
        Ok(on_pool!(self.0, p => sqlx::query_as(&q).bind(sha256_hex).fetch_optional(p).await?))
    }

    /// Every key, revoked ones included, newest first.
    pub async fn list(&self) -> Result<Vec<ApiKeyRow>> {
        let q = format!("{KEY_COLUMNS} order by created_at desc, id");
        Ok(on_pool!(self.0, p => sqlx::query_as(&q).fetch_all(p).await?))
    }

    /// Revokes a live key; `false` when there is no such live key.
    pub async fn revoke(&self, id: &str, now: i64) -> Result<bool> {
        let q = "update api_key set revoked_at = $2 where id = $1 and revoked_at is null";
        let done = on_pool!(self.0, p => sqlx::query(q)
            .bind(id).bind(now).execute(p).await?.rows_affected());
        Ok(done == 1)
    }
}

/// The append-only audit log.
pub struct Audit<'a>(&'a AdminDb);

impl Audit<'_> {
    /// Appends one entry.
    pub async fn record(&self, entry: &NewAudit<'_>, now: i64) -> Result<()> {
        let q = "insert into audit_entry (at, actor, action, target, before, after) \
                 values ($1, $2, $3, $4, $5, $6)";
        let before = entry.before.as_ref().map(|v| v.to_string());
        let after = entry.after.as_ref().map(|v| v.to_string());
        on_pool!(self.0, p => sqlx::query(q)
            .bind(now).bind(entry.actor).bind(entry.action).bind(entry.target)
            .bind(&before).bind(&after)
            .execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Newest first, below `before_id` (paging), optionally for one target.
    pub async fn list(
        &self,
        target: Option<&str>,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        let q = "select id, at, actor, action, target, before, after from audit_entry \
                 where ($1 is null or target = $1) and ($2 is null or id < $2) \
                 order by id desc limit $3";
        Ok(on_pool!(self.0, p => sqlx::query_as(q)
            .bind(target).bind(before_id).bind(limit).fetch_all(p).await?))
    }
}
