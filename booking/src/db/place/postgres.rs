//! Placing a hold on PostgreSQL. Same steps and guarantees as on SQLite,
//! with fewer round trips: data-modifying CTEs fold "consume the admission,
//! then create the hold" and "take the seat, then record it on the hold"
//! into one statement each (5 round trips for a one-seat hold, with the
//! event check, instead of 7). Seats
//! are still taken one statement at a time in ascending id order, so two
//! overlapping holds lock in the same order and never deadlock. Concurrent
//! holds share transactions (`batch`).

use super::super::postgres::PgStore;
use crate::db::{NewHold, PlaceOutcome};
use crate::error::Result;
use sqlx::{PgPool, Postgres, Transaction};

impl PgStore {
    /// See the module documentation.
    pub(in crate::db) async fn place_hold_tx(&self, h: &NewHold) -> Result<PlaceOutcome> {
        self.hold_batcher().place(h).await
    }

    /// One hold in a transaction of its own.
    pub(in crate::db) async fn place_alone(pool: &PgPool, h: &NewHold) -> Result<PlaceOutcome> {
        let mut tx = pool.begin().await?;
        let outcome = Self::place_steps(&mut tx, h).await?;
        if outcome == PlaceOutcome::Placed {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }

    /// The statements of one hold inside `tx`; on any outcome but
    /// `Placed` the caller must roll back what they did.
    pub(in crate::db) async fn place_steps(
        tx: &mut Transaction<'static, Postgres>,
        h: &NewHold,
    ) -> Result<PlaceOutcome> {
        if !Self::event_open(tx, &h.event_id).await? {
            return Ok(PlaceOutcome::EventClosed);
        }
        Self::place_in_open_event(tx, h).await
    }

    /// Whether the event is on sale, keeping it so until `tx` ends: a share
    /// lock on the event row makes cancelling the sale (an update of that
    /// row) wait for this transaction to commit, then find its holds and
    /// release them; a hold that starts after the cancel sees it here.
    pub(in crate::db) async fn event_open(
        tx: &mut Transaction<'static, Postgres>,
        event_id: &str,
    ) -> Result<bool> {
        let status: Option<String> =
            sqlx::query_scalar("select status from event where id = $1 for share")
                .bind(event_id)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(status.as_deref() == Some("published"))
    }

    /// [`Self::place_steps`] once [`Self::event_open`] said yes in `tx`.
    pub(in crate::db) async fn place_in_open_event(
        tx: &mut Transaction<'static, Postgres>,
        h: &NewHold,
    ) -> Result<PlaceOutcome> {
        // No row from `c` (the jti was consumed before) inserts no hold.
        let created = sqlx::query(
            "with c as (
                insert into consumed_admission (jti, event_id, visitor_id, hold_id, consumed_at)
                values ($1, $2, $3, $4, $5) on conflict (jti) do nothing
                returning jti)
            insert into hold (id, event_id, visitor_id, session_hash, jti, status,
                total, currency, expires_at, created_at)
            select $4, $2, $3, $6, c.jti, 'active', $7, $8, $9, $5 from c",
        )
        .bind(&h.jti)
        .bind(&h.event_id)
        .bind(&h.visitor_id)
        .bind(&h.id)
        .bind(h.now)
        .bind(&h.session_hash)
        .bind(h.total)
        .bind(&h.currency)
        .bind(h.expires_at)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if created == 0 {
            return Ok(PlaceOutcome::TokenUsed);
        }
        let mut taken = Vec::new();
        for seat in &h.seats {
            // The insert sees the update's row only if the seat was free.
            let n = sqlx::query(
                "with s as (
                    update seat set status = 'held', hold_id = $1
                    where id = $2 and event_id = $3 and status = 'available'
                    returning id)
                insert into hold_seat (hold_id, seat_id, price) select $1, s.id, $4 from s",
            )
            .bind(&h.id)
            .bind(seat.seat_id)
            .bind(&h.event_id)
            .bind(seat.price)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if n == 0 {
                taken.push(seat.seat_id);
            }
        }
        if !taken.is_empty() {
            return Ok(PlaceOutcome::SeatsTaken(taken));
        }
        if let Some(ga) = &h.ga {
            if !Self::hold_ga_in_tx(tx, h, ga).await? {
                return Ok(PlaceOutcome::SoldOut);
            }
        }
        Ok(PlaceOutcome::Placed)
    }
}
