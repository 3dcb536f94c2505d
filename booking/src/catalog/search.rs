//! Reading `GET /events`'s query string into an [`EventQuery`], and its
//! keyset cursor. Every parameter is checked; a bad one is refused with
//! `validation_failed` naming it, never ignored, so a typo in a script
//! does not silently list everything.

use crate::db::{EventListing, EventQuery, EventSort, SortKey, CATEGORIES};
use crate::error::{BookingError, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

/// Page size without `limit`.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest `limit`.
pub const MAX_LIMIT: i64 = 100;
/// Longest `q` and `city`, in characters.
pub const MAX_TEXT: usize = 100;
/// Largest price filter (minor units): ten billion, beyond any ticket.
pub const MAX_PRICE: i64 = 1_000_000_000_000;

fn parse_time(field: &'static str, raw: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    // Exactly YYYY-MM-DD (chrono would take longer years too).
    Some(raw)
        .filter(|r| r.len() == 10)
        .and_then(|r| NaiveDate::parse_from_str(r, "%Y-%m-%d").ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| BookingError::validation(field, "expected RFC 3339 or YYYY-MM-DD"))
}

fn parse_price(field: &'static str, raw: &str) -> Result<i64> {
    // Digits only: `+5`, `-0` and `5.00` are not minor units.
    raw.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .filter(|n| (0..=MAX_PRICE).contains(n))
        .ok_or_else(|| {
            BookingError::validation(
                field,
                format!("must be an integer 0 to {MAX_PRICE} (minor units)"),
            )
        })
}

/// Trimmed text of at most [`MAX_TEXT`] characters; blank is absent.
fn text(field: &'static str, raw: Option<&String>) -> Result<Option<String>> {
    match raw {
        Some(s) if s.chars().count() > MAX_TEXT => Err(BookingError::validation(
            field,
            format!("at most {MAX_TEXT} characters"),
        )),
        Some(s) => Ok(Some(s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase)),
        None => Ok(None),
    }
}

fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The cursor after `last` in `sort` order: the order's letter, its key
/// and the event id, so a cursor cannot be replayed against another order.
pub fn encode_cursor(last: &EventListing, sort: EventSort) -> String {
    let key = match last.key(sort) {
        // Whole nanoseconds: SQLite keeps the time as written, and a key
        // rounded below it would return the same event again.
        SortKey::Date(at) => format!("d|{}.{:09}", at.timestamp(), at.timestamp_subsec_nanos()),
        SortKey::Price(n) => format!("p|{n}"),
        SortKey::Popularity(n) => format!("s|{n}"),
    };
    URL_SAFE_NO_PAD.encode(format!("{key}|{}", last.event.id))
}

/// Reads a cursor of `sort` order. Cursors from before the sort orders
/// existed (`micros|id`) are date cursors.
pub fn decode_cursor(raw: &str, sort: EventSort) -> Result<(SortKey, String)> {
    let bad = || BookingError::validation("cursor", "is not a cursor from a previous page");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(3, '|');
    let (a, b, c) = (parts.next(), parts.next(), parts.next());
    let (letter, value, id) = match (a, b, c) {
        (Some(l), Some(v), Some(id)) if l.len() == 1 => (l, v, id),
        (Some(v), Some(id), None) => ("legacy", v, id),
        _ => return Err(bad()),
    };
    if id.is_empty() {
        return Err(bad());
    }
    let number = || value.parse::<i64>().map_err(|_| bad());
    let key = match letter {
        "d" => {
            let (secs, nanos) = value.split_once('.').ok_or_else(bad)?;
            let secs: i64 = secs.parse().map_err(|_| bad())?;
            let nanos: u32 = Some(nanos)
                .filter(|n| n.len() == 9)
                .and_then(|n| n.parse().ok())
                .ok_or_else(bad)?;
            SortKey::Date(DateTime::from_timestamp(secs, nanos).ok_or_else(bad)?)
        }
        "legacy" => SortKey::Date(DateTime::from_timestamp_micros(number()?).ok_or_else(bad)?),
        "p" => SortKey::Price(number()?),
        "s" => SortKey::Popularity(number()?),
        _ => return Err(bad()),
    };
    if key.sort() != sort {
        return Err(BookingError::validation(
            "cursor",
            "belongs to another sort order; start again without it",
        ));
    }
    Ok((key, id.to_owned()))
}

/// The query of `GET /events` (with `limit` one more than the page, to
/// learn whether another page follows).
pub fn parse_query(params: &HashMap<String, String>) -> Result<(EventQuery, i64)> {
    let limit = match params.get("limit") {
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| BookingError::validation("limit", "must be 1 to 100"))?,
        None => DEFAULT_LIMIT,
    };
    let sort = match params.get("sort") {
        Some(raw) => EventSort::parse(raw)
            .ok_or_else(|| BookingError::validation("sort", "must be date, price or popularity"))?,
        None => EventSort::Date,
    };
    let category = match params.get("category").map(String::as_str) {
        None | Some("") => None,
        Some(c) if CATEGORIES.contains(&c) => Some(c.to_owned()),
        Some(_) => {
            return Err(BookingError::validation(
                "category",
                format!("must be one of {}", CATEGORIES.join(", ")),
            ))
        }
    };
    // An upside-down range (`max_price` below `min_price`, `to` before
    // `from`) is well-formed and simply matches nothing, as the analytics
    // ranges do: no schema can state the order between two parameters.
    let price = |field: &'static str| -> Result<Option<i64>> {
        params
            .get(field)
            .map(|raw| parse_price(field, raw))
            .transpose()
    };
    let (min_price, max_price) = (price("min_price")?, price("max_price")?);
    let time = |field: &'static str| -> Result<Option<DateTime<Utc>>> {
        params
            .get(field)
            .map(|raw| parse_time(field, raw))
            .transpose()
    };
    let (from, to) = (time("from")?, time("to")?);
    let query = EventQuery {
        limit: limit + 1,
        sort,
        after: params
            .get("cursor")
            .map(|c| decode_cursor(c, sort))
            .transpose()?,
        from,
        to,
        text_like: text("q", params.get("q"))?.map(|q| like_pattern(&q)),
        category,
        city: text("city", params.get("city"))?,
        min_price,
        max_price,
    };
    Ok((query, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_bad_parameter_is_named() {
        for (k, v) in [
            ("sort", "name"),
            ("category", "opera"),
            ("min_price", "-1"),
            ("min_price", "+5"),
            ("max_price", "5.00"),
            ("max_price", "99999999999999999999"),
            ("from", "tomorrow"),
            ("city", &"x".repeat(101)),
            ("q", &"x".repeat(101)),
            ("min_price", ""),
            ("to", ""),
        ] {
            let err = parse_query(&params(&[(k, v)])).expect_err(k);
            assert!(
                matches!(err, BookingError::Validation { field, .. } if field == k),
                "{k}={v}"
            );
        }
        assert!(parse_query(&params(&[("min_price", "500"), ("max_price", "100")])).is_ok());
        assert!(parse_query(&params(&[("from", "2030-01-02"), ("to", "2030-01-01")])).is_ok());
    }

    #[test]
    fn a_cursor_only_fits_its_own_order() {
        let raw = URL_SAFE_NO_PAD.encode("p|4900|demo");
        assert_eq!(
            decode_cursor(&raw, EventSort::Price).ok(),
            Some((SortKey::Price(4900), "demo".to_owned()))
        );
        assert!(decode_cursor(&raw, EventSort::Popularity).is_err());
        assert!(decode_cursor(&raw, EventSort::Date).is_err());
        let legacy = URL_SAFE_NO_PAD.encode("1700000000000000|demo");
        assert!(matches!(
            decode_cursor(&legacy, EventSort::Date),
            Ok((SortKey::Date(_), _))
        ));
        let at = DateTime::from_timestamp(1_800_000_000, 123_456_789).expect("time");
        let date = URL_SAFE_NO_PAD.encode("d|1800000000.123456789|demo");
        assert_eq!(
            decode_cursor(&date, EventSort::Date).ok(),
            Some((SortKey::Date(at), "demo".to_owned()))
        );
        for bad in [
            "x|1|demo",
            "p|one|demo",
            "p|1|",
            "p",
            "d|1800000000|demo",
            "d|1.5|demo",
        ] {
            let raw = URL_SAFE_NO_PAD.encode(bad);
            assert!(decode_cursor(&raw, EventSort::Price).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_filters_are_lowercased_and_escaped() {
        let (q, _) =
            parse_query(&params(&[("q", " 50%_Off "), ("city", " Springfield ")])).expect("valid");
        assert_eq!(q.text_like.as_deref(), Some("%50\\%\\_off%"));
        assert_eq!(q.city.as_deref(), Some("springfield"));
    }
}
