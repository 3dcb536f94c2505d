//! The door: a scan (QR text or typed reference) → VALID, ALREADY USED,
//! INVALID (with the reason) or WRONG EVENT, recorded atomically; the
//! scanners' offline list; and the sync of scans made offline, where the
//! first recorded scan wins and any later one is reported as a conflict.

use super::normalize_reference;
use super::Tickets;
use crate::db::{CheckinCounts, MinuteCount, Scan, ScanOutcome, TicketKey, TicketRecord};
use crate::error::{BookingError, Result};
use crate::state::now;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most scans one sync may carry.
pub const MAX_SYNC_SCANS: usize = 500;
/// How far back an offline scan's own time is believed; older (or future)
/// times are a wrong clock, and the server's time is recorded instead.
const OFFLINE_WINDOW_HOURS: i64 = 48;

/// `POST /api/v1/checkin`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    /// The QR text (a compact JWS) or the ticket's reference.
    #[schema(schema_with = queue::api::schemas::fields::scanned_ticket)]
    pub ticket: String,
    /// The gate scanning: 1 to 64 printable characters.
    #[schema(schema_with = queue::api::schemas::fields::gate)]
    pub gate: String,
    /// The event the door is for (absent or `null`: any); a ticket of
    /// another scans WRONG EVENT.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,100}$")]
    pub event: Option<String>,
}

/// One offline scan in a sync.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineScan {
    /// As in [`CheckinRequest::ticket`].
    #[schema(schema_with = queue::api::schemas::fields::scanned_ticket)]
    pub ticket: String,
    /// When the scanner admitted it, by its own clock.
    pub scanned_at: DateTime<Utc>,
}

/// `POST /api/v1/checkin/sync`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// The gate whose queue this is.
    #[schema(schema_with = queue::api::schemas::fields::gate)]
    pub gate: String,
    /// The event the door is for.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,100}$")]
    pub event: Option<String>,
    /// Scans in the order they were made.
    #[schema(max_items = 500)]
    pub scans: Vec<OfflineScan>,
}

/// The first admitted scan of a ticket.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FirstScan {
    /// When.
    pub at: DateTime<Utc>,
    /// Where.
    pub gate: String,
}

/// What the door shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckinResult {
    /// `valid`, `already_used`, `invalid` or `wrong_event`.
    #[schema(value_type = String, pattern = "^(valid|already_used|invalid|wrong_event)$")]
    pub result: &'static str,
    /// Why `invalid` (or `wrong_event`): `bad_signature`, `unknown_key`,
    /// `malformed`, `not_a_ticket`, `unknown_ticket`, `reissued`,
    /// `order_refunded`, `order_cancelled`, `event_cancelled`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ticket id, when the ticket is known.
    pub ticket: Option<String>,
    /// Its reference.
    pub reference: Option<String>,
    /// Its event.
    pub event: Option<String>,
    /// Seat or place.
    pub seat: Option<String>,
    /// The admitting scan (this one when `valid`).
    pub first_scan: Option<FirstScan>,
}

impl CheckinResult {
    fn invalid(reason: &str) -> Self {
        Self {
            result: "invalid",
            reason: Some(reason.to_owned()),
            ticket: None,
            reference: None,
            event: None,
            seat: None,
            first_scan: None,
        }
    }

    fn about(result: &'static str, reason: Option<String>, t: &TicketRecord) -> Self {
        Self {
            result,
            reason,
            ticket: Some(t.id.clone()),
            reference: Some(t.reference.clone()),
            event: Some(t.event_id.clone()),
            seat: Some(t.seat.clone()),
            first_scan: first_scan(t),
        }
    }
}

/// One synced scan: the result, and whether it clashed with another.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SyncedScan {
    /// The scanner's time of the scan.
    pub scanned_at: DateTime<Utc>,
    /// The scanner admitted someone the server did not admit with this
    /// scan (another scan was first, or the ticket was revoked).
    pub conflict: bool,
    /// What the server decided.
    #[serde(flatten)]
    pub result: CheckinResult,
}

/// `POST /api/v1/checkin/sync` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SyncResult {
    /// Scans with a conflict.
    pub conflicts: usize,
    /// One per scan sent, in order.
    pub results: Vec<SyncedScan>,
}

/// What a scanner keeps for working offline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfflineList {
    /// Event.
    pub event: String,
    /// When the list was made.
    pub generated_at: DateTime<Utc>,
    /// The ticket keys (JWKS) to verify QR codes with.
    #[schema(value_type = Object)]
    pub keys: Value,
    /// Every ticket: id, reference, seat, status (valid / used / revoked).
    pub tickets: Vec<OfflineTicket>,
}

/// A ticket in the offline list (no QR text: the scanner verifies the one
/// it is shown).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfflineTicket {
    /// Id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// Seat.
    pub seat: String,
    /// valid / used / revoked.
    pub status: String,
    /// The admitting scan, for used ones.
    pub first_scan: Option<FirstScan>,
}

fn first_scan(t: &TicketRecord) -> Option<FirstScan> {
    Some(FirstScan {
        at: t.checked_in_at?,
        gate: t.checked_in_gate.clone()?,
    })
}

/// What a scanner read or staff typed: not blank, and no longer than a
/// QR code can hold.
fn check_ticket(field: &'static str, ticket: &str) -> Result<()> {
    if ticket.trim().is_empty() {
        return Err(BookingError::validation(field, "is empty"));
    }
    if ticket.chars().count() > 4096 {
        return Err(BookingError::validation(
            field,
            "is longer than 4096 characters",
        ));
    }
    Ok(())
}

/// Gates are names staff type: 1 to 64 printable characters.
fn check_gate(gate: &str) -> Result<()> {
    let ok = (1..=64).contains(&gate.chars().count()) && !gate.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(BookingError::validation(
            "gate",
            "must be 1 to 64 printable characters",
        ))
    }
}

/// The optional `event` of a body: an id like the paths' (422 otherwise).
fn check_event(event: Option<&str>) -> Result<()> {
    match event.map(|e| crate::http::path_id("event", e)) {
        Some(Err(e)) => Err(BookingError::validation("event", e.to_string())),
        _ => Ok(()),
    }
}

/// Which ticket a scan names, or why it names none.
enum Presented {
    Ticket(TicketRecord),
    WrongEvent(TicketRecord),
    Refused(CheckinResult),
}

impl Tickets {
    /// Sold and arrived tickets of an event, by gate and, for the last
    /// hour, by minute.
    pub async fn checkin_counts(&self, event: &str) -> Result<CheckinCounts> {
        let mut counts = self.db.tickets().checkin_counts(event).await?;
        let since = now() - Duration::hours(1);
        let mut per_minute: Vec<MinuteCount> = Vec::new();
        for at in self.db.tickets().arrivals_since(event, since).await? {
            let minute = at
                .duration_trunc(Duration::minutes(1))
                .map_err(BookingError::internal)?;
            match per_minute.last_mut() {
                Some(last) if last.minute == minute => last.arrived += 1,
                _ => per_minute.push(MinuteCount { minute, arrived: 1 }),
            }
        }
        counts.per_minute = per_minute;
        Ok(counts)
    }

    /// The ticket keys' JWKS (also published at `/.well-known/jwks.json`).
    pub fn ticket_jwks(&self) -> Value {
        self.tickets.jwks()
    }

    async fn presented(&self, text: &str, event: Option<&str>) -> Result<Presented> {
        let text = text.trim();
        let found = if text.contains('.') {
            match self.tickets.verify(text) {
                Err(fault) => {
                    return Ok(Presented::Refused(CheckinResult::invalid(fault.reason())))
                }
                Ok(claims) => {
                    if event.is_some_and(|e| e != claims.evt) {
                        // Signed by us for another event: say so without
                        // touching the database.
                        let mut r = CheckinResult::invalid("wrong_event");
                        r.result = "wrong_event";
                        r.ticket = Some(claims.jti);
                        r.event = Some(claims.evt);
                        r.seat = Some(claims.seat);
                        return Ok(Presented::Refused(r));
                    }
                    self.db.tickets().ticket(TicketKey::Id(&claims.jti)).await?
                }
            }
        } else {
            match normalize_reference(text) {
                Some(r) => self.db.tickets().ticket(TicketKey::Reference(&r)).await?,
                None => return Ok(Presented::Refused(CheckinResult::invalid("unknown_ticket"))),
            }
        };
        Ok(match found {
            None => Presented::Refused(CheckinResult::invalid("unknown_ticket")),
            Some(t) if event.is_some_and(|e| e != t.event_id) => Presented::WrongEvent(t),
            Some(t) => Presented::Ticket(t),
        })
    }

    /// Checks a ticket in at `gate`, recording the admission at `at`.
    async fn scan_at(
        &self,
        text: &str,
        gate: &str,
        event: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<CheckinResult> {
        let ticket = match self.presented(text, event).await? {
            Presented::Refused(r) => return Ok(r),
            Presented::WrongEvent(t) => {
                return Ok(CheckinResult::about(
                    "wrong_event",
                    Some("wrong_event".into()),
                    &t,
                ))
            }
            Presented::Ticket(t) => t,
        };
        let scan = Scan {
            ticket_id: ticket.id.clone(),
            gate: gate.to_owned(),
            at,
        };
        Ok(match self.db.tickets().check_in(&scan).await? {
            ScanOutcome::Admitted(t) => CheckinResult::about("valid", None, &t),
            ScanOutcome::Refused(None) => CheckinResult::invalid("unknown_ticket"),
            ScanOutcome::Refused(Some(t)) => match t.status.as_str() {
                "used" => CheckinResult::about("already_used", None, &t),
                "revoked" => CheckinResult::about("invalid", t.revoked_reason.clone(), &t),
                _ => CheckinResult::about("invalid", Some("not_admitted".into()), &t),
            },
        })
    }

    /// `POST /api/v1/checkin`.
    pub async fn check_in(&self, req: &CheckinRequest) -> Result<CheckinResult> {
        check_gate(&req.gate)?;
        check_event(req.event.as_deref())?;
        check_ticket("ticket", &req.ticket)?;
        self.scan_at(&req.ticket, &req.gate, req.event.as_deref(), now())
            .await
    }

    /// `POST /api/v1/checkin/sync`: applies scans made offline in order.
    /// Each is recorded at the scanner's time when that is plausible (not
    /// in the future, not older than two days), else at the server's.
    /// Re-sending a scan that was recorded (a lost answer) is not a
    /// conflict: the same gate and time come back as `valid`.
    pub async fn sync_scans(&self, req: &SyncRequest) -> Result<SyncResult> {
        check_gate(&req.gate)?;
        check_event(req.event.as_deref())?;
        if req.scans.len() > MAX_SYNC_SCANS {
            return Err(BookingError::validation(
                "scans",
                format!("at most {MAX_SYNC_SCANS} scans per sync"),
            ));
        }
        for s in &req.scans {
            check_ticket("scans.ticket", &s.ticket)?;
        }
        let mut results = Vec::with_capacity(req.scans.len());
        for s in &req.scans {
            let server = now();
            let plausible = s.scanned_at <= server
                && s.scanned_at > server - Duration::hours(OFFLINE_WINDOW_HOURS);
            let at = if plausible {
                // Millisecond precision survives every store, so a re-sent
                // scan compares equal to the recorded one.
                DateTime::from_timestamp_millis(s.scanned_at.timestamp_millis()).unwrap_or(server)
            } else {
                server
            };
            let mut result = self
                .scan_at(&s.ticket, &req.gate, req.event.as_deref(), at)
                .await?;
            let resent = result.result == "already_used"
                && result
                    .first_scan
                    .as_ref()
                    .is_some_and(|f| f.gate == req.gate && f.at == at);
            if resent {
                result.result = "valid";
            }
            results.push(SyncedScan {
                scanned_at: s.scanned_at,
                conflict: result.result != "valid",
                result,
            });
        }
        Ok(SyncResult {
            conflicts: results.iter().filter(|r| r.conflict).count(),
            results,
        })
    }

    /// What a scanner downloads to work offline.
    pub async fn offline_list(&self, event: &str) -> Result<OfflineList> {
        let tickets = self.db.tickets().event_tickets(event).await?;
        Ok(OfflineList {
            event: event.to_owned(),
            generated_at: now(),
            keys: self.ticket_jwks(),
            tickets: tickets
                .into_iter()
                .map(|t| OfflineTicket {
                    first_scan: first_scan(&t),
                    id: t.id,
                    reference: t.reference,
                    seat: t.seat,
                    status: t.status,
                })
                .collect(),
        })
    }
}
