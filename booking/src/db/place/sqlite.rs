//! Placing a hold on SQLite: one statement per step under the single
//! writer (SQLite has no data-modifying CTEs).

use super::super::sqlite::SqliteStore;
use crate::db::{HoldGaReq, Left, NewHold, PlaceOutcome};
use crate::error::Result;
use sqlx::{Sqlite, Transaction};

impl SqliteStore {
    /// Nothing is looked up after the hold here: the caller asks.
    pub(in crate::db) async fn place_hold_then_left_tx(
        &self,
        h: &NewHold,
    ) -> Result<(PlaceOutcome, Option<Left>)> {
        Ok((self.place_hold_tx(h).await?, None))
    }

    /// Consumes the admission, creates the hold, takes every seat in id
    /// order (or rolls everything back), then the GA places.
    pub(in crate::db) async fn place_hold_tx(&self, h: &NewHold) -> Result<PlaceOutcome> {
        let mut tx = self.begin().await?;
        // Under the single writer a cancel cannot interleave: the event is
        // either still on sale for the whole hold, or already cancelled.
        let status: Option<String> = sqlx::query_scalar("select status from event where id = $1")
            .bind(&h.event_id)
            .fetch_optional(&mut *tx)
            .await?;
        if status.as_deref() != Some("published") {
            tx.rollback().await?;
            return Ok(PlaceOutcome::EventClosed);
        }
        // The admission is consumed by the same transaction that takes the
        // seats: both happen, or neither does.
        let consumed = sqlx::query(
            "insert into consumed_admission (jti, event_id, visitor_id, hold_id, consumed_at)
            values ($1, $2, $3, $4, $5) on conflict (jti) do nothing",
        )
        .bind(&h.jti)
        .bind(&h.event_id)
        .bind(&h.visitor_id)
        .bind(&h.id)
        .bind(h.now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if consumed == 0 {
            tx.rollback().await?;
            return Ok(PlaceOutcome::TokenUsed);
        }
        sqlx::query(
            "insert into hold (id, event_id, visitor_id, session_hash, jti, status,
                total, currency, expires_at, created_at)
            values ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9)",
        )
        .bind(&h.id)
        .bind(&h.event_id)
        .bind(&h.visitor_id)
        .bind(&h.session_hash)
        .bind(&h.jti)
        .bind(h.total)
        .bind(&h.currency)
        .bind(h.expires_at)
        .bind(h.now)
        .execute(&mut *tx)
        .await?;
        let mut taken = Vec::new();
        for seat in &h.seats {
            let n = sqlx::query(
                "update seat set status = 'held', hold_id = $1
                where id = $2 and event_id = $3 and status = 'available'",
            )
            .bind(&h.id)
            .bind(seat.seat_id)
            .bind(&h.event_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                taken.push(seat.seat_id);
            }
        }
        if !taken.is_empty() {
            tx.rollback().await?;
            return Ok(PlaceOutcome::SeatsTaken(taken));
        }
        for seat in &h.seats {
            sqlx::query("insert into hold_seat (hold_id, seat_id, price) values ($1, $2, $3)")
                .bind(&h.id)
                .bind(seat.seat_id)
                .bind(seat.price)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(ga) = &h.ga {
            if !Self::hold_ga_in_tx(&mut tx, h, ga).await? {
                tx.rollback().await?;
                return Ok(PlaceOutcome::SoldOut);
            }
        }
        tx.commit().await?;
        Ok(PlaceOutcome::Placed)
    }

    /// Takes the GA places of a hold inside `tx`; `false` when the pool
    /// has too few left.
    async fn hold_ga_in_tx(
        tx: &mut Transaction<'static, Sqlite>,
        h: &NewHold,
        ga: &HoldGaReq,
    ) -> Result<bool> {
        let n = sqlx::query(
            "update ga_pool set held = held + $1
            where id = $2 and event_id = $3 and held + sold + $1 <= capacity",
        )
        .bind(ga.quantity)
        .bind(ga.pool_id)
        .bind(&h.event_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query(
            "insert into hold_ga (hold_id, ga_pool_id, quantity, price)
            values ($1, $2, $3, $4)",
        )
        .bind(&h.id)
        .bind(ga.pool_id)
        .bind(ga.quantity)
        .bind(ga.price)
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }
}
