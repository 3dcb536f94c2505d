//! Seat maps uploaded by operators, as JSON or CSV, validated with errors
//! that name the line (CSV) or the entry (JSON) so a 2,000-row file can be
//! fixed in one pass.
//!
//! CSV: a header `section,row,seats,tier,price`, then one line per row of
//! seats; an empty `row` makes the line a general-admission section whose
//! `seats` is its capacity. Prices are minor units (cents). A tier is named
//! once per price: the same tier with two prices is an error.
//!
//! JSON: `{"tiers":[{"name","price"}], "sections":[{"name","rows":[{"label",
//! "seats","tier"}]} | {"name","general":{"capacity","tier"}}]}`.

use crate::error::AdminError;
use booking::db::SeedSection;
use serde::Deserialize;
use std::collections::HashMap;

/// Most seats in one row, and most places in one GA section.
const MAX_ROW: i64 = 1_000;
const MAX_GENERAL: i64 = 1_000_000;

/// A validated map: tiers and sections as the booking catalog takes them.
#[derive(Debug, Default)]
pub struct SeatMap {
    /// `(name, price)`.
    pub tiers: Vec<(String, i64)>,
    /// Sections in order.
    pub sections: Vec<SeedSection>,
}

/// Collects problems; the map is refused if there is any.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, at: &str, message: impl std::fmt::Display) {
        self.0.push(format!("{at}: {message}"));
    }

    fn finish(self, map: SeatMap) -> Result<SeatMap, AdminError> {
        if self.0.is_empty() {
            if map.sections.is_empty() {
                return Err(AdminError::invalid("seat_map", "has no sections"));
            }
            return Ok(map);
        }
        let shown: Vec<&str> = self.0.iter().take(20).map(String::as_str).collect();
        let more = self.0.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        Err(AdminError::invalid(
            "seat_map",
            format!("{}{tail}", shown.join("; ")),
        ))
    }
}

impl SeatMap {
    fn tier(&mut self, name: &str, price: i64) -> Result<usize, String> {
        match self.tiers.iter().position(|(n, _)| n == name) {
            Some(i) if self.tiers[i].1 == price => Ok(i),
            Some(i) => Err(format!(
                "tier {name:?} already has price {}, not {price}",
                self.tiers[i].1
            )),
            None => {
                self.tiers.push((name.to_owned(), price));
                Ok(self.tiers.len() - 1)
            }
        }
    }

    fn section(&mut self, name: &str) -> &mut SeedSection {
        if let Some(i) = self.sections.iter().position(|s| s.name == name) {
            return &mut self.sections[i];
        }
        self.sections.push(SeedSection {
            name: name.to_owned(),
            rows: Vec::new(),
            general: None,
        });
        let last = self.sections.len() - 1;
        &mut self.sections[last]
    }
}

/// Parses the CSV form.
pub fn from_csv(text: &str) -> Result<SeatMap, AdminError> {
    let mut problems = Problems::default();
    let mut map = SeatMap::default();
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .map(|(_, l)| l.split(',').map(|c| c.trim().to_lowercase()).collect())
        .unwrap_or_default();
    if header != ["section", "row", "seats", "tier", "price"] {
        return Err(AdminError::invalid(
            "seat_map",
            "line 1: the header must be section,row,seats,tier,price",
        ));
    }
    for (i, line) in lines {
        let at = format!("line {}", i + 1);
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let [section, row, seats, tier, price] = cells[..] else {
            problems.add(&at, format!("expected 5 columns, found {}", cells.len()));
            continue;
        };
        let seats: i64 = match seats.parse() {
            Ok(n) => n,
            Err(_) => {
                problems.add(&at, "seats must be a whole number");
                continue;
            }
        };
        let price: i64 = match price.parse() {
            Ok(p) if p >= 0 => p,
            _ => {
                problems.add(&at, "price must be a whole number of minor units ≥ 0");
                continue;
            }
        };
        add(
            &mut map,
            &mut problems,
            &at,
            section,
            row,
            seats,
            tier,
            price,
        );
    }
    problems.finish(map)
}

/// Checks and adds one row (or GA section).
#[allow(clippy::too_many_arguments)]
fn add(
    map: &mut SeatMap,
    problems: &mut Problems,
    at: &str,
    section: &str,
    row: &str,
    seats: i64,
    tier: &str,
    price: i64,
) {
    if section.is_empty() || section.chars().count() > 100 {
        return problems.add(at, "section must be 1 to 100 characters");
    }
    if tier.is_empty() || tier.chars().count() > 100 {
        return problems.add(at, "tier must be 1 to 100 characters");
    }
    let tier = match map.tier(tier, price) {
        Ok(t) => t,
        Err(e) => return problems.add(at, e),
    };
    let s = map.section(section);
    if row.is_empty() {
        if !(1..=MAX_GENERAL).contains(&seats) {
            return problems.add(at, format!("capacity must be 1 to {MAX_GENERAL}"));
        }
        if s.general.is_some() || !s.rows.is_empty() {
            return problems.add(at, format!("section {section:?} is defined twice"));
        }
        s.general = Some((seats, tier));
    } else {
        if !(1..=MAX_ROW).contains(&seats) {
            return problems.add(at, format!("seats must be 1 to {MAX_ROW}"));
        }
        if s.general.is_some() {
            return problems.add(at, format!("section {section:?} is general admission"));
        }
        if s.rows.iter().any(|(label, _, _)| label == row) {
            return problems.add(at, format!("row {row:?} of {section:?} is defined twice"));
        }
        s.rows.push((row.to_owned(), seats, tier));
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonMap {
    tiers: Vec<JsonTier>,
    sections: Vec<JsonSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonTier {
    name: String,
    price: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSection {
    name: String,
    #[serde(default)]
    rows: Vec<JsonRow>,
    general: Option<JsonGeneral>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRow {
    label: String,
    seats: i64,
    tier: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonGeneral {
    capacity: i64,
    tier: String,
}

/// Parses the JSON form (a value already parsed from the request).
pub fn from_json(value: serde_json::Value) -> Result<SeatMap, AdminError> {
    let raw: JsonMap = serde_json::from_value(value)
        .map_err(|e| AdminError::invalid("seat_map", e.to_string()))?;
    let mut problems = Problems::default();
    let prices: HashMap<&str, i64> = raw
        .tiers
        .iter()
        .map(|t| (t.name.as_str(), t.price))
        .collect();
    let mut map = SeatMap::default();
    for (i, t) in raw.tiers.iter().enumerate() {
        if t.price < 0 {
            problems.add(&format!("tiers[{i}]"), "price must be ≥ 0");
        }
    }
    for (i, s) in raw.sections.iter().enumerate() {
        let lookup = |tier: &str| prices.get(tier).copied();
        for (j, r) in s.rows.iter().enumerate() {
            let at = format!("sections[{i}].rows[{j}]");
            match lookup(&r.tier) {
                Some(price) if !r.label.is_empty() => add(
                    &mut map,
                    &mut problems,
                    &at,
                    &s.name,
                    &r.label,
                    r.seats,
                    &r.tier,
                    price,
                ),
                Some(_) => problems.add(&at, "label must not be empty"),
                None => problems.add(&at, format!("unknown tier {:?}", r.tier)),
            }
        }
        if let Some(g) = &s.general {
            let at = format!("sections[{i}].general");
            match lookup(&g.tier) {
                Some(price) => add(
                    &mut map,
                    &mut problems,
                    &at,
                    &s.name,
                    "",
                    g.capacity,
                    &g.tier,
                    price,
                ),
                None => problems.add(&at, format!("unknown tier {:?}", g.tier)),
            }
        }
        if s.rows.is_empty() && s.general.is_none() {
            problems.add(&format!("sections[{i}]"), "needs rows or general");
        }
    }
    problems.finish(map)
}

/// The seat map of a request that sends it as JSON (`seat_map`) or as CSV
/// (`seat_map_csv`): exactly one of them.
pub fn from_either(
    json: Option<serde_json::Value>,
    csv: Option<String>,
) -> Result<SeatMap, AdminError> {
    match (json, csv) {
        (Some(v), None) => from_json(v),
        (None, Some(csv)) => from_csv(&csv),
        _ => Err(AdminError::invalid(
            "seat_map",
            "send exactly one of seat_map, seat_map_csv",
        )),
    }
}

/// Seats plus general-admission places.
pub fn places(sections: &[SeedSection]) -> i64 {
    sections
        .iter()
        .map(|s| s.rows.iter().map(|r| r.1).sum::<i64>() + s.general.map_or(0, |g| g.0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_maps_parse_and_errors_name_their_lines() {
        let ok = "section,row,seats,tier,price\nFloor,,500,GA,4000\nBalcony,A,20,Front,9000\nBalcony,B,22,Front,9000\n";
        let map = from_csv(ok).expect("valid");
        assert_eq!(map.tiers, vec![("GA".into(), 4000), ("Front".into(), 9000)]);
        assert_eq!(map.sections.len(), 2);
        assert_eq!(
            map.sections[1].rows,
            vec![("A".into(), 20, 1), ("B".into(), 22, 1)]
        );

        let bad = "section,row,seats,tier,price\nA,1,10,T,100\nA,1,10,T,100\nA,2,x,T,100\nA,3,5,T,200\nA,4\n";
        let AdminError::Invalid { field, message } = from_csv(bad).expect_err("invalid") else {
            panic!("expected 422")
        };
        assert_eq!(field, "seat_map");
        for want in [
            "line 3: row",
            "line 4: seats",
            "line 5: tier",
            "line 6: expected 5",
        ] {
            assert!(message.contains(want), "{want} in {message}");
        }
        assert!(from_csv("a,b\n").is_err());
    }

    #[test]
    fn json_maps_name_the_entry() {
        let v = serde_json::json!({
            "tiers": [{"name": "GA", "price": 5000}],
            "sections": [
                {"name": "Floor", "general": {"capacity": 100, "tier": "GA"}},
                {"name": "Side", "rows": [{"label": "A", "seats": 0, "tier": "GA"},
                                           {"label": "B", "seats": 5, "tier": "VIP"}]}
            ]
        });
        let AdminError::Invalid { message, .. } = from_json(v).expect_err("invalid") else {
            panic!("expected 422")
        };
        assert!(message.contains("sections[1].rows[0]: seats"), "{message}");
        assert!(
            message.contains("sections[1].rows[1]: unknown tier"),
            "{message}"
        );
    }
}
