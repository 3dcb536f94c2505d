//! The keys that sign tickets, and the compact JWS a ticket's QR code
//! carries.
//!
//! Ticket keys are Ed25519 keys of their own, published in the same JWKS as
//! the admission keys but marked `"purpose": "ticket"` (admission keys have
//! none), so neither kind of token verifies as the other. Unless configured
//! (`booking.ticket_keys`, the `kid:seed` format of the signing keys), each
//! is derived from one admission signing key with a labelled HMAC: every
//! process sharing the signing keys signs and verifies the same tickets,
//! and a ticket stays valid as long as the admission key it was derived
//! from is kept in the set.

use crate::config::Secret;
use crate::error::{BookingError, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, Header, Validation};
use queue::keys::{PublicKeySet, SigningKeys};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

/// The JOSE `typ` of a ticket.
pub const TICKET_TYP: &str = "wr-ticket";
/// Label of the seed derivation; a new label means new keys.
const DERIVE_LABEL: &[u8] = b"waitroom ticket key v1";
/// Longer input than any ticket we sign is refused unparsed.
const MAX_JWS_LEN: usize = 2048;

/// What a ticket's signature vouches for. Short names keep the QR small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClaims {
    /// The ticket id.
    pub jti: String,
    /// The event.
    pub evt: String,
    /// The seat or place, as the door shows it.
    pub seat: String,
    /// The holder: a hash of the buyer's email (never the email itself).
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Version: 1, then one more on each reissue.
    pub ver: i64,
}

/// Why a presented ticket text does not verify; `reason()` is what the
/// door sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketFault {
    /// Not a compact JWS of our claims.
    Malformed,
    /// An algorithm other than EdDSA.
    UnsupportedAlgorithm,
    /// Not `typ: wr-ticket` (an admission token, say).
    WrongType,
    /// A kid that is not one of our ticket keys.
    UnknownKey,
    /// Altered or forged.
    BadSignature,
}

impl TicketFault {
    /// Stable reason text.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::WrongType => "not_a_ticket",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
        }
    }
}

/// Signs and verifies tickets.
#[derive(Clone)]
pub struct TicketKeys {
    signing: SigningKeys,
    public: PublicKeySet,
    validation: Validation,
}

impl std::fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketKeys")
            .field("kids", &self.signing.kids().collect::<Vec<_>>())
            .finish()
    }
}

/// Ticket keys derived from admission signing keys, one per key, in the
/// same order (the first signs).
pub fn derive(admission: &SigningKeys) -> Result<SigningKeys> {
    let mut entries = Vec::new();
    for entry in admission.to_spec().split(',') {
        let (kid, seed) = entry
            .split_once(':')
            .ok_or_else(|| BookingError::internal("signing key spec without ':'"))?;
        let seed = B64
            .decode(seed.trim())
            .map_err(|_| BookingError::internal("signing key seed is not base64url"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&seed).map_err(BookingError::internal)?;
        mac.update(DERIVE_LABEL);
        let derived = mac.finalize().into_bytes();
        let kid: String = format!("tkt-{}", kid.trim()).chars().take(64).collect();
        entries.push(format!("{kid}:{}", B64.encode(derived)));
    }
    SigningKeys::parse(&entries.join(",")).map_err(BookingError::internal)
}

impl TicketKeys {
    /// Uses `keys`: the first signs, all verify.
    pub fn new(keys: SigningKeys) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Tickets do not expire by time: the database says whether one is
        // still good. Only the signature is checked here.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        Self {
            public: keys.public_keys(),
            signing: keys,
            validation,
        }
    }

    /// The configured keys, or fresh random ones (tests, a booking service
    /// built without the gateway).
    pub fn from_config(spec: Option<&Secret>) -> Result<Self> {
        let keys = match spec {
            Some(spec) => SigningKeys::parse(spec.expose())
                .map_err(|e| BookingError::internal(format!("ticket_keys: {e}")))?,
            None => SigningKeys::generate(),
        };
        Ok(Self::new(keys))
    }

    /// The public keys as JWKs marked `"purpose": "ticket"`, for the JWKS.
    pub fn jwks(&self) -> Value {
        let mut doc = self.signing.jwks();
        if let Some(keys) = doc.get_mut("keys").and_then(Value::as_array_mut) {
            for key in keys {
                key["purpose"] = Value::from("ticket");
            }
        }
        doc
    }

    /// The compact JWS of `claims`.
    pub fn sign(&self, claims: &TicketClaims) -> Result<String> {
        let (kid, key) = self.signing.encoding_key();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        header.typ = Some(TICKET_TYP.to_owned());
        jsonwebtoken::encode(&header, claims, key).map_err(BookingError::internal)
    }

    /// The claims of a ticket whose signature verifies with one of our
    /// ticket keys. The algorithm is ours to decide, never the token's.
    pub fn verify(&self, jws: &str) -> std::result::Result<TicketClaims, TicketFault> {
        #[derive(Deserialize)]
        struct RawHeader {
            alg: String,
            #[serde(default)]
            typ: Option<String>,
            #[serde(default)]
            kid: Option<String>,
            #[serde(default)]
            crit: Option<Value>,
        }
        if jws.len() > MAX_JWS_LEN {
            return Err(TicketFault::Malformed);
        }
        let header: RawHeader = jws
            .split_once('.')
            .and_then(|(h, _)| B64.decode(h).ok())
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or(TicketFault::Malformed)?;
        if header.alg != "EdDSA" {
            return Err(TicketFault::UnsupportedAlgorithm);
        }
        if header.typ.as_deref() != Some(TICKET_TYP) || header.crit.is_some() {
            return Err(TicketFault::WrongType);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.public.decoding_key(kid))
            .ok_or(TicketFault::UnknownKey)?;
        jsonwebtoken::decode::<TicketClaims>(jws, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TicketFault::BadSignature,
                _ => TicketFault::Malformed,
            })
    }
}
