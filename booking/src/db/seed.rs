//! The demo event (`demo`, "Demo Night"), created on an empty database so
//! `cargo run` has something to sell.

use super::{CatalogSeed, SeedSection};
use chrono::{DateTime, Duration, Utc};

/// The demo event's id; the queue side creates the waiting room for it.
pub const DEMO_EVENT: &str = "demo";

/// Three sections: 200 stalls seats (rows A–C premium), 80 balcony seats
/// and a 500-place standing pool; two price tiers.
pub fn demo_catalog(now: DateTime<Utc>) -> CatalogSeed {
    let stalls = ('A'..='J')
        .map(|row| (row.to_string(), 20, if row <= 'C' { 0 } else { 1 }))
        .collect();
    let balcony = ('A'..='E').map(|row| (row.to_string(), 16, 1)).collect();
    CatalogSeed {
        venue: "Waitroom Arena".to_owned(),
        city: "Springfield".to_owned(),
        category: "music".to_owned(),
        event_id: DEMO_EVENT.to_owned(),
        name: "Demo Night".to_owned(),
        description: "A demonstration sale: seats, a standing area and two price tiers.".to_owned(),
        starts_at: now + Duration::days(30),
        status: "published".to_owned(),
        currency: "usd".to_owned(),
        tiers: vec![("Premium".to_owned(), 8900), ("Standard".to_owned(), 4900)],
        sections: vec![
            SeedSection {
                name: "Stalls".to_owned(),
                rows: stalls,
                general: None,
            },
            SeedSection {
                name: "Balcony".to_owned(),
                rows: balcony,
                general: None,
            },
            SeedSection {
                name: "Standing".to_owned(),
                rows: Vec::new(),
                general: Some((500, 1)),
            },
        ],
        now,
    }
}
