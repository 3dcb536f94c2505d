//! Tickets: one per seat or general-admission place of a confirmed order,
//! signed (see `keys`) and drawn as a QR code (see `qr`); reissued when a
//! fan loses one; checked in once at the door (see `checkin`).

pub mod arrivals;
pub mod checkin;
pub mod keys;
pub mod pdf;
pub mod qr;
pub mod reminders;

pub use keys::{TicketClaims, TicketFault, TicketKeys, TICKET_TYP};

use crate::config::BookingConfig;
use crate::db::{Db, NewTicket, OrderDetail, TicketKey, TicketRecord};
use crate::error::{BookingError, Result};
use crate::payment::checkout::order_detail;
use crate::state::now;
use chrono::{DateTime, Utc};
use queue::api::ErrorCode;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::Notify;

/// Crockford's base32 alphabet: no I, L, O or U to misread at the door.
const REFERENCE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of randomness in a reference (50 bits).
const REFERENCE_CHARS: usize = 10;

fn ticket_id() -> String {
    format!("tkt_{}", uuid::Uuid::new_v4().simple())
}

/// `T-XXXXX-XXXXX`: short enough to read out, too many to guess.
fn reference() -> String {
    let mut rng = rand::thread_rng();
    let body: String = (0..REFERENCE_CHARS)
        .map(|_| REFERENCE_ALPHABET[rng.gen_range(0..REFERENCE_ALPHABET.len())] as char)
        .collect();
    format!("T-{}-{}", &body[..5], &body[5..])
}

/// A reference as typed at the door: case and separators do not matter.
pub fn normalize_reference(raw: &str) -> Option<String> {
    let body: String = raw
        .trim()
        .to_ascii_uppercase()
        .strip_prefix("T-")?
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .collect();
    let ok = body.len() == REFERENCE_CHARS && body.bytes().all(|b| REFERENCE_ALPHABET.contains(&b));
    ok.then(|| format!("T-{}-{}", &body[..5], &body[5..]))
}

/// The holder as the ticket names them: a hash of the email, so the QR
/// code does not carry it.
fn holder(email: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"waitroom ticket holder v1\0");
    h.update(email.as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// The places of an order, one per ticket: `(place, what the door shows)`.
fn places(detail: &OrderDetail) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in &detail.lines {
        match (line.seat_id, line.ga_pool_id) {
            (Some(seat), _) => out.push((format!("s:{seat}"), line.description.clone())),
            (None, Some(pool)) => {
                for n in 1..=line.quantity {
                    out.push((
                        format!("g:{pool}:{n}"),
                        format!("{} (place {n} of {})", line.description, line.quantity),
                    ));
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// The tickets service: signs, shows and reissues tickets, checks them in
/// at the door (`checkin`) and sends reminders (`reminders`).
#[derive(Clone)]
pub struct Tickets {
    pub(crate) config: Arc<BookingConfig>,
    pub(crate) db: Db,
    /// Signs and verifies tickets.
    pub(crate) tickets: TicketKeys,
    /// Wakes the email worker when an email is queued.
    pub(crate) mail_wakeup: Arc<Notify>,
}

impl Tickets {
    fn sign_ticket(
        &self,
        detail: &OrderDetail,
        place: String,
        seat: String,
        version: i64,
        at: DateTime<Utc>,
    ) -> Result<NewTicket> {
        let id = ticket_id();
        let jws = self.tickets.sign(&TicketClaims {
            jti: id.clone(),
            evt: detail.order.event_id.clone(),
            seat: seat.clone(),
            sub: holder(&detail.order.email),
            iat: at.timestamp(),
            ver: version,
        })?;
        Ok(NewTicket {
            id,
            reference: reference(),
            place,
            seat,
            version,
            jws,
            issued_at: at,
        })
    }

    /// The tickets an order gets when it is confirmed, signed now; stored
    /// only if the confirmation happens.
    pub(crate) fn mint_tickets(&self, detail: &OrderDetail) -> Result<Vec<NewTicket>> {
        let at = now();
        places(detail)
            .into_iter()
            .map(|(place, seat)| self.sign_ticket(detail, place, seat, 1, at))
            .collect()
    }

    /// A ticket by id; the id is the fan's capability (it is in the QR
    /// code and the emailed links), so it is enough to see the ticket.
    pub async fn ticket(&self, id: &str) -> Result<TicketRecord> {
        self.db
            .tickets()
            .ticket(TicketKey::Id(id))
            .await?
            .ok_or(BookingError::NotFound("ticket"))
    }

    /// A ticket whose QR code may be shown: not revoked.
    pub async fn live_ticket(&self, id: &str) -> Result<TicketRecord> {
        let t = self.ticket(id).await?;
        if t.status == "revoked" {
            return Err(BookingError::Conflict {
                code: ErrorCode::Conflict,
                message: format!(
                    "this ticket was revoked ({})",
                    t.revoked_reason.as_deref().unwrap_or("revoked")
                ),
            });
        }
        Ok(t)
    }

    /// Replaces a lost ticket: the old one is revoked (its QR code scans
    /// INVALID) and a new one for the same place is issued, in one
    /// transaction. A used or revoked ticket cannot be reissued (409).
    pub async fn reissue_ticket(&self, id: &str) -> Result<TicketRecord> {
        let old = self.live_ticket(id).await?;
        if old.status == "used" {
            return Err(BookingError::Conflict {
                code: ErrorCode::Conflict,
                message: "this ticket was already used at the door".to_owned(),
            });
        }
        let detail = order_detail(&self.db, &old.order_id).await?;
        // The place is copied from the old row by the repository.
        let new = self.sign_ticket(
            &detail,
            String::new(),
            old.seat.clone(),
            old.version + 1,
            now(),
        )?;
        self.db
            .tickets()
            .reissue(id, old.version, &new)
            .await?
            .ok_or_else(|| BookingError::Conflict {
                code: ErrorCode::Conflict,
                message: "this ticket was used or reissued meanwhile".to_owned(),
            })
    }
}
