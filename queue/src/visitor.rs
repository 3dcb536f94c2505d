//! The visitor credential (`queue_token`): who the fan is in which queue,
//! plus a random session secret.
//!
//! The browser keeps it in an HttpOnly cookie; non-browser clients send it as
//! `X-Queue-Token`. The queue checks its MAC on every join, poll and socket.
//! The admission token carries only `sha256(secret)` (`cnf.sst`), so a
//! stolen admission token is useless without the cookie that holds the
//! secret.
//!
//! Once the fan has a ticket the credential also carries the place claim
//! (`ticket`): MACed with the event and visitor, it proves the place to any
//! process even if the queue store has lost it. A claim that disagrees
//! with the store (an old credential from before a reissue) is refused.
//!
//! Wire format: `v1.<kid>.<payload>.<mac>`, where `payload` is base64url
//! JSON and `mac` is base64url HMAC-SHA256 over `v1.<kid>.<payload>` with
//! the key derived from signing key `kid` ([`SigningKeys::mac_key_for`]).
//! Every character is URL- and cookie-safe.

use crate::ids::{EventId, VisitorId};
use crate::keys::{SigningKeys, B64};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// Longer input is refused before any parsing; ours are under 400 bytes.
pub const MAX_CREDENTIAL_LEN: usize = 512;

const VERSION: &str = "v1";

/// A fan's place-holding credential for one event.
#[derive(Clone, PartialEq, Eq)]
pub struct VisitorCredential {
    /// The event whose queue this credential belongs to.
    pub event: EventId,
    /// The visitor, i.e. the place in that queue.
    pub visitor: VisitorId,
    /// Random per-session secret; only the fan's cookie holds it.
    pub secret: [u8; 32],
    /// When it was issued (Unix seconds), for audits and age limits.
    pub issued_at: u64,
    /// The place claim: the ticket this visitor held when the credential
    /// was (re)issued; `None` before the first ticket (or in pre-queue).
    pub ticket: Option<u64>,
}

impl VisitorCredential {
    /// A credential with a fresh random secret, issued now.
    pub fn new(event: EventId, visitor: VisitorId) -> Self {
        // The thread's CSPRNG (ChaCha, reseeded from the OS) rather than a
        // system call per credential: every new place mints one.
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Self {
            event,
            visitor,
            secret,
            issued_at: crate::admission::unix_now(),
            ticket: None,
        }
    }

    /// `base64url(sha256(secret))`: what the admission token's `cnf.sst`
    /// binds to.
    pub fn session_hash(&self) -> String {
        session_hash_of(&self.secret)
    }
}

impl fmt::Debug for VisitorCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VisitorCredential")
            .field("event", &self.event)
            .field("visitor", &self.visitor)
            .field("secret", &"[redacted]")
            .field("issued_at", &self.issued_at)
            .field("ticket", &self.ticket)
            .finish()
    }
}

fn session_hash_of(secret: &[u8]) -> String {
    B64.encode(Sha256::digest(secret))
}

/// Why a credential was refused. Each has a stable [`code`](Self::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Longer than [`MAX_CREDENTIAL_LEN`]; not even parsed.
    #[error("queue credential is too long")]
    TooLong,
    /// Not of the form `v1.<kid>.<payload>.<mac>`, or the payload is invalid.
    #[error("queue credential is malformed")]
    Malformed,
    /// Made with a key this node does not have (rotated out, or forged).
    #[error("queue credential was made with an unknown key")]
    UnknownKey,
    /// The MAC does not match: tampered with or forged.
    #[error("queue credential is invalid")]
    BadMac,
    /// Genuine, but for another event's queue.
    #[error("queue credential belongs to another event")]
    WrongEvent,
    /// Genuine, but its place claim names a ticket this visitor no longer
    /// holds (an old credential from before a reissue, or a replay).
    #[error("queue credential names a place this visitor no longer holds")]
    StaleClaim,
}

impl CredentialError {
    /// Its code as sent in error bodies.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// Its code in the error table.
    pub fn error_code(&self) -> crate::api::ErrorCode {
        use crate::api::ErrorCode as C;
        match self {
            Self::TooLong => C::CredentialTooLong,
            Self::Malformed => C::CredentialMalformed,
            Self::UnknownKey => C::CredentialUnknownKey,
            Self::BadMac | Self::StaleClaim => C::CredentialInvalid,
            Self::WrongEvent => C::CredentialWrongEvent,
        }
    }
}

/// The JSON inside the credential; short names keep the cookie small.
// Serialize only for the test that holds `payload_json` to serde's output.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
struct Payload {
    e: EventId,
    v: VisitorId,
    /// The secret, base64url.
    s: String,
    t: u64,
    /// The place claim (ticket); absent before the first ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<u64>,
}

/// The dotted parts of a credential, split without checking anything but
/// the shape.
struct Parts<'a> {
    /// `v1.<kid>.<payload>`: what the MAC covers.
    signed: &'a str,
    kid: &'a str,
    payload: &'a str,
    mac: &'a str,
}

fn split(token: &str) -> Option<Parts<'_>> {
    if token.len() > MAX_CREDENTIAL_LEN {
        return None;
    }
    let (signed, mac) = token.rsplit_once('.')?;
    // kids may contain '.', payload and MAC (base64url) cannot.
    let (head, payload) = signed.rsplit_once('.')?;
    let kid = head.strip_prefix(VERSION)?.strip_prefix('.')?;
    Some(Parts {
        signed,
        kid,
        payload,
        mac,
    })
}

/// The payload's JSON, as serde would write [`Payload`], written directly:
/// every value is a slug id, base64url or a number, so nothing needs
/// escaping, and a join writes one.
fn payload_json(c: &VisitorCredential) -> Vec<u8> {
    let mut json = Vec::with_capacity(160);
    for piece in [
        r#"{"e":""#,
        c.event.as_str(),
        r#"","v":""#,
        c.visitor.as_str(),
    ] {
        json.extend_from_slice(piece.as_bytes());
    }
    json.extend_from_slice(br#"","s":""#);
    push_b64(&mut json, &c.secret);
    json.extend_from_slice(br#"","t":"#);
    json.extend_from_slice(itoa::Buffer::new().format(c.issued_at).as_bytes());
    if let Some(ticket) = c.ticket {
        json.extend_from_slice(br#","k":"#);
        json.extend_from_slice(itoa::Buffer::new().format(ticket).as_bytes());
    }
    json.push(b'}');
    json
}

/// Appends `bytes` in base64url without padding.
fn push_b64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    let len = base64::encoded_len(bytes.len(), false).expect("a short input");
    out.resize(start + len, 0);
    let written = B64
        .encode_slice(bytes, &mut out[start..])
        .expect("sized by encoded_len");
    out.truncate(start + written);
}

fn parse_payload(payload: &str) -> Option<VisitorCredential> {
    let json = B64.decode(payload).ok()?;
    let p: Payload = serde_json::from_slice(&json).ok()?;
    let secret = B64.decode(&p.s).ok()?.try_into().ok()?;
    Some(VisitorCredential {
        event: p.e,
        visitor: p.v,
        secret,
        issued_at: p.t,
        ticket: p.k,
    })
}

/// Encodes and checks visitor credentials with MAC keys derived from the
/// signing keys; the first key's MAC key signs, any key's verifies.
#[derive(Clone)]
pub struct CredentialCodec {
    /// `(kid, HMAC keyed with that kid's MAC key)`, signing key first,
    /// never empty.
    /// Keyed once here; each use clones the keyed state.
    macs: Vec<(String, Hmac<Sha256>)>,
}

impl CredentialCodec {
    /// Takes the MAC keys of every signing key.
    pub fn new(keys: &SigningKeys) -> Self {
        let macs = keys
            .mac_keys()
            .map(|(kid, key)| {
                let mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
                (kid.to_owned(), mac)
            })
            .collect();
        Self { macs }
    }

    /// The opaque, URL- and cookie-safe text form, MACed with the signing
    /// key.
    pub fn encode(&self, credential: &VisitorCredential) -> String {
        // `SigningKeys` is never empty, so neither is `macs`.
        let (kid, mac) = &self.macs[0];
        // Built in one buffer: every new place encodes one.
        let mut token = Vec::with_capacity(MAX_CREDENTIAL_LEN);
        for piece in [VERSION, ".", kid, "."] {
            token.extend_from_slice(piece.as_bytes());
        }
        push_b64(&mut token, &payload_json(credential));
        let mut mac = mac.clone();
        mac.update(&token);
        token.push(b'.');
        push_b64(&mut token, &mac.finalize().into_bytes());
        String::from_utf8(token).expect("a kid, '.' and base64url are UTF-8")
    }

    /// Checks the MAC (in constant time) and that the credential belongs to
    /// `expected_event`.
    pub fn decode(
        &self,
        token: &str,
        expected_event: &EventId,
    ) -> Result<VisitorCredential, CredentialError> {
        if token.len() > MAX_CREDENTIAL_LEN {
            return Err(CredentialError::TooLong);
        }
        let parts = split(token).ok_or(CredentialError::Malformed)?;
        let (_, mac) = self
            .macs
            .iter()
            .find(|(kid, _)| kid == parts.kid)
            .ok_or(CredentialError::UnknownKey)?;
        let tag = B64
            .decode(parts.mac)
            .map_err(|_| CredentialError::Malformed)?;
        let mut mac = mac.clone();
        mac.update(parts.signed.as_bytes());
        mac.verify_slice(&tag)
            .map_err(|_| CredentialError::BadMac)?;
        let credential = parse_payload(parts.payload).ok_or(CredentialError::Malformed)?;
        if credential.event != *expected_event {
            return Err(CredentialError::WrongEvent);
        }
        Ok(credential)
    }
}

impl fmt::Debug for CredentialCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.macs.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("CredentialCodec")
            .field("kids", &kids)
            .finish()
    }
}

/// Reads `(event, visitor, session hash)` from a credential WITHOUT checking
/// its MAC.
///
/// For a booking service that holds only the public keys: it compares the
/// session hash with the admission token's `cnf.sst`, and a match proves the
/// caller holds the secret, whatever else the credential claims. Never use
/// the result as proof of identity on its own.
pub fn session_hash_unverified(token: &str) -> Option<(String, String, String)> {
    let credential = parse_payload(split(token)?.payload)?;
    Some((
        credential.event.into(),
        credential.visitor.into(),
        session_hash_of(&credential.secret),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The payload written by hand is byte for byte what serde writes, with
    /// and without a ticket, so either side of a rolling upgrade reads it.
    #[test]
    fn the_payload_is_what_serde_would_write() {
        for ticket in [None, Some(0), Some(u64::MAX)] {
            let c = VisitorCredential {
                event: EventId::parse("Sale_2026-final").expect("event"),
                visitor: VisitorId::random(),
                secret: [0xfb; 32],
                issued_at: 1_796_285_084,
                ticket,
            };
            let serde = serde_json::to_vec(&Payload {
                e: c.event.clone(),
                v: c.visitor.clone(),
                s: B64.encode(c.secret),
                t: c.issued_at,
                k: c.ticket,
            })
            .expect("serialize");
            assert_eq!(
                String::from_utf8_lossy(&payload_json(&c)),
                String::from_utf8_lossy(&serde)
            );
            let parsed = parse_payload(&B64.encode(payload_json(&c))).expect("parses");
            assert!(parsed == c, "round trip");
        }
    }
}
