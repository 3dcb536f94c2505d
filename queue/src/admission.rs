//! The admission token (README, "Admission tokens"): an Ed25519 JWT that lets an admitted
//! fan hold seats, bound to the fan's session.
//!
//! The queue issues it ([`AdmissionIssuer`]) and re-issues the same token
//! identity (same `jti`) on every status poll. The booking service checks it
//! locally ([`AdmissionVerifier`]) with only the published keys and consumes
//! the `jti` once when it places the first hold.

use crate::ids::{EventId, VisitorId};
use crate::keys::{PublicKeySet, SigningKeys, B64};
use crate::visitor::session_hash_unverified;
use base64::Engine;
use ed25519_dalek::Signature;
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Tokens longer than this are refused unparsed; ours are about 500 bytes.
pub const MAX_TOKEN_LEN: usize = 4096;

/// Seconds since the Unix epoch. A clock before 1970 counts as 0, which
/// makes every token look expired rather than valid forever.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The claims of an admission token. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionClaims {
    /// Who issued it (the queue's public URL or name).
    pub iss: String,
    /// Who may accept it (the booking service).
    pub aud: String,
    /// The admitted visitor.
    pub sub: VisitorId,
    /// The event the fan was admitted to.
    pub evt: EventId,
    /// When the fan was admitted.
    pub iat: u64,
    /// Same as `iat`: the token is not valid before the admission.
    pub nbf: u64,
    /// When the admitted session ends.
    pub exp: u64,
    /// Deterministic per admission, see [`jti`]; booking consumes it once.
    pub jti: String,
    /// The session binding.
    pub cnf: Confirmation,
    /// Present (`true`) on a waitlist offer: `exp` is when the offer
    /// passes to the next fan, and a late hold answers `offer_expired`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offer: bool,
}

/// Proof-of-possession binding (in the spirit of RFC 7800 `cnf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// Session secret hash: `base64url(sha256(secret))` of the visitor
    /// credential the token was issued to.
    pub sst: String,
}

/// Why a token was refused or could not be made. Each has a stable
/// [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, or claims of the wrong shape.
    #[error("admission token is malformed")]
    Malformed,
    /// The header names an algorithm other than EdDSA (`none`, HS256, …).
    #[error("admission token algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// No `kid`, or one we do not have (rotated out, or forged).
    #[error("admission token was signed with an unknown key")]
    UnknownKey,
    /// The signature does not match header and claims.
    #[error("admission token signature is invalid")]
    BadSignature,
    /// Past `exp` (plus leeway).
    #[error("admission token has expired")]
    Expired,
    /// A waitlist offer past its `exp` (plus leeway).
    #[error("your waitlist offer expired and passed to the next fan; go back to the waiting room to rejoin the waitlist for the next seat that comes back")]
    OfferExpired,
    /// Before `nbf` (minus leeway).
    #[error("admission token is not valid yet")]
    NotYetValid,
    /// `iss` is not our issuer.
    #[error("admission token has the wrong issuer")]
    WrongIssuer,
    /// `aud` is not this service.
    #[error("admission token is for another audience")]
    WrongAudience,
    /// `evt` is another event.
    #[error("admission token is for another event")]
    WrongEvent,
    /// Presented by a session other than the one it was issued to.
    #[error("admission token belongs to another session")]
    WrongSession,
    /// Issuing failed on our side.
    #[error("cannot sign admission token: {0}")]
    Signing(String),
}

impl TokenError {
    /// Its code as sent in error bodies.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// Its code in the error table (a signing failure is ours: internal).
    pub fn error_code(&self) -> crate::api::ErrorCode {
        use crate::api::ErrorCode as C;
        match self {
            Self::Malformed => C::TokenMalformed,
            Self::UnsupportedAlgorithm => C::TokenUnsupportedAlgorithm,
            Self::UnknownKey => C::TokenUnknownKey,
            Self::BadSignature => C::TokenBadSignature,
            Self::Expired => C::TokenExpired,
            Self::OfferExpired => C::OfferExpired,
            Self::NotYetValid => C::TokenNotYetValid,
            Self::WrongIssuer => C::TokenWrongIssuer,
            Self::WrongAudience => C::TokenWrongAudience,
            Self::WrongEvent => C::TokenWrongEvent,
            Self::WrongSession => C::TokenWrongSession,
            Self::Signing(_) => C::Internal,
        }
    }

    /// `true` when the presented token is at fault (answer 401/403), `false`
    /// for our own failures (answer 500 and log).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Signing(_))
    }
}

/// The `jti` of the admission of `visitor` with `ticket` to `event`: the
/// first 128 bits of a labelled SHA-256, so every re-issue of the token
/// carries the same `jti` and booking can consume it exactly once. Ids are
/// slugs without NUL, so the NUL-separated input is unambiguous.
pub fn jti(event: &EventId, visitor: &VisitorId, ticket: u64) -> String {
    let mut h = Sha256::new();
    h.update(b"waitroom admission jti v1\0");
    h.update(event.as_str());
    h.update(b"\0");
    h.update(visitor.as_str());
    h.update(b"\0");
    h.update(ticket.to_be_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Signs admission tokens with the first signing key.
#[derive(Debug, Clone)]
pub struct AdmissionIssuer {
    keys: Arc<SigningKeys>,
    issuer: String,
    audience: String,
}

impl AdmissionIssuer {
    /// `issuer` and `audience` must match what the verifier expects.
    pub fn new(keys: Arc<SigningKeys>, issuer: String, audience: String) -> Self {
        Self {
            keys,
            issuer,
            audience,
        }
    }

    /// The token for an admission. Times are the store's milliseconds,
    /// truncated to seconds (so the token never outlives the session).
    pub fn issue(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        ticket: u64,
        admitted_at_ms: u64,
        expires_at_ms: u64,
        session_hash: &str,
    ) -> Result<String, TokenError> {
        self.issue_with(
            event,
            visitor,
            ticket,
            admitted_at_ms,
            expires_at_ms,
            session_hash,
            false,
        )
    }

    /// [`issue`](Self::issue), marking a waitlist offer when `offer`.
    // One argument per claim, like `issue`.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_with(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        ticket: u64,
        admitted_at_ms: u64,
        expires_at_ms: u64,
        session_hash: &str,
        offer: bool,
    ) -> Result<String, TokenError> {
        let (kid, key) = self.keys.encoding_key();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        let iat = admitted_at_ms / 1000;
        let claims = AdmissionClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: visitor.clone(),
            evt: event.clone(),
            iat,
            nbf: iat,
            exp: expires_at_ms / 1000,
            jti: jti(event, visitor, ticket),
            cnf: Confirmation {
                sst: session_hash.to_owned(),
            },
            offer,
        };
        jsonwebtoken::encode(&header, &claims, key).map_err(|e| TokenError::Signing(e.to_string()))
    }
}

/// The part of the header we look at before choosing a key.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Checks admission tokens locally (no network) against a key set.
#[derive(Debug, Clone)]
pub struct AdmissionVerifier {
    keys: PublicKeySet,
    issuer: String,
    audience: String,
    leeway: u64,
}

impl AdmissionVerifier {
    /// Accepts tokens from `issuer` for `audience`, with 5 s clock leeway.
    pub fn new(keys: PublicKeySet, issuer: String, audience: String) -> Self {
        Self {
            keys,
            issuer,
            audience,
            leeway: 5,
        }
    }

    /// Tolerated clock difference between issuer and verifier, applied to
    /// `exp` and `nbf`.
    pub fn with_leeway_seconds(mut self, leeway: u64) -> Self {
        self.leeway = leeway;
        self
    }

    /// Verifies `token` for `event`, presented by the session whose hash is
    /// `session_hash`, at the current time.
    pub fn verify(
        &self,
        token: &str,
        event: &EventId,
        session_hash: &str,
    ) -> Result<AdmissionClaims, TokenError> {
        self.verify_at(token, event, session_hash, unix_now())
    }

    /// [`verify`](Self::verify) at `now` (Unix seconds), for tests and
    /// callers with their own clock.
    pub fn verify_at(
        &self,
        token: &str,
        event: &EventId,
        session_hash: &str,
        now: u64,
    ) -> Result<AdmissionClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        // Header, claims and signature: exactly three segments, the
        // signature over the first two as sent.
        let (message, signature_b64) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header_b64, claims_b64) = message.split_once('.').ok_or(TokenError::Malformed)?;
        if claims_b64.contains('.') {
            return Err(TokenError::Malformed);
        }
        let header: RawHeader = B64
            .decode(header_b64)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or(TokenError::Malformed)?;
        // Decide the algorithm from our policy, never from the token, and
        // before touching any key: this stops `none` and alg confusion.
        if header.alg != "EdDSA" {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        // We understand no critical extensions, so must refuse any (RFC 7515).
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.verifying_key(kid))
            .ok_or(TokenError::UnknownKey)?;
        // The key parsed once, when the set was built, and the header and
        // claims parsed once each: `jsonwebtoken::decode` rebuilt the key
        // (a point decompression) and parsed both twice per token: about
        // 10 of 50-60 us per token in `hold_bench`. The signature is checked
        // before any claim is read, strictly (RFC 8032's canonical `S` and
        // no weak keys), which every signature our signer makes passes.
        let signature = B64
            .decode(signature_b64)
            .map_err(|_| TokenError::Malformed)?;
        let signature = Signature::from_slice(&signature).map_err(|_| TokenError::BadSignature)?;
        key.verify_strict(message.as_bytes(), &signature)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: AdmissionClaims = B64
            .decode(claims_b64)
            .ok()
            .and_then(|c| serde_json::from_slice(&c).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        if claims.evt != *event {
            return Err(TokenError::WrongEvent);
        }
        if now >= claims.exp.saturating_add(self.leeway) {
            return Err(if claims.offer {
                TokenError::OfferExpired
            } else {
                TokenError::Expired
            });
        }
        if claims.nbf > now.saturating_add(self.leeway) {
            return Err(TokenError::NotYetValid);
        }
        let same_session = claims.cnf.sst.as_bytes().ct_eq(session_hash.as_bytes());
        if !bool::from(same_session) {
            return Err(TokenError::WrongSession);
        }
        Ok(claims)
    }

    /// Verifies `token` presented together with the visitor credential
    /// `queue_token` (cookie or `X-Queue-Token`). The credential's MAC is not
    /// checked (a booking service has no MAC key): matching its session hash
    /// proves possession of the secret. A credential that is unreadable, for
    /// another event or for another visitor is [`TokenError::WrongSession`].
    pub fn verify_with_credential(
        &self,
        token: &str,
        event: &EventId,
        queue_token: &str,
    ) -> Result<AdmissionClaims, TokenError> {
        let (cred_event, cred_visitor, session_hash) =
            session_hash_unverified(queue_token).ok_or(TokenError::WrongSession)?;
        let claims = self.verify(token, event, &session_hash)?;
        if cred_event != event.as_str() || cred_visitor != claims.sub.as_str() {
            return Err(TokenError::WrongSession);
        }
        Ok(claims)
    }
}
