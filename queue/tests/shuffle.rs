//! The fair start's permutation: a permutation of the arrivals, recomputable
//! by anyone from the revealed seed with nothing but HMAC-SHA256, and
//! uniform (chi-square over many seeds).

use hmac::{Hmac, Mac};
use queue::shuffle;
use queue::VisitorId;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

fn ids(n: usize) -> Vec<VisitorId> {
    (0..n)
        .map(|i| VisitorId::parse(&format!("fan-{i:04}")).expect("id"))
        .collect()
}

/// Seeds from a counter, so the statistics are reproducible run to run.
fn seed(i: u64) -> String {
    hex::encode(Sha256::digest(i.to_be_bytes()))
}

/// What a fan would write from the README: sort by HMAC-SHA256(seed, id).
fn recompute(seed_hex: &str, visitors: &[VisitorId]) -> Vec<VisitorId> {
    let key = hex::decode(seed_hex).expect("hex seed");
    let mut keyed: Vec<(Vec<u8>, VisitorId)> = visitors
        .iter()
        .map(|v| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
            mac.update(v.as_str().as_bytes());
            (mac.finalize().into_bytes().to_vec(), v.clone())
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, v)| v).collect()
}

#[test]
fn the_order_is_a_permutation_recomputable_from_the_seed() {
    let fans = ids(500);
    for i in 0..20 {
        let s = seed(i);
        let order = shuffle::order(&s, &fans).expect("order");
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, fans, "every fan exactly once");
        assert_eq!(order, recompute(&s, &fans), "recomputed from the seed");
        // Arrival order of the input does not matter.
        let reversed: Vec<VisitorId> = fans.iter().rev().cloned().collect();
        assert_eq!(shuffle::order(&s, &reversed).expect("order"), order);
        // The commitment matches the seed.
        let commit = hex::encode(Sha256::digest(hex::decode(&s).expect("hex")));
        assert_eq!(shuffle::seed_sha256(&s), Some(commit));
    }
    assert_ne!(
        shuffle::order(&seed(1), &fans),
        shuffle::order(&seed(2), &fans),
        "the seed matters"
    );
}

/// Upper 0.1 % points of the chi-square distribution.
const CHI2_DF16_P001: f64 = 39.25;
const CHI2_DF119_P001: f64 = 173.6;

#[test]
fn every_fan_is_equally_likely_at_every_place() {
    let fans = ids(5);
    let runs = 24_000u64;
    let mut cell = [[0u64; 5]; 5];
    let mut perms: HashMap<Vec<usize>, u64> = HashMap::new();
    for i in 0..runs {
        let order = shuffle::order(&seed(1_000_000 + i), &fans).expect("order");
        let idx: Vec<usize> = order
            .iter()
            .map(|v| fans.iter().position(|f| f == v).expect("known fan"))
            .collect();
        for (place, fan) in idx.iter().enumerate() {
            cell[*fan][place] += 1;
        }
        *perms.entry(idx).or_default() += 1;
    }
    // Fan × place: 25 cells, (5-1)² degrees of freedom.
    let expected = runs as f64 / 5.0;
    let chi2: f64 = cell
        .iter()
        .flatten()
        .map(|&o| (o as f64 - expected).powi(2) / expected)
        .sum();
    assert!(
        chi2 < CHI2_DF16_P001,
        "fan × place chi² = {chi2:.1}: {cell:?}"
    );
    // All 120 orders equally likely.
    assert_eq!(perms.len(), 120, "every order occurs");
    let expected = runs as f64 / 120.0;
    let chi2: f64 = perms
        .values()
        .map(|&o| (o as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < CHI2_DF119_P001, "permutation chi² = {chi2:.1}");
}
