//! Operators, API keys and the audit log in the records database (the same
//! PostgreSQL or SQLite the booking service uses), with one small
//! repository per aggregate. [`AdminDb`] is built on booking's
//! [`Db`](booking::db::Db): one pool per process, migrated once.
//!
//! The SQL is identical on both backends (`$n` placeholders, integer
//! times), so it is written once the way booking writes its own: as a
//! macro instantiated for each backend store by
//! [`booking::for_each_backend!`], reading through `read()` and writing in
//! a `begin()` transaction.

use crate::analytics::db::SaleMinuteRepo;
use crate::error::Result;
use crate::ledger::LedgerRows;
use async_trait::async_trait;
use booking::db::{Db, Store};
use serde::Serialize;
use sqlx::FromRow;
use std::sync::Arc;

/// The database behind the admin repositories.
#[derive(Clone)]
pub struct AdminDb {
    backend: Arc<dyn AdminBackend>,
}

impl std::fmt::Debug for AdminDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminDb").finish_non_exhaustive()
    }
}

/// Every admin repository, on one backend store.
trait AdminBackend:
    OperatorRepo + ApiKeyRepo + AuditRepo + SecretRepo + LedgerRows + SaleMinuteRepo
{
}

impl<T> AdminBackend for T where
    T: OperatorRepo + ApiKeyRepo + AuditRepo + SecretRepo + LedgerRows + SaleMinuteRepo
{
}

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
    /// The admin repositories on booking's database (already migrated).
    pub fn new(db: &Db) -> Self {
        let backend: Arc<dyn AdminBackend> = match db.store() {
            Store::Postgres(store) => store,
            Store::Sqlite(store) => store,
        };
        Self { backend }
    }

    /// Connects to `url` (`postgres://…` or `sqlite:…`) through booking's
    /// [`Db`], which applies the shared migrations: for tests and tools
    /// that run without a booking service.
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(Self::new(&Db::connect(url, 4).await?))
    }

    /// Operator accounts.
    pub fn operators(&self) -> &dyn OperatorRepo {
        &*self.backend
    }

    /// API keys.
    pub fn api_keys(&self) -> &dyn ApiKeyRepo {
        &*self.backend
    }

    /// The audit log.
    pub fn audit(&self) -> &dyn AuditRepo {
        &*self.backend
    }

    /// The queue ledger's rows (see `ledger`).
    pub(crate) fn ledger_rows(&self) -> &dyn LedgerRows {
        &*self.backend
    }

    /// The stored minutes of every sale (see `analytics`).
    pub(crate) fn sale_minutes(&self) -> &dyn SaleMinuteRepo {
        &*self.backend
    }

    /// The shared secret `name`: `candidate` when this call stores it
    /// first, else the one stored before (processes starting together
    /// agree on whichever insert landed).
    pub async fn shared_secret(&self, name: &str, candidate: &str, now: i64) -> Result<String> {
        self.backend.shared_secret(name, candidate, now).await
    }
}

/// Repository of operator accounts.
#[async_trait]
pub trait OperatorRepo: Send + Sync {
    /// How many accounts exist (the first start creates an owner).
    async fn count(&self) -> Result<i64>;
    /// Creates an account; `false` when the email is taken.
    async fn insert(&self, row: &OperatorRow) -> Result<bool>;
    /// By (lowercased) email.
    async fn by_email(&self, email: &str) -> Result<Option<OperatorRow>>;
    /// By id.
    async fn by_id(&self, id: &str) -> Result<Option<OperatorRow>>;
    /// Every account, oldest first.
    async fn list(&self) -> Result<Vec<OperatorRow>>;
    /// Changes the role and/or password and ends the account's sessions
    /// (a new epoch); `false` when there is no such id.
    async fn update(&self, id: &str, role: &str, password_hash: &str) -> Result<bool>;
    /// Ends every session of the account (logout); `false` when there is
    /// no such id.
    async fn end_sessions(&self, id: &str) -> Result<bool>;
    /// Deletes an account; `false` when there is no such id.
    async fn delete(&self, id: &str) -> Result<bool>;
}

/// Repository of API keys.
#[async_trait]
pub trait ApiKeyRepo: Send + Sync {
    /// Stores a new key's digest.
    async fn insert(&self, row: &ApiKeyRow) -> Result<()>;
    /// The live (not revoked) key with this digest.
    async fn by_digest(&self, sha256_hex: &str) -> Result<Option<ApiKeyRow>>;
    /// Every key, revoked ones included, newest first.
    async fn list(&self) -> Result<Vec<ApiKeyRow>>;
    /// Revokes a live key; `false` when there is no such live key.
    async fn revoke(&self, id: &str, now: i64) -> Result<bool>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Appends one entry.
    async fn record(&self, entry: &NewAudit<'_>, now: i64) -> Result<()>;
    /// Newest first, below `before_id` (paging), optionally for one target.
    async fn list(
        &self,
        target: Option<&str>,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>>;
}

/// Secrets every admin process must agree on.
#[async_trait]
trait SecretRepo: Send + Sync {
    async fn shared_secret(&self, name: &str, candidate: &str, now: i64) -> Result<String>;
}

const OPERATOR_COLUMNS: &str =
    "select id, email, password_hash, role, created_at, session_epoch from operator";

const KEY_COLUMNS: &str =
    "select id, name, key_sha256, role, created_by, created_at, revoked_at from api_key";

/// One write statement in its own transaction; the rows it changed.
macro_rules! write_one {
    ($store:expr, $query:expr) => {{
        let mut tx = $store.begin().await?;
        let done = $query.execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        done
    }};
}

macro_rules! impl_admin_repos {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl OperatorRepo for $store {
            async fn count(&self) -> Result<i64> {
                let q = "select count(*) from operator";
                Ok(sqlx::query_scalar(q).fetch_one(self.read()).await?)
            }

            async fn insert(&self, row: &OperatorRow) -> Result<bool> {
                let q = "insert into operator (id, email, password_hash, role, created_at) \
                         values ($1, $2, $3, $4, $5) on conflict (email) do nothing";
                let done = write_one!(
                    self,
                    sqlx::query(q)
                        .bind(&row.id)
                        .bind(&row.email)
                        .bind(&row.password_hash)
                        .bind(&row.role)
                        .bind(row.created_at)
                );
                Ok(done == 1)
            }

            async fn by_email(&self, email: &str) -> Result<Option<OperatorRow>> {
                let q = format!("{OPERATOR_COLUMNS} where email = $1");
                Ok(sqlx::query_as(&q)
                    .bind(email)
                    .fetch_optional(self.read())
                    .await?)
            }

            async fn by_id(&self, id: &str) -> Result<Option<OperatorRow>> {
                let q = format!("{OPERATOR_COLUMNS} where id = $1");
                Ok(sqlx::query_as(&q)
                    .bind(id)
                    .fetch_optional(self.read())
                    .await?)
            }

            async fn list(&self) -> Result<Vec<OperatorRow>> {
                let q = format!("{OPERATOR_COLUMNS} order by created_at, id");
                Ok(sqlx::query_as(&q).fetch_all(self.read()).await?)
            }

            async fn update(&self, id: &str, role: &str, password_hash: &str) -> Result<bool> {
                let q = "update operator set role = $2, password_hash = $3, \
                         session_epoch = session_epoch + 1 where id = $1";
                let done = write_one!(self, sqlx::query(q).bind(id).bind(role).bind(password_hash));
                Ok(done == 1)
            }

            async fn end_sessions(&self, id: &str) -> Result<bool> {
                let q = "update operator set session_epoch = session_epoch + 1 where id = $1";
                Ok(write_one!(self, sqlx::query(q).bind(id)) == 1)
            }

            async fn delete(&self, id: &str) -> Result<bool> {
                let q = "delete from operator where id = $1";
                Ok(write_one!(self, sqlx::query(q).bind(id)) == 1)
            }
        }

        #[async_trait]
        impl ApiKeyRepo for $store {
            async fn insert(&self, row: &ApiKeyRow) -> Result<()> {
                let q = "insert into api_key (id, name, key_sha256, role, created_by, created_at) \
                         values ($1, $2, $3, $4, $5, $6)";
                write_one!(
                    self,
                    sqlx::query(q)
                        .bind(&row.id)
                        .bind(&row.name)
                        .bind(&row.key_sha256)
                        .bind(&row.role)
                        .bind(&row.created_by)
                        .bind(row.created_at)
                );
                Ok(())
            }

            async fn by_digest(&self, sha256_hex: &str) -> Result<Option<ApiKeyRow>> {
                let q = format!("{KEY_COLUMNS} where key_sha256 = $1 and revoked_at is null");
                Ok(sqlx::query_as(&q)
                    .bind(sha256_hex)
                    .fetch_optional(self.read())
                    .await?)
            }

            async fn list(&self) -> Result<Vec<ApiKeyRow>> {
                let q = format!("{KEY_COLUMNS} order by created_at desc, id");
                Ok(sqlx::query_as(&q).fetch_all(self.read()).await?)
            }

            async fn revoke(&self, id: &str, now: i64) -> Result<bool> {
                let q = "update api_key set revoked_at = $2 where id = $1 and revoked_at is null";
                Ok(write_one!(self, sqlx::query(q).bind(id).bind(now)) == 1)
            }
        }

        #[async_trait]
        impl AuditRepo for $store {
            async fn record(&self, entry: &NewAudit<'_>, now: i64) -> Result<()> {
                let q = "insert into audit_entry (at, actor, action, target, before, after) \
                         values ($1, $2, $3, $4, $5, $6)";
                let before = entry.before.as_ref().map(|v| v.to_string());
                let after = entry.after.as_ref().map(|v| v.to_string());
                write_one!(
                    self,
                    sqlx::query(q)
                        .bind(now)
                        .bind(entry.actor)
                        .bind(entry.action)
                        .bind(entry.target)
                        .bind(&before)
                        .bind(&after)
                );
                Ok(())
            }

            async fn list(
                &self,
                target: Option<&str>,
                before_id: Option<i64>,
                limit: i64,
            ) -> Result<Vec<AuditRow>> {
                let q = "select id, at, actor, action, target, before, after from audit_entry \
                         where ($1 is null or target = $1) and ($2 is null or id < $2) \
                         order by id desc limit $3";
                Ok(sqlx::query_as(q)
                    .bind(target)
                    .bind(before_id)
                    .bind(limit)
                    .fetch_all(self.read())
                    .await?)
            }
        }

        #[async_trait]
        impl SecretRepo for $store {
            async fn shared_secret(&self, name: &str, candidate: &str, now: i64) -> Result<String> {
                let insert = "insert into admin_secret (name, value, created_at) \
                              values ($1, $2, $3) on conflict (name) do nothing";
                let select = "select value from admin_secret where name = $1";
                let mut tx = self.begin().await?;
                sqlx::query(insert)
                    .bind(name)
                    .bind(candidate)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let value = sqlx::query_scalar(select)
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(value)
            }
        }
    };
}

booking::for_each_backend!(impl_admin_repos);
