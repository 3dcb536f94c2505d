//! Shared by the credential tests (`keys.rs`, `tokens.rs`): fixed keys,
//! ids and times, and helpers to issue, verify and take tokens apart.
// Each test crate uses a different subset.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use queue::admission::{AdmissionClaims, AdmissionIssuer, AdmissionVerifier, TokenError};
use queue::keys::SigningKeys;
use queue::{EventId, VisitorId};
use serde_json::Value;
use std::sync::Arc;

pub const ISS: &str = "https://queue.example";
pub const AUD: &str = "booking";
/// A fixed "now" (Unix seconds); tokens are issued around it.
pub const NOW: u64 = 1_900_000_000;

pub fn seed(byte: u8) -> String {
    B64.encode([byte; 32])
}

pub fn keys(spec: &str) -> Arc<SigningKeys> {
    Arc::new(SigningKeys::parse(spec).expect("valid spec"))
}

pub fn event() -> EventId {
    EventId::parse("evt-1").expect("event id")
}

pub fn visitor() -> VisitorId {
    VisitorId::parse("visitor-1").expect("visitor id")
}

/// A token admitted a minute before `NOW`, valid for ten minutes.
pub fn issue(keys: &Arc<SigningKeys>, session: &str) -> String {
    AdmissionIssuer::new(keys.clone(), ISS.into(), AUD.into())
        .issue(
            &event(),
            &visitor(),
            7,
            (NOW - 60) * 1000,
            (NOW + 540) * 1000,
            session,
        )
        .expect("issue")
}

pub fn verifier(keys: &SigningKeys) -> AdmissionVerifier {
    AdmissionVerifier::new(keys.public_keys(), ISS.into(), AUD.into())
}

pub fn check(v: &AdmissionVerifier, token: &str) -> Result<AdmissionClaims, TokenError> {
    v.verify_at(token, &event(), "sess", NOW)
}

pub fn segment(value: &Value) -> String {
    B64.encode(serde_json::to_vec(value).expect("json"))
}

pub fn claims_json(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&B64.decode(payload).expect("b64")).expect("claims")
}
