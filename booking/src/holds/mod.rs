//! Token-gated seat holds (docs/architecture.md §6).
//!
//! A hold needs a valid admission token for the event, presented by the
//! session it was issued to. The first hold consumes the token's `jti` in
//! the same database transaction that takes the seats; every seat is taken
//! by a conditional update or the whole hold is refused and nothing changes.

pub mod locks;
pub mod sweeper;

use crate::admission::Credentials;
use crate::catalog::{Catalog, SeatMapCache};
use crate::config::BookingConfig;
use crate::db::{Db, HoldGaReq, HoldSeatReq, HoldStatus, NewHold, PlaceOutcome, Released};
use crate::error::{BookingError, Result};
use crate::payment::mirror::Intents;
use crate::state::now;
use crate::waitlist::{Seen, SoldOutChecks};
use chrono::{DateTime, Utc};
use locks::SeatLocks;
use queue::admission::AdmissionVerifier;
use queue::api::ErrorCode;
use queue::QueueStore;
use queue::{EventId, VisitorId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Either `seats` or `quantity`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// Seat ids to hold.
    #[serde(default)]
    #[schema(schema_with = queue::api::schemas::fields::seat_ids_or_null)]
    pub seats: Option<Vec<i64>>,
    /// General-admission places.
    #[serde(default)]
    #[schema(schema_with = queue::api::schemas::fields::int64_or_null)]
    pub quantity: Option<i64>,
    /// Which GA pool; optional when the event has exactly one.
    #[serde(default)]
    #[schema(schema_with = queue::api::schemas::fields::int64_or_null)]
    pub pool: Option<i64>,
}

/// A held seat in responses.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeldSeat {
    /// Seat id.
    pub id: i64,
    /// Price (minor units).
    pub price: i64,
}

/// What a hold answers (201).
#[derive(Debug, Clone, Serialize)]
pub struct HoldView {
    /// Hold id, for checkout and release.
    pub hold_id: String,
    /// Event.
    pub event: String,
    /// active / released / expired / completed.
    pub status: String,
    /// When the seats go back on sale.
    pub expires_at: DateTime<Utc>,
    /// Held seats.
    pub seats: Vec<HeldSeat>,
    /// GA places held, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    /// Sum (minor units).
    pub total: i64,
    /// Currency.
    pub currency: String,
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// The holds service: places, shows and releases holds, and does what
/// follows every hold's end (see [`Holds::after_release`]).
#[derive(Clone)]
pub struct Holds {
    pub(crate) config: Arc<BookingConfig>,
    pub(crate) db: Db,
    /// Checks the admission token a hold presents.
    pub(crate) verifier: Arc<AdmissionVerifier>,
    /// The event, its sale window, prices and seat cap.
    pub(crate) catalog: Catalog,
    /// Redis seat locks, when Redis is configured.
    pub(crate) locks: Option<Arc<SeatLocks>>,
    pub(crate) seat_maps: Arc<SeatMapCache>,
    /// The waiting room, told when an admitted session ends.
    pub(crate) queue: Arc<dyn QueueStore>,
    /// Cancels the PaymentIntent of an order that ended with its hold.
    pub(crate) intents: Intents,
    /// Shares "is anything left?" queries among concurrent holds.
    pub(crate) sold_out_checks: Arc<SoldOutChecks>,
}

impl Holds {
    /// Places a hold for the admitted fan presenting `creds`.
    #[tracing::instrument(skip_all, fields(event = %event))]
    pub async fn place_hold(
        &self,
        event: &EventId,
        creds: &Credentials,
        req: &HoldRequest,
    ) -> Result<HoldView> {
        let result = self.try_place_hold(event, creds, req).await;
        crate::metrics::count("waitroom_holds_total", "placed", &result);
        result
    }

    async fn try_place_hold(
        &self,
        event: &EventId,
        creds: &Credentials,
        req: &HoldRequest,
    ) -> Result<HoldView> {
        let token = creds
            .bearer
            .as_deref()
            .ok_or(BookingError::AdmissionRequired)?;
        let queue_token = creds
            .queue_token(event.as_str())
            .ok_or(queue::admission::TokenError::WrongSession)?;
        let claims = self
            .verifier
            .verify_with_credential(token, event, queue_token)?;
        let ev = self.catalog.published_event(event.as_str()).await?;
        let at = now();
        if ev.sale_starts_at.is_some_and(|s| at < s) || ev.sale_ends_at.is_some_and(|e| at >= e) {
            return Err(BookingError::Conflict {
                code: ErrorCode::SaleClosed,
                message: "the sale for this event is not open".to_owned(),
            });
        }
        let max = self.catalog.seat_limit(&ev.id).await;
        let map = self.catalog.seat_prices(&ev).await?;
        let (seats, ga) = match (&req.seats, req.quantity) {
            (Some(seats), None) => {
                if seats.is_empty() {
                    return Err(BookingError::validation("seats", "must not be empty"));
                }
                if seats.len() > max as usize {
                    return Err(BookingError::TooManySeats { max });
                }
                let mut ids = seats.clone();
                ids.sort_unstable();
                ids.dedup();
                if ids.len() != seats.len() {
                    return Err(BookingError::validation("seats", "lists a seat twice"));
                }
                let unknown: Vec<i64> = ids
                    .iter()
                    .copied()
                    .filter(|id| !map.seat_price.contains_key(id))
                    .collect();
                if !unknown.is_empty() {
                    return Err(BookingError::validation(
                        "seats",
                        format!("unknown seat ids for this event: {unknown:?}"),
                    ));
                }
                let reqs: Vec<HoldSeatReq> = ids
                    .iter()
                    .map(|&seat_id| HoldSeatReq {
                        seat_id,
                        price: map.seat_price.get(&seat_id).copied().unwrap_or(0),
                    })
                    .collect();
                (reqs, None)
            }
            (None, Some(quantity)) => {
                if quantity <= 0 {
                    return Err(BookingError::validation("quantity", "must be at least 1"));
                }
                if quantity > i64::from(max) {
                    return Err(BookingError::TooManySeats { max });
                }
                let pool_id = match req.pool {
                    Some(p) => p,
                    None if map.pool_price.len() == 1 => {
                        map.pool_price.keys().copied().next().unwrap_or_default()
                    }
                    None => {
                        return Err(BookingError::validation(
                            "pool",
                            "this event has several (or no) general-admission pools; name one",
                        ))
                    }
                };
                let price = *map
                    .pool_price
                    .get(&pool_id)
                    .ok_or_else(|| BookingError::validation("pool", "unknown pool"))?;
                (
                    Vec::new(),
                    Some(HoldGaReq {
                        pool_id,
                        quantity,
                        price,
                    }),
                )
            }
            _ => {
                return Err(BookingError::validation(
                    "seats",
                    "give either `seats` or `quantity`",
                ))
            }
        };
        let total =
            seats.iter().map(|s| s.price).sum::<i64>() + ga.map_or(0, |g| g.price * g.quantity);
        let hold = NewHold {
            id: new_id("hold"),
            event_id: ev.id.clone(),
            visitor_id: claims.sub.to_string(),
            session_hash: claims.cnf.sst.clone(),
            jti: claims.jti.clone(),
            seats,
            ga,
            total,
            currency: ev.currency.clone(),
            now: at,
            expires_at: at + chrono::Duration::seconds(self.config.hold_ttl_seconds as i64),
        };
        let places = hold.seats.len() as u64 + hold.ga.map_or(0, |g| g.quantity.max(0) as u64);
        let visitor = hold.visitor_id.clone();
        let (placed, left) = self.place_checked(hold).await;
        match &placed {
            Ok(_) => self.waitlist_after_hold(&ev, &visitor, places, left).await,
            Err(BookingError::SeatsUnavailable { .. }) => {
                self.waitlist_after_refusal(&ev, left).await
            }
            Err(_) => {}
        }
        placed
    }

    /// Sheds contention with Redis locks (if any), then lets the database
    /// decide. With the outcome, what was left of the event after it, when
    /// the database said.
    async fn place_checked(&self, hold: NewHold) -> (Result<HoldView>, Option<Seen>) {
        let seat_ids: Vec<i64> = hold.seats.iter().map(|s| s.seat_id).collect();
        let guard = match &self.locks {
            Some(locks) if !seat_ids.is_empty() => {
                match locks.acquire(&hold.event_id, &seat_ids, &hold.id).await {
                    Ok(guard) => Some(guard),
                    Err(contended) => {
                        return (
                            Err(BookingError::SeatsUnavailable { seats: contended }),
                            None,
                        )
                    }
                }
            }
            _ => None,
        };
        let reports_before = self.sold_out_checks.reports_before(&hold.event_id);
        let outcome = self.db.holds().place_then_left(&hold).await;
        if let (Some(locks), Some(guard)) = (&self.locks, guard) {
            locks.release(guard, &hold.id).await;
        }
        let (outcome, left) = match outcome {
            Ok(placed) => placed,
            Err(e) => return (Err(e), None),
        };
        let left = left.map(|left| Seen {
            left,
            reports_before,
        });
        let placed = match outcome {
            PlaceOutcome::Placed => {
                self.seat_maps.invalidate(&hold.event_id);
                let view = HoldView {
                    hold_id: hold.id,
                    event: hold.event_id,
                    status: "active".to_owned(),
                    expires_at: hold.expires_at,
                    seats: hold
                        .seats
                        .iter()
                        .map(|s| HeldSeat {
                            id: s.seat_id,
                            price: s.price,
                        })
                        .collect(),
                    quantity: hold.ga.map(|g| g.quantity),
                    total: hold.total,
                    currency: hold.currency,
                };
                Ok(view)
            }
            PlaceOutcome::TokenUsed => Err(BookingError::TokenUsed),
            PlaceOutcome::SeatsTaken(seats) => Err(BookingError::SeatsUnavailable { seats }),
            PlaceOutcome::SoldOut => Err(BookingError::SeatsUnavailable { seats: Vec::new() }),
            PlaceOutcome::EventClosed => {
                self.seat_maps.invalidate(&hold.event_id);
                Err(BookingError::Conflict {
                    code: ErrorCode::SaleClosed,
                    message: "the sale for this event is not open".to_owned(),
                })
            }
        };
        (placed, left)
    }

    /// A hold, visible to its own session only.
    pub async fn hold_for_owner(&self, hold_id: &str, creds: &Credentials) -> Result<HoldView> {
        let detail = self
            .db
            .holds()
            .get(hold_id)
            .await?
            .ok_or(BookingError::NotFound("hold"))?;
        let h = &detail.hold;
        if !creds.is_session(&h.event_id, &h.session_hash) {
            return Err(BookingError::Forbidden(
                "this hold belongs to another session",
            ));
        }
        Ok(HoldView {
            hold_id: h.id.clone(),
            event: h.event_id.clone(),
            status: h.status.clone(),
            expires_at: h.expires_at,
            seats: detail
                .seats
                .iter()
                .map(|&(id, price)| HeldSeat { id, price })
                .collect(),
            quantity: detail.ga.first().map(|g| g.1),
            total: h.total,
            currency: h.currency.clone(),
        })
    }

    /// Releases a hold on its owner's request.
    pub async fn release_hold(&self, hold_id: &str, creds: &Credentials) -> Result<()> {
        self.hold_for_owner(hold_id, creds).await?;
        match self
            .db
            .holds()
            .release(hold_id, HoldStatus::Released, now())
            .await?
        {
            Some(released) => {
                self.after_release(&released).await;
                Ok(())
            }
            None => Err(BookingError::Conflict {
                code: ErrorCode::HoldNotActive,
                message: "the hold is no longer active".to_owned(),
            }),
        }
    }

    /// After a hold ended: the seat map changed, the PaymentIntent of an
    /// order that ended with it is cancelled at the provider, and the
    /// admitted session frees its slot in the waiting room. Failures are
    /// logged, not returned: the refund worker retries the cancellation and
    /// the session also expires on its own.
    pub async fn after_release(&self, released: &Released) {
        self.seat_maps.invalidate(&released.event_id);
        self.intents.cancel_intent_of_hold(&released.hold_id).await;
        self.waitlist_after_release(released).await;
        let (Ok(event), Ok(visitor)) = (
            EventId::parse(&released.event_id),
            VisitorId::parse(&released.visitor_id),
        ) else {
            tracing::warn!(hold = %released.hold_id, "hold has unparsable ids; queue not told");
            return;
        };
        if let Err(e) = self.queue.release(&event, &visitor).await {
            tracing::warn!(hold = %released.hold_id, error = %e, "queue release failed");
        }
    }
}
