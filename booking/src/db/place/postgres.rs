//! Placing holds on PostgreSQL: same steps and guarantees as on SQLite,
//! done by the database function `place_holds`
//! (`migrations/postgres/20261203090000_hold_batches.sql`, replaced by
//! `20261204090000_hold_batch_fast_path.sql`), which places a whole batch
//! of holds in one statement: one round trip and one commit for the batch.
//! It first tries every hold at once; if one of them cannot be placed, it
//! places each hold in a subtransaction of its own, so each is placed whole
//! or not at all. Concurrent holds are gathered into batches by `batch`,
//! which calls it through `place_holds_then_left`
//! (`20261205090000_hold_batch_left.sql`): the batch, its commit, then what
//! is left of its events.

use super::super::postgres::PgStore;
use crate::db::{Left, NewHold, PlaceOutcome};
use crate::error::{BookingError, Result};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};

/// Where a hold's first lock falls in the order every batch locks in:
/// GA pools (ascending), then seats (ascending). A hold has one or the
/// other.
pub(in crate::db) fn lock_key(h: &NewHold) -> (u8, i64) {
    match (h.seats.first(), &h.ga) {
        (Some(seat), _) => (1, seat.seat_id),
        (None, Some(ga)) => (0, ga.pool_id),
        (None, None) => (0, 0),
    }
}

/// Whether placing `holds` one after the other, each seat in the order
/// given, locks pools and seats in ascending order. When it does not,
/// `place_holds` locks them all in that order before placing any hold.
fn locks_in_order(holds: &[&NewHold]) -> bool {
    let keys = holds.iter().flat_map(|h| {
        let ga = h.ga.iter().map(|g| (0_u8, g.pool_id));
        ga.chain(h.seats.iter().map(|s| (1_u8, s.seat_id)))
    });
    let mut last = (0_u8, i64::MIN);
    for key in keys {
        if key < last {
            return false;
        }
        last = key;
    }
    true
}

/// The arguments of `place_holds`: one element per hold, seats flattened.
#[derive(Default)]
struct Columns {
    id: Vec<String>,
    event: Vec<String>,
    visitor: Vec<String>,
    session: Vec<String>,
    jti: Vec<String>,
    total: Vec<i64>,
    currency: Vec<String>,
    now: Vec<DateTime<Utc>>,
    expires: Vec<DateTime<Utc>>,
    ga_pool: Vec<Option<i64>>,
    ga_quantity: Vec<Option<i64>>,
    ga_price: Vec<Option<i64>>,
    seat_count: Vec<i32>,
    seat_id: Vec<i64>,
    seat_price: Vec<i64>,
    /// Whether the function must sort the seat locks itself.
    reorder: bool,
}

impl Columns {
    fn of(holds: &[&NewHold]) -> Result<Self> {
        let mut c = Self::default();
        for h in holds {
            c.id.push(h.id.clone());
            c.event.push(h.event_id.clone());
            c.visitor.push(h.visitor_id.clone());
            c.session.push(h.session_hash.clone());
            c.jti.push(h.jti.clone());
            c.total.push(h.total);
            c.currency.push(h.currency.clone());
            c.now.push(h.now);
            c.expires.push(h.expires_at);
            c.ga_pool.push(h.ga.map(|g| g.pool_id));
            c.ga_quantity.push(h.ga.map(|g| g.quantity));
            c.ga_price.push(h.ga.map(|g| g.price));
            let count = i32::try_from(h.seats.len())
                .map_err(|_| BookingError::internal("a hold with too many seats"))?;
            c.seat_count.push(count);
            c.seat_id.extend(h.seats.iter().map(|s| s.seat_id));
            c.seat_price.extend(h.seats.iter().map(|s| s.price));
        }
        c.reorder = !locks_in_order(holds);
        Ok(c)
    }

    /// Binds the batch as `place_holds`' sixteen parameters, in its order
    /// (`place_holds_then_left` takes the same first).
    fn bind<'q, O>(self, q: BatchQuery<'q, O>) -> BatchQuery<'q, O> {
        q.bind(self.id)
            .bind(self.event)
            .bind(self.visitor)
            .bind(self.session)
            .bind(self.jti)
            .bind(self.total)
            .bind(self.currency)
            .bind(self.now)
            .bind(self.expires)
            .bind(self.ga_pool)
            .bind(self.ga_quantity)
            .bind(self.ga_price)
            .bind(self.seat_count)
            .bind(self.seat_id)
            .bind(self.seat_price)
            .bind(self.reorder)
    }
}

type BatchQuery<'q, O> = sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>;

impl PgStore {
    /// See the module documentation.
    pub(in crate::db) async fn place_hold_tx(&self, h: &NewHold) -> Result<PlaceOutcome> {
        Ok(self.hold_batcher().place(h).await?.0)
    }

    /// See the module documentation; the batch's call also looks, after
    /// its commit, at what is left of the hold's event.
    pub(in crate::db) async fn place_hold_then_left_tx(
        &self,
        h: &NewHold,
    ) -> Result<(PlaceOutcome, Option<Left>)> {
        self.hold_batcher().place(h).await
    }

    /// Places `holds` like [`Self::place_batch`], commits, then looks at
    /// what is left of each event of `look` (event, free seat to look
    /// from), in one call of `place_holds_then_left`. The looks are `None`
    /// when that query failed; the holds stand. An error means nothing was
    /// placed, unless the connection failed after the commit (as with
    /// [`Self::place_batch`]).
    pub(in crate::db) async fn place_batch_then_left(
        conn: &mut PgConnection,
        holds: &[&NewHold],
        look: &[(String, i64)],
    ) -> Result<(Vec<PlaceOutcome>, Option<Vec<Option<Left>>>)> {
        let c = Columns::of(holds)?;
        type Answer = (
            Vec<i16>,
            Vec<i32>,
            Vec<i64>,
            Option<Vec<Option<i64>>>,
            Option<Vec<Option<bool>>>,
        );
        let (outcomes, counts, taken, seats, places): Answer = c
            .bind(sqlx::query_as(
                "call place_holds_then_left(
                $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                $17, $18, null, null, null, null, null)",
            ))
            .bind(look.iter().map(|l| l.0.clone()).collect::<Vec<_>>())
            .bind(look.iter().map(|l| l.1).collect::<Vec<_>>())
            .fetch_one(conn)
            .await?;
        if outcomes.len() != holds.len() || counts.len() != holds.len() {
            return Err(BookingError::internal(
                "place_holds_then_left answered a different number of holds",
            ));
        }
        let mut rest = taken.as_slice();
        let mut placed = Vec::with_capacity(holds.len());
        for (outcome, count) in outcomes.into_iter().zip(counts) {
            let n = usize::try_from(count).unwrap_or(usize::MAX).min(rest.len());
            let (mine, others) = rest.split_at(n);
            rest = others;
            placed.push(outcome_of(outcome, mine.to_vec())?);
        }
        let left = match (seats, places) {
            (Some(seats), Some(places))
                if seats.len() == look.len() && places.len() == look.len() =>
            {
                Some(
                    seats
                        .into_iter()
                        .zip(places)
                        .map(|(seat, places)| places.map(|places| Left { seat, places }))
                        .collect(),
                )
            }
            _ => None,
        };
        Ok((placed, left))
    }

    /// Places `holds` in one statement, its own transaction: one outcome
    /// per hold, in order. An error means nothing was placed.
    pub(in crate::db) async fn place_batch<'c>(
        conn: impl PgExecutor<'c>,
        holds: &[&NewHold],
    ) -> Result<Vec<PlaceOutcome>> {
        let c = Columns::of(holds)?;
        let rows: Vec<(i32, i16, Vec<i64>)> = c
            .bind(sqlx::query_as(
                "select hold_index, outcome, taken from place_holds(
                $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            ))
            .fetch_all(conn)
            .await?;
        let in_order = rows.len() == holds.len()
            && rows
                .iter()
                .enumerate()
                .all(|(i, r)| usize::try_from(r.0).is_ok_and(|n| n == i + 1));
        if !in_order {
            return Err(BookingError::internal(
                "place_holds answered a different number of holds",
            ));
        }
        rows.into_iter()
            .map(|(_, outcome, taken)| outcome_of(outcome, taken))
            .collect()
    }

    /// One hold in a statement of its own.
    pub(in crate::db) async fn place_alone(pool: &PgPool, h: &NewHold) -> Result<PlaceOutcome> {
        Self::place_batch(pool, &[h])
            .await?
            .pop()
            .ok_or_else(|| BookingError::internal("place_holds answered no hold"))
    }
}

/// A hold's outcome as `place_holds` codes it.
fn outcome_of(code: i16, taken: Vec<i64>) -> Result<PlaceOutcome> {
    match code {
        0 => Ok(PlaceOutcome::Placed),
        1 => Ok(PlaceOutcome::TokenUsed),
        2 => Ok(PlaceOutcome::SeatsTaken(taken)),
        3 => Ok(PlaceOutcome::SoldOut),
        4 => Ok(PlaceOutcome::EventClosed),
        other => Err(BookingError::internal(format!(
            "place_holds answered outcome {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{HoldGaReq, HoldSeatReq};

    fn hold(seats: &[i64], pool: Option<i64>) -> NewHold {
        let now = Utc::now();
        NewHold {
            id: "hold_x".into(),
            event_id: "demo".into(),
            visitor_id: "v".into(),
            session_hash: "s".into(),
            jti: "j".into(),
            seats: seats
                .iter()
                .map(|&seat_id| HoldSeatReq { seat_id, price: 1 })
                .collect(),
            ga: pool.map(|pool_id| HoldGaReq {
                pool_id,
                quantity: 1,
                price: 1,
            }),
            total: 1,
            currency: "usd".into(),
            now,
            expires_at: now,
        }
    }

    #[test]
    fn lock_order_is_pools_then_seats_ascending() {
        let (a, b, c) = (hold(&[1, 5], None), hold(&[5], None), hold(&[7, 9], None));
        assert!(locks_in_order(&[&a, &b, &c]), "a shared seat may repeat");
        let d = hold(&[3], None);
        assert!(!locks_in_order(&[&a, &d]), "seat 3 after seat 5");
        let (p2, p1) = (hold(&[], Some(2)), hold(&[], Some(1)));
        assert!(locks_in_order(&[&p1, &p2, &a]));
        assert!(!locks_in_order(&[&p2, &p1]));
        assert!(!locks_in_order(&[&a, &p1]), "a pool after a seat");
        let mut holds = [&c, &a, &p2, &d, &p1];
        holds.sort_by_key(|h| lock_key(h));
        let ids: Vec<(u8, i64)> = holds.iter().map(|h| lock_key(h)).collect();
        assert_eq!(ids, vec![(0, 1), (0, 2), (1, 1), (1, 3), (1, 7)]);
    }
}
