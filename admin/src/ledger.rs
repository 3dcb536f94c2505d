//! The queue's ledger in the records database: settings (versioned) and
//! the per-tick checkpoint the engine restores a lost queue store from
//! (`queue::ledger`). The SQL is the same on PostgreSQL and SQLite.

use crate::store::AdminDb;
use async_trait::async_trait;
use queue::ledger::{Checkpoint, QueueLedger};
use queue::{EventId, QueueError, QueueSettings};
use sqlx::FromRow;

type QResult<T> = queue::error::Result<T>;

/// A database failure is the ledger being unavailable: callers retry.
fn unavailable(e: sqlx::Error) -> QueueError {
    QueueError::Unavailable(format!("database: {e}"))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[derive(FromRow)]
struct CheckpointRow {
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

#[async_trait]
impl QueueLedger for AdminDb {
    async fn save_settings(&self, event: &EventId, settings: &QueueSettings) -> QResult<()> {
        let q = "insert into queue_settings (event_id, version, settings, updated_at) \
                 values ($1, $2, $3, $4) on conflict (event_id) do update set \
                 version = excluded.version, settings = excluded.settings, \
                 updated_at = excluded.updated_at \
                 where queue_settings.version < excluded.version";
        let json = serde_json::to_string(settings)
            .map_err(|e| QueueError::Corrupt(format!("settings: {e}")))?;
        let version = to_i64(settings.policy.version);
        let now = crate::now_ms() as i64;
        crate::store::on_pool!(self, p => sqlx::query(q)
            .bind(event.as_str()).bind(version).bind(&json).bind(now)
            .execute(p).await.map(drop).map_err(unavailable))
    }

    async fn load_settings(&self, event: &EventId) -> QResult<Option<QueueSettings>> {
        let q = "select settings from queue_settings where event_id = $1";
        let json: Option<String> = crate::store::on_pool!(self, p => sqlx::query_scalar(q)
            .bind(event.as_str()).fetch_optional(p).await.map_err(unavailable)?);
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|e| QueueError::Corrupt(format!("stored settings: {e}")))
        })
        .transpose()
    }

    async fn events(&self) -> QResult<Vec<EventId>> {
        let q = "select event_id from queue_settings order by event_id";
        let ids: Vec<String> = crate::store::on_pool!(self, p => sqlx::query_scalar(q)
            .fetch_all(p).await.map_err(unavailable)?);
        ids.iter().map(|id| event_id(id)).collect()
    }

    async fn forget(&self, event: &EventId) -> QResult<()> {
        for q in [
            "delete from queue_settings where event_id = $1",
            "delete from queue_checkpoint where event_id = $1",
        ] {
            crate::store::on_pool!(self, p => sqlx::query(q)
                .bind(event.as_str()).execute(p).await.map(drop).map_err(unavailable)?);
        }
        Ok(())
    }

    async fn checkpoint(&self, event: &EventId, c: &Checkpoint) -> QResult<()> {
        crate::store::on_pool!(self, p => sqlx::query(RAISE_CHECKPOINT)
            .bind(event.as_str()).bind(&c.epoch).bind(to_i64(c.last_ticket))
            .bind(to_i64(c.head)).bind(i64::from(c.active)).bind(to_i64(c.active_until))
            .bind(to_i64(c.ticket_margin)).bind(to_i64(c.at))
            .execute(p).await.map(drop).map_err(unavailable))
    }

    async fn load_checkpoint(&self, event: &EventId) -> QResult<Option<Checkpoint>> {
        let q = "select epoch, last_ticket, head, active, active_until, ticket_margin, at \
                 from queue_checkpoint where event_id = $1";
        let row: Option<CheckpointRow> = crate::store::on_pool!(self, p => sqlx::query_as(q)
            .bind(event.as_str()).fetch_optional(p).await.map_err(unavailable)?);
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
