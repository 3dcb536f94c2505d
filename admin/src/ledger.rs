//! The queue's ledger in the records database: settings (versioned) and
//! the per-tick checkpoint the engine restores a lost queue store from
//! (`queue::ledger`). The SQL is the same on PostgreSQL and SQLite, written
//! once as [`LedgerRows`] for each backend store (see `store`).

use crate::error::{AdminError, Result};
use crate::store::AdminDb;
use async_trait::async_trait;
use queue::ledger::{Checkpoint, QueueLedger};
use queue::{EventId, QueueError, QueueSettings};
use sqlx::FromRow;

type QResult<T> = queue::error::Result<T>;

/// A database failure is the ledger being unavailable: callers retry.
fn unavailable(e: AdminError) -> QueueError {
    QueueError::Unavailable(format!("database: {e}"))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[derive(FromRow)]
pub(crate) struct CheckpointRow {
    epoch: String,
    last_ticket: i64,
    head: i64,
    active: i64,
    active_until: i64,
    ticket_margin: i64,
    at: i64,
}

fn event_id(raw: &str) -> QResult<EventId> {
    EventId::parse(raw)
        .map_err(|_| QueueError::Corrupt(format!("event id {raw:?} in queue_settings")))
}

/// Rising columns keep the larger value (written so both databases run it).
const RAISE_CHECKPOINT: &str = "insert into queue_checkpoint \
    (event_id, epoch, last_ticket, head, active, active_until, ticket_margin, at) \
    values ($1, $2, $3, $4, $5, $6, $7, $8) \
    on conflict (event_id) do update set epoch = excluded.epoch, \
    last_ticket = case when excluded.last_ticket > queue_checkpoint.last_ticket \
        then excluded.last_ticket else queue_checkpoint.last_ticket end, \
    head = case when excluded.head > queue_checkpoint.head \
        then excluded.head else queue_checkpoint.head end, \
    ticket_margin = case when excluded.ticket_margin > queue_checkpoint.ticket_margin \
        then excluded.ticket_margin else queue_checkpoint.ticket_margin end, \
    active = excluded.active, active_until = excluded.active_until, at = excluded.at";

/// The ledger's rows, as stored.
#[async_trait]
pub(crate) trait LedgerRows: Send + Sync {
    /// Stores settings unless a newer version is stored.
    async fn save_settings(&self, event: &str, version: i64, json: &str, now: i64) -> Result<()>;
    async fn load_settings(&self, event: &str) -> Result<Option<String>>;
    async fn event_ids(&self) -> Result<Vec<String>>;
    async fn forget(&self, event: &str) -> Result<()>;
    async fn raise_checkpoint(&self, event: &str, c: &Checkpoint) -> Result<()>;
    async fn load_checkpoint(&self, event: &str) -> Result<Option<CheckpointRow>>;
}

macro_rules! impl_ledger_rows {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl LedgerRows for $store {
            async fn save_settings(
                &self,
                event: &str,
                version: i64,
                json: &str,
                now: i64,
            ) -> Result<()> {
                let q = "insert into queue_settings (event_id, version, settings, updated_at) \
                         values ($1, $2, $3, $4) on conflict (event_id) do update set \
                         version = excluded.version, settings = excluded.settings, \
                         updated_at = excluded.updated_at \
                         where queue_settings.version < excluded.version";
                let mut tx = self.begin().await?;
                sqlx::query(q)
                    .bind(event)
                    .bind(version)
                    .bind(json)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn load_settings(&self, event: &str) -> Result<Option<String>> {
                let q = "select settings from queue_settings where event_id = $1";
                Ok(sqlx::query_scalar(q)
                    .bind(event)
                    .fetch_optional(self.read())
                    .await?)
            }

            async fn event_ids(&self) -> Result<Vec<String>> {
                let q = "select event_id from queue_settings order by event_id";
                Ok(sqlx::query_scalar(q).fetch_all(self.read()).await?)
            }

            async fn forget(&self, event: &str) -> Result<()> {
                let mut tx = self.begin().await?;
                for q in [
                    "delete from queue_settings where event_id = $1",
                    "delete from queue_checkpoint where event_id = $1",
                ] {
                    sqlx::query(q).bind(event).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn raise_checkpoint(&self, event: &str, c: &Checkpoint) -> Result<()> {
                let mut tx = self.begin().await?;
                sqlx::query(RAISE_CHECKPOINT)
                    .bind(event)
                    .bind(&c.epoch)
                    .bind(to_i64(c.last_ticket))
                    .bind(to_i64(c.head))
                    .bind(i64::from(c.active))
                    .bind(to_i64(c.active_until))
                    .bind(to_i64(c.ticket_margin))
                    .bind(to_i64(c.at))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn load_checkpoint(&self, event: &str) -> Result<Option<CheckpointRow>> {
                let q = "select epoch, last_ticket, head, active, active_until, ticket_margin, \
                         at from queue_checkpoint where event_id = $1";
                Ok(sqlx::query_as(q)
                    .bind(event)
                    .fetch_optional(self.read())
                    .await?)
            }
        }
    };
}

booking::for_each_backend!(impl_ledger_rows);

#[async_trait]
impl QueueLedger for AdminDb {
    async fn save_settings(&self, event: &EventId, settings: &QueueSettings) -> QResult<()> {
        let json = serde_json::to_string(settings)
            .map_err(|e| QueueError::Corrupt(format!("settings: {e}")))?;
        let version = to_i64(settings.policy.version);
        let now = crate::now_ms() as i64;
        self.ledger_rows()
            .save_settings(event.as_str(), version, &json, now)
            .await
            .map_err(unavailable)
    }

    async fn load_settings(&self, event: &EventId) -> QResult<Option<QueueSettings>> {
        let json = self
            .ledger_rows()
            .load_settings(event.as_str())
            .await
            .map_err(unavailable)?;
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|e| QueueError::Corrupt(format!("stored settings: {e}")))
        })
        .transpose()
    }

    async fn events(&self) -> QResult<Vec<EventId>> {
        let ids = self.ledger_rows().event_ids().await.map_err(unavailable)?;
        ids.iter().map(|id| event_id(id)).collect()
    }

    async fn forget(&self, event: &EventId) -> QResult<()> {
        self.ledger_rows()
            .forget(event.as_str())
            .await
            .map_err(unavailable)
    }

    async fn checkpoint(&self, event: &EventId, c: &Checkpoint) -> QResult<()> {
        self.ledger_rows()
            .raise_checkpoint(event.as_str(), c)
            .await
            .map_err(unavailable)
    }

    async fn load_checkpoint(&self, event: &EventId) -> QResult<Option<Checkpoint>> {
        let row = self
            .ledger_rows()
            .load_checkpoint(event.as_str())
            .await
            .map_err(unavailable)?;
        Ok(row.map(|r| Checkpoint {
            epoch: r.epoch,
            last_ticket: to_u64(r.last_ticket),
            head: to_u64(r.head),
            active: u32::try_from(r.active).unwrap_or(u32::MAX),
            active_until: to_u64(r.active_until),
            ticket_margin: to_u64(r.ticket_margin),
            at: to_u64(r.at),
        }))
    }
}
