//! The built-in proof of work.
//!
//! The server issues `challenge = "wr1.<event>.<difficulty>.<expires_at>.<salt>"`
//! with `signature = HMAC-SHA256(key, challenge)`; nothing is stored. The
//! page finds a decimal `nonce` such that `SHA-256(challenge ‖ nonce)` starts
//! with `difficulty` zero bits and sends back challenge, signature and
//! nonce. Verifying costs one HMAC and one hash; only a correct, unexpired
//! solution reaches the replay guard (memory, or `SET NX` in Redis), which
//! lets each challenge be used once.
//!
//! Difficulty is a setting and rises by one bit for every doubling of this
//! process's join attempts above `pow_surge_joins_per_second`, up to
//! `pow_max_difficulty`: a flood makes every further attempt dearer. A
//! solution must meet the difficulty in force when it is checked (less
//! [`MARGIN_BITS`], so a fan who was solving as the surge began is not sent
//! back), and challenges issued under a surge live shorter: challenges
//! stockpiled before or early in a flood do not stay cheap.

use super::{CaptchaVerifier, Verdict};
use crate::edge::places::ReplayGuard;
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use queue::{EventId, SigningKeys};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The version tag at the start of every challenge.
const TAG: &str = "wr1";
/// Nonces are short decimal (or alphanumeric) strings; longer is abuse.
const MAX_NONCE: usize = 32;
/// The join rate is measured over this many seconds.
const RATE_WINDOW_S: u64 = 10;
/// How far below the difficulty in force a solution may be (one bit: half
/// the expected work).
pub const MARGIN_BITS: u8 = 1;
/// The shortest lifetime a challenge gets under a surge.
const MIN_SURGE_TTL: Duration = Duration::from_secs(20);

/// A challenge as sent to the page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Challenge {
    /// Always `sha256`.
    pub algorithm: String,
    /// What to hash, with the nonce appended.
    pub challenge: String,
    /// The random part (also the challenge's id for replay protection).
    pub salt: String,
    /// Leading zero bits the hash must have.
    pub difficulty: u8,
    /// Milliseconds since the epoch after which the challenge is refused.
    pub expires_at: u64,
    /// base64url HMAC-SHA256 of `challenge`.
    pub signature: String,
}

/// A solution as the page sends it back (extra fields are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Solution {
    /// The challenge, as issued.
    pub challenge: String,
    /// Its signature, as issued.
    pub signature: String,
    /// The nonce found.
    pub nonce: String,
}

/// The proof-of-work verifier.
pub struct Pow {
    /// One keyed MAC per signing key; the first signs, all verify, so a key
    /// rotation does not void challenges in flight.
    macs: Vec<Hmac<Sha256>>,
    base: u8,
    max: u8,
    surge: u32,
    ttl: Duration,
    replay: Arc<dyn ReplayGuard>,
    /// (second, attempts in that second) over the rate window.
    attempts: Mutex<VecDeque<(u64, u32)>>,
}

impl std::fmt::Debug for Pow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pow")
            .field("base", &self.base)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// Difficulty settings of [`Pow`].
#[derive(Debug, Clone, Copy)]
pub struct PowConfig {
    /// Leading zero bits at normal load.
    pub difficulty: u8,
    /// Ceiling under load.
    pub max_difficulty: u8,
    /// Attempts per second above which difficulty rises; 0 = never.
    pub surge_per_second: u32,
    /// Lifetime of a challenge.
    pub ttl: Duration,
}

impl Pow {
    /// A verifier keyed from the signing keys (shared by every process
    /// that shares the keys).
    pub fn new(keys: &SigningKeys, config: PowConfig, replay: Arc<dyn ReplayGuard>) -> Self {
        let macs = keys
            .kids()
            .filter_map(|kid| keys.mac_key_for(kid))
            .filter_map(|k| {
                // A key of its own, derived so a challenge signature can never
                // be mistaken for a visitor credential's MAC.
                let mut d = Hmac::<Sha256>::new_from_slice(k).ok()?;
                d.update(b"waitroom edge proof-of-work v1");
                Hmac::<Sha256>::new_from_slice(&d.finalize().into_bytes()).ok()
            })
            .collect();
        let base = config.difficulty.min(64);
        Self {
            macs,
            base,
            max: config.max_difficulty.clamp(base, 64),
            surge: config.surge_per_second,
            ttl: config.ttl.max(Duration::from_secs(10)),
            replay,
            attempts: Mutex::new(VecDeque::new()),
        }
    }

    /// Join attempts per second over the window.
    fn rate(&self) -> f64 {
        let now = queue::engine::now_ms() / 1000;
        let mut a = self.lock();
        while a.front().is_some_and(|(s, _)| s + RATE_WINDOW_S <= now) {
            a.pop_front();
        }
        a.iter().map(|(_, n)| f64::from(*n)).sum::<f64>() / RATE_WINDOW_S as f64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, u32)>> {
        self.attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The difficulty new challenges get now.
    pub fn difficulty(&self) -> u8 {
        if self.surge == 0 {
            return self.base;
        }
        let ratio = self.rate() / f64::from(self.surge);
        if ratio <= 1.0 {
            return self.base;
        }
        let extra = ratio.log2().ceil().clamp(0.0, 64.0) as u8;
        self.base.saturating_add(extra).min(self.max)
    }

    /// A fresh signed challenge for `event`. Each bit of surge above the
    /// base divides its lifetime: a flood's challenges expire sooner.
    pub fn issue(&self, event: &EventId) -> Challenge {
        let difficulty = self.difficulty();
        let extra = u32::from(difficulty - self.base.min(difficulty));
        let ttl = if extra == 0 {
            self.ttl
        } else {
            (self.ttl / (1 + extra)).max(MIN_SURGE_TTL.min(self.ttl))
        };
        let expires_at = queue::engine::now_ms() + ttl.as_millis() as u64;
        self.issue_with(event, difficulty, expires_at)
    }

    /// A signed challenge with the given difficulty and expiry, as any
    /// process holding the same signing keys would issue it (tests and the
    /// bot benchmark use it to make expired or too-easy challenges).
    pub fn issue_with(&self, event: &EventId, difficulty: u8, expires_at: u64) -> Challenge {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt = B64.encode(salt);
        let challenge = format!("{TAG}.{event}.{difficulty}.{expires_at}.{salt}");
        let signature = self.sign(&challenge);
        Challenge {
            algorithm: "sha256".to_owned(),
            challenge,
            salt,
            difficulty,
            expires_at,
            signature,
        }
    }

    fn sign(&self, challenge: &str) -> String {
        match self.macs.first() {
            Some(mac) => {
                let mut mac = mac.clone();
                mac.update(challenge.as_bytes());
                B64.encode(mac.finalize().into_bytes())
            }
            None => String::new(),
        }
    }

    fn signed(&self, challenge: &str, signature: &str) -> bool {
        let Ok(tag) = B64.decode(signature) else {
            return false;
        };
        self.macs.iter().any(|mac| {
            let mut mac = mac.clone();
            mac.update(challenge.as_bytes());
            mac.verify_slice(&tag).is_ok()
        })
    }

    /// Checks a solution for `event`; `Err` names why it failed.
    pub async fn check(&self, event: &EventId, s: &Solution) -> Result<(), &'static str> {
        if s.nonce.is_empty()
            || s.nonce.len() > MAX_NONCE
            || !s.nonce.bytes().all(|b| b.is_ascii_alphanumeric())
            || s.challenge.len() > 200
        {
            return Err("malformed");
        }
        if !self.signed(&s.challenge, &s.signature) {
            return Err("forged");
        }
        // Signed by us, so well-formed; parse defensively all the same.
        let mut parts = s.challenge.split('.');
        let (Some(TAG), Some(evt), Some(d), Some(exp), Some(salt), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err("malformed");
        };
        let (Ok(difficulty), Ok(expires_at)) = (d.parse::<u32>(), exp.parse::<u64>()) else {
            return Err("malformed");
        };
        if evt != event.as_str() {
            return Err("wrong_event");
        }
        let now = queue::engine::now_ms();
        if expires_at <= now {
            return Err("expired");
        }
        if difficulty < u32::from(self.difficulty().saturating_sub(MARGIN_BITS)) {
            // Issued under an easier setting, or before a surge raised it.
            return Err("too_easy");
        }
        let digest = Sha256::new()
            .chain_update(s.challenge.as_bytes())
            .chain_update(s.nonce.as_bytes())
            .finalize();
        if leading_zero_bits(&digest) < difficulty {
            return Err("unsolved");
        }
        let ttl = Duration::from_millis(expires_at - now + 1_000);
        match self.replay.first_use(event, salt, ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err("replayed"),
            Err(e) => {
                tracing::warn!(error = %e, "replay guard unreachable; refusing the solution");
                Err("unavailable")
            }
        }
    }
}

/// Zero bits at the start of `digest`.
pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut n = 0;
    for b in digest {
        if *b == 0 {
            n += 8;
        } else {
            n += b.leading_zeros();
            break;
        }
    }
    n
}

/// Finds a nonce for `challenge` (what the page's worker does; used by
/// tests and the bot benchmark). Returns the nonce and the hashes tried.
pub fn solve(challenge: &str, difficulty: u8) -> (String, u64) {
    let prefix = Sha256::new().chain_update(challenge.as_bytes());
    let mut n: u64 = 0;
    loop {
        let nonce = n.to_string();
        let d = prefix.clone().chain_update(nonce.as_bytes()).finalize();
        if leading_zero_bits(&d) >= u32::from(difficulty) {
            return (nonce, n + 1);
        }
        n += 1;
    }
}

#[async_trait]
impl CaptchaVerifier for Pow {
    fn provider(&self) -> &'static str {
        "pow"
    }

    fn challenge(&self, event: &EventId) -> serde_json::Value {
        let mut v = serde_json::to_value(self.issue(event)).unwrap_or_default();
        v["provider"] = "pow".into();
        v
    }

    async fn verify(&self, event: &EventId, solution: &serde_json::Value, _: IpAddr) -> Verdict {
        let Ok(s) = Solution::deserialize(solution) else {
            return Verdict::Fail("malformed");
        };
        match self.check(event, &s).await {
            Ok(()) => Verdict::Pass,
            Err("unavailable") => Verdict::Unavailable("replay guard unreachable".to_owned()),
            Err(why) => Verdict::Fail(why),
        }
    }

    fn note_attempt(&self) {
        let now = queue::engine::now_ms() / 1000;
        let mut a = self.lock();
        match a.back_mut() {
            Some((s, n)) if *s == now => *n = n.saturating_add(1),
            _ => a.push_back((now, 1)),
        }
        while a.len() > RATE_WINDOW_S as usize {
            a.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::places::MemoryReplay;

    fn pow(difficulty: u8) -> Pow {
        let cfg = PowConfig {
            difficulty,
            max_difficulty: 20,
            surge_per_second: 5,
            ttl: Duration::from_secs(60),
        };
        Pow::new(
            &SigningKeys::generate(),
            cfg,
            Arc::new(MemoryReplay::default()),
        )
    }

    fn answer(c: &Challenge) -> Solution {
        let (nonce, _) = solve(&c.challenge, c.difficulty);
        Solution {
            challenge: c.challenge.clone(),
            signature: c.signature.clone(),
            nonce,
        }
    }

    #[tokio::test]
    async fn a_solution_works_once_and_only_for_its_event() {
        let p = pow(8);
        let e = EventId::parse("e1").expect("event");
        let c = p.issue(&e);
        let s = answer(&c);
        assert_eq!(
            p.check(&EventId::parse("e2").expect("e"), &s).await,
            Err("wrong_event")
        );
        assert_eq!(p.check(&e, &s).await, Ok(()));
        assert_eq!(p.check(&e, &s).await, Err("replayed"));
    }

    #[tokio::test]
    async fn forged_tampered_and_unsolved_solutions_fail() {
        let p = pow(8);
        let e = EventId::parse("e1").expect("event");
        let c = p.issue(&e);
        let mut s = answer(&c);
        // Lower the difficulty in the text: the signature no longer matches.
        s.challenge = c.challenge.replacen(".8.", ".1.", 1);
        assert_eq!(p.check(&e, &s).await, Err("forged"));
        // A nonce that does not solve it (some nonce below the first that does).
        let mut s = answer(&c);
        let good: u64 = s.nonce.parse().expect("decimal");
        s.nonce = if good == 0 {
            "x".into()
        } else {
            (good - 1).to_string()
        };
        assert_eq!(p.check(&e, &s).await, Err("unsolved"));
        // Another server's keys.
        let other = pow(8).issue(&e);
        assert_eq!(p.check(&e, &answer(&other)).await, Err("forged"));
        let mut s = answer(&c);
        s.nonce = "1".repeat(40);
        assert_eq!(p.check(&e, &s).await, Err("malformed"));
    }

    #[test]
    fn difficulty_rises_with_the_attempt_rate() {
        let p = pow(10);
        assert_eq!(p.difficulty(), 10);
        for _ in 0..200 {
            p.note_attempt();
        }
        // 200 in the window = 20/s = 4x the surge threshold: two more bits.
        assert_eq!(p.difficulty(), 12);
        assert_eq!(leading_zero_bits(&[0, 0x10, 0xff]), 11);
    }

    #[tokio::test]
    async fn challenges_from_before_a_surge_are_too_easy_during_it() {
        let p = pow(8);
        let e = EventId::parse("e1").expect("event");
        let calm = p.issue(&e);
        let stockpiled = answer(&calm);
        let calm_ttl = calm.expires_at - queue::engine::now_ms();
        // 16x the surge rate: four bits more than the base.
        for _ in 0..800 {
            p.note_attempt();
        }
        assert_eq!(p.difficulty(), 12);
        assert_eq!(p.check(&e, &stockpiled).await, Err("too_easy"));
        // One bit under the difficulty in force still passes (the margin).
        let near = p.issue_with(&e, 11, queue::engine::now_ms() + 60_000);
        assert_eq!(p.check(&e, &answer(&near)).await, Ok(()));
        let surge = p.issue(&e);
        assert_eq!(surge.difficulty, 12);
        let surge_ttl = surge.expires_at - queue::engine::now_ms();
        assert!(
            surge_ttl < calm_ttl / 2,
            "a surge's challenges live shorter: {surge_ttl} ms vs {calm_ttl} ms"
        );
        assert!(
            surge_ttl >= 19_000,
            "but long enough to solve: {surge_ttl} ms"
        );
    }
}
