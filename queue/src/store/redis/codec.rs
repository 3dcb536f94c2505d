//! Conversions between Redis values and the store's types.
//!
//! Everything here reads data this crate wrote itself, so anything that
//! does not parse is reported as `QueueError::Corrupt` (never a panic),
//! while transport failures are `QueueError::Unavailable`.

use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::settings::{QueueSettings, QueueState};
use crate::store::{Admission, Millis, Snapshot, Tick, VisitorRecord};
use fred::error::{Error as RedisError, ErrorKind};
use fred::types::Value;

/// The settings hash's fields, in the order the scripts `HMGET` them.
pub(super) const SETTINGS_FIELDS: [&str; 6] = [
    "state",
    "admit_per_minute",
    "max_active",
    "session_ttl_seconds",
    "departure_grace_seconds",
    // Everything the tick script does not read, as one JSON document.
    "policy",
];

const ALL_STATES: [QueueState; 6] = [
    QueueState::Scheduled,
    QueueState::Prequeue,
    QueueState::Open,
    QueueState::Paused,
    QueueState::Draining,
    QueueState::Closed,
];

/// The states matching `pick`, comma separated, passed to a script so the
/// lifecycle rules (`accepts_joins`, `admits`) stay defined once, in Rust.
pub(super) fn states_where(pick: fn(QueueState) -> bool) -> String {
    ALL_STATES
        .iter()
        .filter(|s| pick(**s))
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Maps a fred error: a reply we could not convert is corrupt data,
/// everything else (I/O, timeouts, server errors) means "try again later".
pub(super) fn redis_error(error: RedisError) -> QueueError {
    match error.kind() {
        ErrorKind::Parse => QueueError::Corrupt(error.to_string()),
        _ => QueueError::Unavailable(error.to_string()),
    }
}

fn corrupt(what: &str, value: &impl std::fmt::Debug) -> QueueError {
    QueueError::Corrupt(format!("unexpected {what}: {value:?}"))
}

/// A non-negative integer (Lua numbers arrive as integers, hash fields and
/// sorted-set members as strings).
pub(super) fn to_u64(value: &Value, what: &str) -> Result<u64> {
    match value {
        Value::Integer(i) => u64::try_from(*i).map_err(|_| corrupt(what, value)),
        _ => value
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| corrupt(what, value)),
    }
}

fn to_u32(value: &Value, what: &str) -> Result<u32> {
    u32::try_from(to_u64(value, what)?).map_err(|_| corrupt(what, value))
}

fn to_string(value: &Value, what: &str) -> Result<String> {
    value.as_string().ok_or_else(|| corrupt(what, value))
}

/// An array reply; `nil` counts as empty.
pub(super) fn to_array(value: Value, what: &str) -> Result<Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        other => Err(corrupt(what, &other)),
    }
}

/// The fields to `HSET` for `settings`, in `SETTINGS_FIELDS` order.
pub(super) fn settings_fields(settings: &QueueSettings) -> Vec<(&'static str, String)> {
    let values = [
        settings.state.as_str().to_owned(),
        settings.admit_per_minute.to_string(),
        settings.max_active.to_string(),
        settings.session_ttl_seconds.to_string(),
        settings.departure_grace_seconds.to_string(),
        serde_json::to_string(&settings.policy).unwrap_or_else(|_| "{}".to_owned()),
    ];
    SETTINGS_FIELDS.into_iter().zip(values).collect()
}

/// Settings from an `HMGET` in `SETTINGS_FIELDS` order; `None` when the
/// event has no settings (`state` is nil).
pub(super) fn parse_settings(values: Vec<Value>) -> Result<Option<QueueSettings>> {
    let [state, admit, max_active, ttl, grace, policy] =
        <[Value; 6]>::try_from(values).map_err(|v| corrupt("settings reply", &v))?;
    if state.is_null() {
        return Ok(None);
    }
    let state = state
        .as_str()
        .and_then(|s| QueueState::parse(&s))
        .ok_or_else(|| corrupt("queue state", &state))?;
    Ok(Some(QueueSettings {
        state,
        admit_per_minute: to_u32(&admit, "admit_per_minute")?,
        max_active: to_u32(&max_active, "max_active")?,
        session_ttl_seconds: to_u32(&ttl, "session_ttl_seconds")?,
        departure_grace_seconds: to_u32(&grace, "departure_grace_seconds")?,
        // Absent in data written before policies existed: defaults.
        policy: match policy.as_str() {
            Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("policy", &policy))?,
            None => Default::default(),
        },
    }))
}

fn required_settings(value: Value) -> Result<QueueSettings> {
    parse_settings(to_array(value, "settings")?)?.ok_or_else(|| corrupt("settings", &"nil"))
}

/// A visitor's record as stored by the scripts: `t` waiting,
/// `t|a|admitted_ms|expires_ms` admitted, `t|f` finished, `t|d` departed.
/// An admitted session whose expiry has passed reads as finished even
/// before a tick retires it.
pub(super) fn parse_record(raw: Option<String>, now: Millis) -> Result<VisitorRecord> {
    let Some(raw) = raw else {
        return Ok(VisitorRecord::Unknown);
    };
    let bad = || corrupt("visitor record", &raw);
    let mut parts = raw.split('|');
    let ticket: u64 = parts.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
    let kind = parts.next();
    let mut number =
        || -> Result<u64> { parts.next().and_then(|n| n.parse().ok()).ok_or_else(bad) };
    let record = match kind {
        None => VisitorRecord::Waiting { ticket },
        Some("f") => VisitorRecord::Finished { ticket },
        // `t|d|ms`: departed by absence at `ms`, so the place may be kept.
        Some("d") => {
            if parts.next().is_some_and(|ms| ms.parse::<u64>().is_err()) {
                return Err(bad());
            }
            VisitorRecord::Departed { ticket }
        }
        Some("p") => VisitorRecord::Prequeue,
        Some("a") => {
            let admitted_at = number()?;
            let expires_at = number()?;
            if expires_at <= now {
                VisitorRecord::Finished { ticket }
            } else {
                VisitorRecord::Admitted {
                    ticket,
                    admitted_at,
                    expires_at,
                }
            }
        }
        Some(_) => return Err(bad()),
    };
    Ok(record)
}

/// What the tick script answered.
pub(super) enum TickReply {
    /// `node` does not hold the lease.
    NotLeader,
    /// The event has no settings.
    UnknownEvent,
    /// The guard found lost writes; nothing changed.
    Lost,
    /// The tick ran.
    Ran(Box<Tick>),
}

/// The first element of every script reply that can refuse: 1 means done.
pub(super) fn status(items: &[Value], what: &str) -> Result<i64> {
    items
        .first()
        .and_then(Value::as_i64)
        .ok_or_else(|| corrupt(what, &items))
}

/// Builds the [`Tick`] from the tick script's reply (see `tick.lua`).
pub(super) fn parse_tick(event: &EventId, now: Millis, reply: Value) -> Result<TickReply> {
    let items = to_array(reply, "tick reply")?;
    match status(&items, "tick reply")? {
        0 => return Ok(TickReply::NotLeader),
        -1 => return Ok(TickReply::UnknownEvent),
        -2 => return Ok(TickReply::Lost),
        _ => {}
    }
    let [_, seq, head, last_ticket, expires_at, active, waiting, admitted, departed, settings, reinstated, returning, epoch, restored_at, sold_out] =
        <[Value; 15]>::try_from(items).map_err(|v| corrupt("tick reply", &v))?;
    let expires_at = to_u64(&expires_at, "expires_at")?;
    let sold_out = to_u64(&sold_out, "sold_out")? == 1;
    let admitted = to_array(admitted, "admitted")?
        .chunks(2)
        .map(|pair| match pair {
            [visitor, ticket] => Ok(Admission {
                visitor: VisitorId::parse(&to_string(visitor, "visitor")?)
                    .map_err(|_| corrupt("visitor id", visitor))?,
                ticket: to_u64(ticket, "ticket")?,
                expires_at,
                offer: sold_out,
            }),
            _ => Err(corrupt("admitted pair", &pair)),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TickReply::Ran(Box::new(Tick {
        event: event.clone(),
        seq: to_u64(&seq, "seq")?,
        at: now,
        head: to_u64(&head, "head")?,
        last_ticket: to_u64(&last_ticket, "last_ticket")?,
        admitted,
        departed: tickets(departed)?,
        reinstated: tickets(reinstated)?,
        returning: to_u64(&returning, "returning")?,
        epoch: to_string(&epoch, "epoch")?,
        restored_at: to_u64(&restored_at, "restored_at")?,
        active: to_u32(&active, "active")?,
        waiting: to_u64(&waiting, "waiting")?,
        sold_out,
        settings: required_settings(settings)?,
    })))
}

/// Builds the [`Snapshot`] from the snapshot script's reply; `None` when
/// the event has no settings.
pub(super) fn parse_snapshot(reply: Value) -> Result<Option<Snapshot>> {
    let items = to_array(reply, "snapshot reply")?;
    if status(&items, "snapshot reply")? != 1 {
        return Ok(None);
    }
    let [_, seq, head, last_ticket, departed, active, waiting, settings, returning, epoch, restored_at, sold_out] =
        <[Value; 12]>::try_from(items).map_err(|v| corrupt("snapshot reply", &v))?;
    Ok(Some(Snapshot {
        seq: to_u64(&seq, "seq")?,
        head: to_u64(&head, "head")?,
        last_ticket: to_u64(&last_ticket, "last_ticket")?,
        departed: tickets(departed)?,
        returning: to_u64(&returning, "returning")?,
        epoch: to_string(&epoch, "epoch")?,
        restored_at: to_u64(&restored_at, "restored_at")?,
        active: to_u32(&active, "active")?,
        waiting: to_u64(&waiting, "waiting")?,
        sold_out: to_u64(&sold_out, "sold_out")? == 1,
        settings: required_settings(settings)?,
    }))
}

fn tickets(value: Value) -> Result<Vec<u64>> {
    to_array(value, "tickets")?
        .iter()
        .map(|t| to_u64(t, "ticket"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_the_script_format() {
        let rec = |s: &str, now| parse_record(Some(s.to_owned()), now).expect("parses");
        assert_eq!(rec("7", 0), VisitorRecord::Waiting { ticket: 7 });
        assert_eq!(rec("7|f", 0), VisitorRecord::Finished { ticket: 7 });
        assert_eq!(rec("7|d", 0), VisitorRecord::Departed { ticket: 7 });
        assert_eq!(rec("7|d|99", 0), VisitorRecord::Departed { ticket: 7 });
        assert!(parse_record(Some("7|d|x".into()), 0).is_err());
        assert_eq!(rec("0|p", 0), VisitorRecord::Prequeue);
        assert_eq!(
            rec("7|a|10|20", 19),
            VisitorRecord::Admitted {
                ticket: 7,
                admitted_at: 10,
                expires_at: 20
            }
        );
        assert_eq!(rec("7|a|10|20", 20), VisitorRecord::Finished { ticket: 7 });
        assert!(parse_record(Some("x|a".into()), 0).is_err());
        assert!(parse_record(Some("7|a|1".into()), 0).is_err());
        assert!(parse_record(Some("7|z".into()), 0).is_err());
    }

    #[test]
    fn state_lists_follow_the_lifecycle_rules() {
        assert_eq!(
            states_where(QueueState::accepts_joins),
            "prequeue,open,paused"
        );
        assert_eq!(states_where(QueueState::admits), "open,draining");
    }
}
