//! The `sale_minute` table, and the sales counts the minutes carry, on
//! either backend (the SQL is the same text on both, written once for each
//! backend store as booking writes its own; see `store`).

use super::fold::Minute;
use crate::error::Result;
use async_trait::async_trait;
use serde::Serialize;
use sqlx::FromRow;
use std::collections::BTreeMap;

/// Cumulative counts of an event, read when a minute is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, FromRow)]
pub struct Totals {
    /// Requests refused by the edge's rate limits.
    pub rate_limited: i64,
    /// Joins refused for a missing or wrong CAPTCHA.
    pub captcha_failed: i64,
    /// Fans who joined again after their place departed.
    pub returned: i64,
    /// Holds placed.
    pub holds: i64,
    /// Visitors who placed a hold.
    pub holders: i64,
    /// Orders created.
    pub orders: i64,
    /// Visitors whose order was paid.
    pub buyers: i64,
    /// Minor units kept (confirmed orders).
    pub revenue: i64,
}

/// One stored minute.
#[derive(Debug, Clone, Default, FromRow)]
pub struct MinuteRow {
    /// Start of the minute (ms).
    pub minute: i64,
    /// Tickets issued.
    pub joins: i64,
    /// Admissions.
    pub admitted: i64,
    /// Departures.
    pub departed: i64,
    /// Waiters at the minute's end.
    pub waiting: i64,
    /// Active sessions at the minute's end.
    pub active: i64,
    /// JSON `{"<seconds>": count}`.
    pub waits: String,
    /// Admissions counted in `waits`.
    pub waits_known: i64,
    /// Cumulative counts.
    #[sqlx(flatten)]
    pub totals: Totals,
}

/// Adds a batch's figures to a minute; gauges take the batch's values
/// (batches are written in tick order) and cumulative counts the larger.
const ADD: &str = "insert into sale_minute (event_id, minute, ticks, joins, admitted, \
    departed, waiting, active, waits, waits_known, rate_limited_total, captcha_failed_total, \
    returned_total, holds_total, holders_total, orders_total, buyers_total, revenue_total) \
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
    on conflict (event_id, minute) do update set \
    ticks = sale_minute.ticks + excluded.ticks, joins = sale_minute.joins + excluded.joins, \
    admitted = sale_minute.admitted + excluded.admitted, \
    departed = sale_minute.departed + excluded.departed, \
    waiting = excluded.waiting, active = excluded.active, waits = excluded.waits, \
    waits_known = sale_minute.waits_known + excluded.waits_known";

/// The cumulative columns, each keeping the larger of the stored and the
/// new value (spelt with `case`: PostgreSQL's `greatest` is SQLite's `max`).
fn add_sql() -> String {
    let mut sql = ADD.to_owned();
    for col in [
        "rate_limited_total",
        "captcha_failed_total",
        "returned_total",
        "holds_total",
        "holders_total",
        "orders_total",
        "buyers_total",
        "revenue_total",
    ] {
        sql.push_str(&format!(
            ", {col} = case when excluded.{col} > sale_minute.{col} \
             then excluded.{col} else sale_minute.{col} end"
        ));
    }
    sql
}

/// The last tick added for an event, and the highest ticket by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Watermark {
    /// Tick `seq`.
    pub seq: i64,
    /// Ticket.
    pub last_ticket: i64,
    /// When the tick ran (ms).
    pub at: i64,
}

/// The sales counts of `event` from the booking tables (same database).
const SALES_TOTALS: &str = "select \
    (select count(*) from hold where event_id = $1) as holds, \
    (select count(distinct visitor_id) from hold where event_id = $1) as holders, \
    (select count(*) from \"order\" where event_id = $1) as orders, \
    (select count(distinct h.visitor_id) from \"order\" o join hold h on h.id = o.hold_id \
       where o.event_id = $1 and o.confirmed_at is not null) as buyers";

const COLUMNS: &str = "select minute, joins, admitted, departed, waiting, active, waits, \
    waits_known, rate_limited_total as rate_limited, captcha_failed_total as captcha_failed, \
    returned_total as returned, holds_total as holds, holders_total as holders, \
    orders_total as orders, buyers_total as buyers, revenue_total as revenue from sale_minute";

/// Repository of stored minutes (`AdminDb::sale_minutes`).
#[async_trait]
pub trait SaleMinuteRepo: Send + Sync {
    /// The event's watermark, if any tick was added.
    async fn watermark(&self, event: &str) -> Result<Option<Watermark>>;
    /// Adds `minutes` (a batch of ticks after `seen`, ending at `next`),
    /// with `totals` on the newest minute, if the watermark is still
    /// `seen`; `false` (nothing written) when another process moved it.
    async fn add(
        &self,
        event: &str,
        seen: Option<Watermark>,
        next: Watermark,
        minutes: &[Minute],
        totals: &Totals,
    ) -> Result<bool>;
    /// Minutes of `event` in `[from, to]` (ms), oldest first, with the last
    /// minute before `from` (the base of the cumulative counts) if any.
    async fn range(
        &self,
        event: &str,
        from: i64,
        to: i64,
    ) -> Result<(Option<MinuteRow>, Vec<MinuteRow>)>;
    /// First and last stored minute of `event`.
    async fn span(&self, event: &str) -> Result<Option<(i64, i64)>>;
    /// Holds, holders, orders and buyers of `event` so far (the other
    /// fields are left at zero).
    async fn sales_totals(&self, event: &str) -> Result<Totals>;
}

macro_rules! impl_sale_minutes {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl SaleMinuteRepo for $store {
            async fn watermark(&self, event: &str) -> Result<Option<Watermark>> {
                let q = "select seq, last_ticket, at from sale_watermark where event_id = $1";
                Ok(sqlx::query_as(q).bind(event).fetch_optional(self.read()).await?)
            }

            async fn add(
                &self,
                event: &str,
                seen: Option<Watermark>,
                next: Watermark,
                minutes: &[Minute],
                totals: &Totals,
            ) -> Result<bool> {
                let cas = match seen {
                    Some(_) => {
                        "update sale_watermark set seq = $2, last_ticket = $3, at = $4 \
                         where event_id = $1 and seq = $5 and at = $6"
                    }
                    None => {
                        "insert into sale_watermark (event_id, seq, last_ticket, at) \
                         values ($1, $2, $3, $4) on conflict (event_id) do nothing"
                    }
                };
                let stored = "select waits from sale_minute where event_id = $1 and minute = $2";
                let sql = add_sql();
                let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                let none = Totals::default();
                // The compare-and-set comes first: on SQLite it takes the write
                // lock, on PostgreSQL the row lock a concurrent writer waits on.
                let mut tx = self.begin().await?;
                let mut cas = sqlx::query(cas).bind(event).bind(next.seq).bind(next.last_ticket)
                    .bind(next.at);
                if let Some(old) = seen {
                    cas = cas.bind(old.seq).bind(old.at);
                }
                let moved = cas.execute(&mut *tx).await?.rows_affected();
                if moved != 1 {
                    return Ok(false);
                }
                for (i, m) in minutes.iter().enumerate() {
                    let before: Option<String> = sqlx::query_scalar(stored)
                        .bind(event).bind(n(m.start)).fetch_optional(&mut *tx).await?;
                    let waits = merged(before.as_deref(), &m.waits);
                    let t = if i + 1 == minutes.len() { totals } else { &none };
                    sqlx::query(&sql)
                        .bind(event).bind(n(m.start)).bind(n(m.ticks)).bind(n(m.joins))
                        .bind(n(m.admitted)).bind(n(m.departed)).bind(n(m.waiting))
                        .bind(n(m.active)).bind(&waits).bind(n(m.waits_known))
                        .bind(t.rate_limited).bind(t.captcha_failed).bind(t.returned)
                        .bind(t.holds).bind(t.holders).bind(t.orders)
                        .bind(t.buyers).bind(t.revenue)
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn range(
                &self,
                event: &str,
                from: i64,
                to: i64,
            ) -> Result<(Option<MinuteRow>, Vec<MinuteRow>)> {
                let rows = format!(
                    "{COLUMNS} where event_id = $1 and minute >= $2 and minute <= $3 order by minute"
                );
                let base = format!(
                    "{COLUMNS} where event_id = $1 and minute < $2 order by minute desc limit 1"
                );
                let p = self.read();
                Ok((
                    sqlx::query_as(&base).bind(event).bind(from).fetch_optional(p).await?,
                    sqlx::query_as(&rows).bind(event).bind(from).bind(to).fetch_all(p).await?,
                ))
            }

            async fn span(&self, event: &str) -> Result<Option<(i64, i64)>> {
                let q = "select min(minute), max(minute) from sale_minute where event_id = $1";
                let (a, b): (Option<i64>, Option<i64>) =
                    sqlx::query_as(q).bind(event).fetch_one(self.read()).await?;
                Ok(a.zip(b))
            }

            async fn sales_totals(&self, event: &str) -> Result<Totals> {
                let (holds, holders, orders, buyers): (i64, i64, i64, i64) =
                    sqlx::query_as(SALES_TOTALS).bind(event).fetch_one(self.read()).await?;
                Ok(Totals {
                    holds,
                    holders,
                    orders,
                    buyers,
                    ..Totals::default()
                })
            }
        }
    };
}

booking::for_each_backend!(impl_sale_minutes);

/// A stored histogram plus a batch's, as stored (`{"<seconds>": count}`).
fn merged(stored: Option<&str>, add: &BTreeMap<u64, u64>) -> String {
    let mut h: BTreeMap<u64, u64> = stored.map(super::report::histogram).unwrap_or_default();
    for (&k, &v) in add {
        *h.entry(k).or_default() += v;
    }
    let text: BTreeMap<String, u64> = h.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    serde_json::to_string(&text).unwrap_or_else(|_| "{}".to_owned())
}
