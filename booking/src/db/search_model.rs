//! Finding events: the catalog's filters, sort orders and keyset cursor.

use super::EventRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The categories an event may have (the database checks the same list).
pub const CATEGORIES: &[&str] = &[
    "music",
    "sports",
    "theatre",
    "comedy",
    "family",
    "conference",
    "other",
];

/// How the catalog is ordered; the event id breaks ties in every order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventSort {
    /// Soonest first.
    #[default]
    Date,
    /// Cheapest starting price first.
    Price,
    /// Most places sold first.
    Popularity,
}

impl EventSort {
    /// The query-string spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Date => "date",
            Self::Price => "price",
            Self::Popularity => "popularity",
        }
    }

    /// Parses the query-string spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Date, Self::Price, Self::Popularity]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// The sort key of the last event of a page: the next page starts after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// `starts_at`.
    Date(DateTime<Utc>),
    /// `price_from`.
    Price(i64),
    /// `sold`.
    Popularity(i64),
}

impl SortKey {
    /// The order this key belongs to.
    pub fn sort(&self) -> EventSort {
        match self {
            Self::Date(_) => EventSort::Date,
            Self::Price(_) => EventSort::Price,
            Self::Popularity(_) => EventSort::Popularity,
        }
    }
}

/// Catalog filters, order and keyset cursor.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Page size (already clamped).
    pub limit: i64,
    /// The order.
    pub sort: EventSort,
    /// Return events strictly after this `(key, id)` in `sort` order; the
    /// key is of the same order (the HTTP layer refuses others).
    pub after: Option<(SortKey, String)>,
    /// Events starting at or after.
    pub from: Option<DateTime<Utc>>,
    /// Events starting before.
    pub to: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the name, venue or city, already a
    /// `like` pattern with `%`, `_` and `\` escaped.
    pub text_like: Option<String>,
    /// Exactly this category.
    pub category: Option<String>,
    /// This city, lowercased (compared case-insensitively).
    pub city: Option<String>,
    /// Only events with a price tier at or above this (minor units).
    pub min_price: Option<i64>,
    /// Only events with a price tier at or below this (minor units).
    pub max_price: Option<i64>,
}

/// A listed event: the record, its cheapest price and its popularity.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct EventListing {
    /// The event.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub event: EventRecord,
    /// The lowest tier price (minor units); 0 without tiers.
    pub price_from: i64,
    /// Places sold: the popularity order's key, not published.
    #[serde(skip)]
    pub sold: i64,
}

impl EventListing {
    /// This event's key in `sort` order.
    pub fn key(&self, sort: EventSort) -> SortKey {
        match sort {
            EventSort::Date => SortKey::Date(self.event.starts_at),
            EventSort::Price => SortKey::Price(self.price_from),
            EventSort::Popularity => SortKey::Popularity(self.sold),
        }
    }
}
