//! The public catalog: events and seat maps.
//!
//! Seat maps are the hottest read during a sale (every admitted fan polls
//! one), so each event's map is cached in process for [`SEAT_MAP_TTL`]
//! (about a second) and dropped as soon as this node changes a seat of
//! that event (hold, release, sale). Event records (status, sale window)
//! are cached the same way. Another node's changes show up when
//! the entry expires, so a map is at most ~1 s stale; that only affects
//! what is drawn: holds are always decided by the database.

pub mod search;

use crate::config::BookingConfig;
use crate::db::{Db, EventListing, EventQuery, EventRecord, SeatMapData};
use crate::error::{BookingError, Result};
use queue::QueueStore;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a cached seat map is served.
pub const SEAT_MAP_TTL: Duration = Duration::from_secs(1);

/// A seat map as served, plus the prices the hold path needs.
#[derive(Debug)]
pub struct SeatMap {
    /// The JSON body of `GET /events/{event}/seats`.
    pub json: Value,
    /// Its prices.
    pub prices: Arc<SeatPrices>,
}

/// What the hold path needs of a seat map.
#[derive(Debug, Default)]
pub struct SeatPrices {
    /// Seat id → price (minor units).
    pub seat_price: HashMap<i64, i64>,
    /// GA pool id → unit price.
    pub pool_price: HashMap<i64, i64>,
}

/// Per-event seat-map cache.
#[derive(Default)]
pub struct SeatMapCache {
    entries: Mutex<HashMap<String, (Instant, Arc<SeatMap>)>>,
    /// Event records, same TTL: every hold attempt needs the event's
    /// status and sale window.
    events: Mutex<HashMap<String, (Instant, EventRecord)>>,
    /// Price lookups for the hold path. Not dropped by `invalidate` (a
    /// hold does not change prices), only by the TTL: otherwise every
    /// successful hold would force the next one to reload them. Loaded on
    /// their own when they expire: building the whole map (JSON for every
    /// seat) once a second cost the hold path more than the prices.
    prices: Mutex<HashMap<String, (Instant, Arc<SeatPrices>)>>,
    /// One refresh at a time: when an entry expires under load, one
    /// request reloads it and the others wait for that result instead of
    /// all querying the database at once.
    refresh: tokio::sync::Mutex<()>,
}

impl SeatMapCache {
    fn get(&self, event: &str) -> Option<Arc<SeatMap>> {
        let entries = self.entries.lock().ok()?;
        let (at, map) = entries.get(event)?;
        (at.elapsed() < SEAT_MAP_TTL).then(|| map.clone())
    }

    fn put(&self, event: &str, map: Arc<SeatMap>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(event.to_owned(), (Instant::now(), map.clone()));
        }
        self.put_prices(event, map.prices.clone());
    }

    fn put_prices(&self, event: &str, prices: Arc<SeatPrices>) {
        if let Ok(mut cached) = self.prices.lock() {
            cached.insert(event.to_owned(), (Instant::now(), prices));
        }
    }

    fn get_prices(&self, event: &str) -> Option<Arc<SeatPrices>> {
        let prices = self.prices.lock().ok()?;
        let (at, map) = prices.get(event)?;
        (at.elapsed() < SEAT_MAP_TTL).then(|| map.clone())
    }

    fn get_event(&self, id: &str) -> Option<EventRecord> {
        let events = self.events.lock().ok()?;
        let (at, event) = events.get(id)?;
        (at.elapsed() < SEAT_MAP_TTL).then(|| event.clone())
    }

    fn put_event(&self, event: &EventRecord) {
        if let Ok(mut events) = self.events.lock() {
            events.insert(event.id.clone(), (Instant::now(), event.clone()));
        }
    }

    /// Drops the event's entry after a seat of it changed.
    pub fn invalidate(&self, event: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(event);
        }
    }

    /// Drops everything cached about the event after an operator changed
    /// it (details, status). Other processes see it within the TTL; the
    /// hold transaction itself checks the status, so a stale entry can
    /// never sell a cancelled event.
    pub fn invalidate_event(&self, event: &str) {
        self.invalidate(event);
        if let Ok(mut prices) = self.prices.lock() {
            prices.remove(event);
        }
        if let Ok(mut events) = self.events.lock() {
            events.remove(event);
        }
    }
}

fn build_map(event: &EventRecord, data: SeatMapData) -> SeatMap {
    let tier_price: HashMap<i64, i64> = data.tiers.iter().map(|t| (t.id, t.price)).collect();
    let price = |tier: i64| tier_price.get(&tier).copied().unwrap_or(0);
    let mut seat_price = HashMap::with_capacity(data.seats.len());
    let mut pool_price = HashMap::new();
    let mut sections = Vec::with_capacity(data.sections.len());
    for section in &data.sections {
        let mut rows: Vec<(String, Vec<Value>)> = Vec::new();
        for seat in data.seats.iter().filter(|s| s.section_id == section.id) {
            seat_price.insert(seat.id, price(seat.price_tier_id));
            let entry = json!({
                "id": seat.id, "number": seat.number, "tier": seat.price_tier_id,
                "price": price(seat.price_tier_id), "status": seat.status,
            });
            match rows.iter_mut().find(|(label, _)| *label == seat.row_label) {
                Some((_, seats)) => seats.push(entry),
                None => rows.push((seat.row_label.clone(), vec![entry])),
            }
        }
        let pool = data
            .pools
            .iter()
            .find(|p| p.section_id == section.id)
            .map(|p| {
                pool_price.insert(p.id, price(p.price_tier_id));
                json!({
                    "id": p.id, "tier": p.price_tier_id, "price": price(p.price_tier_id),
                    "capacity": p.capacity, "available": p.capacity - p.held - p.sold,
                })
            });
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|(label, seats)| json!({"label": label, "seats": seats}))
            .collect();
        sections.push(json!({
            "id": section.id, "name": section.name, "kind": section.kind,
            "rows": rows, "pool": pool,
        }));
    }
    let available = data
        .seats
        .iter()
        .filter(|s| s.status == "available")
        .count();
    SeatMap {
        json: json!({
            "event": event.id,
            "currency": event.currency,
            "tiers": data.tiers,
            "sections": sections,
            "available_seats": available,
            "cache_ttl_ms": SEAT_MAP_TTL.as_millis() as u64,
        }),
        prices: Arc::new(SeatPrices {
            seat_price,
            pool_price,
        }),
    }
}

/// The catalog service: published events and their seat maps, cached.
#[derive(Clone)]
pub struct Catalog {
    pub(crate) config: Arc<BookingConfig>,
    pub(crate) db: Db,
    /// Read for each event's per-visitor seat cap.
    pub(crate) queue: Arc<dyn QueueStore>,
    pub(crate) seat_maps: Arc<SeatMapCache>,
}

impl Catalog {
    /// Published events in `(starts_at, id)` order, after the query's
    /// cursor.
    pub async fn list_events(&self, query: &EventQuery) -> Result<Vec<EventListing>> {
        self.db.catalog().list_events(query).await
    }

    /// Seats one admitted visitor may hold in `event`: the event's queue
    /// policy (operators set it per sale), never above the service-wide
    /// ceiling. Without a readable queue policy the ceiling applies, so a
    /// queue-store hiccup does not block holds.
    pub async fn seat_limit(&self, event: &str) -> u32 {
        let ceiling = self.config.max_seats_per_token;
        let Ok(id) = queue::EventId::parse(event) else {
            return ceiling;
        };
        match self.queue.settings(&id).await {
            Ok(Some(s)) => s.policy.max_seats_per_visitor.min(ceiling),
            _ => ceiling,
        }
    }

    /// A published event, or 404.
    pub async fn published_event(&self, id: &str) -> Result<EventRecord> {
        if let Some(e) = self.seat_maps.get_event(id) {
            return Self::published(Some(e));
        }
        let _refresh = self.seat_maps.refresh.lock().await;
        let cached = self.seat_maps.get_event(id);
        let event = match cached {
            Some(e) => Some(e),
            None => {
                let e = self.db.catalog().event(id).await?;
                if let Some(e) = &e {
                    self.seat_maps.put_event(e);
                }
                e
            }
        };
        Self::published(event)
    }

    fn published(event: Option<EventRecord>) -> Result<EventRecord> {
        match event {
            Some(e) if e.status == "published" => Ok(e),
            _ => Err(BookingError::NotFound("event")),
        }
    }

    /// Seat and pool prices of the event (at most ~1 s old; availability
    /// in it may be older, so never use it to decide a hold).
    pub async fn seat_prices(&self, event: &EventRecord) -> Result<Arc<SeatPrices>> {
        if let Some(prices) = self.seat_maps.get_prices(&event.id) {
            return Ok(prices);
        }
        let _refresh = self.seat_maps.refresh.lock().await;
        if let Some(prices) = self.seat_maps.get_prices(&event.id) {
            return Ok(prices);
        }
        let list = self.db.catalog().prices(&event.id).await?;
        let prices = Arc::new(SeatPrices {
            seat_price: list.seats.into_iter().collect(),
            pool_price: list.pools.into_iter().collect(),
        });
        self.seat_maps.put_prices(&event.id, prices.clone());
        Ok(prices)
    }

    /// The event's seat map, from the cache when fresh.
    pub async fn seat_map(&self, event: &EventRecord) -> Result<Arc<SeatMap>> {
        if let Some(map) = self.seat_maps.get(&event.id) {
            return Ok(map);
        }
        let _refresh = self.seat_maps.refresh.lock().await;
        if let Some(map) = self.seat_maps.get(&event.id) {
            return Ok(map);
        }
        let data = self.db.catalog().seat_map(&event.id).await?;
        let map = Arc::new(build_map(event, data));
        self.seat_maps.put(&event.id, map.clone());
        Ok(map)
    }
}
