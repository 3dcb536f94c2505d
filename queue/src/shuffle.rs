//! The fair start: everyone who arrives during the pre-queue is ordered at
//! opening by a keyed pseudorandom permutation that anyone can recompute.
//!
//! - The seed is 32 random bytes, made when a sale is scheduled and kept
//!   secret; its SHA-256 (`seed_sha256`, hex) is published on the room
//!   info before the sale, and the seed itself (`seed`, hex) after opening.
//! - Each pre-queue visitor's sort key is `HMAC-SHA256(key = seed bytes,
//!   message = visitor id as UTF-8)`. Visitors get tickets 1, 2, 3, … in
//!   ascending order of their sort key (compared as bytes; equal keys, which
//!   need a SHA-256 collision, fall back to the visitor id).
//!
//! Since the seed is fixed before anyone arrives and unknown until after
//! the order is fixed, nobody (operators included) can choose a place,
//! and the order is uniformly random over the arrivals.

use crate::ids::VisitorId;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new secret seed, hex.
pub fn new_seed() -> String {
    let mut seed = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut seed);
    hex::encode(seed)
}

/// The seed's bytes, or `None` when `seed_hex` is not hex.
fn seed_bytes(seed_hex: &str) -> Option<Vec<u8>> {
    hex::decode(seed_hex).ok()
}

/// The published commitment: SHA-256 of the seed's bytes, hex.
pub fn seed_sha256(seed_hex: &str) -> Option<String> {
    seed_bytes(seed_hex).map(|b| hex::encode(Sha256::digest(b)))
}

/// A visitor's sort key under `seed`.
pub fn sort_key(seed: &[u8], visitor: &str) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(seed)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(visitor.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The pre-queue order under `seed_hex`: first gets ticket 1. `None` when
/// the seed is not hex.
pub fn order<'a>(
    seed_hex: &str,
    visitors: impl IntoIterator<Item = &'a VisitorId>,
) -> Option<Vec<VisitorId>> {
    let seed = seed_bytes(seed_hex)?;
    let mut keyed: Vec<([u8; 32], &VisitorId)> = visitors
        .into_iter()
        .map(|v| (sort_key(&seed, v.as_str()), v))
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.as_str().cmp(b.1.as_str())));
    Some(keyed.into_iter().map(|(_, v)| v.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_vector_so_fans_can_check_their_tools() {
        // HMAC-SHA256(key = 32 zero bytes, "v1"), computed independently
        // with Python's `hmac.new(bytes(32), b"v1", hashlib.sha256)`.
        assert_eq!(
            hex::encode(sort_key(&[0u8; 32], "v1")),
            "3d73cf85429bfaa3469c087b9df33ef8a3f5afb1ababdbf9a9ba934d36c1be16"
        );
        assert_eq!(
            seed_sha256(&"00".repeat(32)).as_deref(),
            Some("66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925")
        );
        assert!(order("zz", []).is_none());
    }
}
