//! Admission-token cost, against the design target (verification p99 under
//! 100 µs, docs/benchmarks.md).
//!
//! `cargo run --release -p queue --example token_bench` issues 1,000 tokens,
//! verifies each 20 times the way booking does (keys rebuilt from the
//! published JWKS, session bound through the visitor credential) and prints
//! latency percentiles and the issuing rate.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use queue::admission::{AdmissionIssuer, AdmissionVerifier};
use queue::keys::{PublicKeySet, SigningKeys};
use queue::visitor::{CredentialCodec, VisitorCredential};
use queue::{EventId, VisitorId};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TOKENS: usize = 1_000;
const ROUNDS: usize = 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = Arc::new(SigningKeys::generate());
    let issuer = AdmissionIssuer::new(keys.clone(), "waitroom".into(), "booking".into());
    let published = PublicKeySet::from_jwks(&keys.jwks())?;
    let verifier = AdmissionVerifier::new(published, "waitroom".into(), "booking".into());
    let codec = CredentialCodec::new(&keys);
    let event = EventId::parse("bench-event")?;
    let now_ms = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;

    let creds: Vec<String> = (0..TOKENS)
        .map(|_| codec.encode(&VisitorCredential::new(event.clone(), VisitorId::random())))
        .collect();
    let visitors: Vec<(VisitorId, String)> = creds
        .iter()
        .map(|c| {
            let cred = codec.decode(c, &event)?;
            Ok((cred.visitor.clone(), cred.session_hash()))
        })
        .collect::<Result<_, queue::CredentialError>>()?;

    let start = Instant::now();
    let mut tokens = Vec::with_capacity(TOKENS);
    for (ticket, (visitor, hash)) in (1u64..).zip(&visitors) {
        tokens.push(issuer.issue(&event, visitor, ticket, now_ms, now_ms + 600_000, hash)?);
    }
    let issue_time = start.elapsed();

    let mut samples: Vec<Duration> = Vec::with_capacity(TOKENS * ROUNDS);
    for _ in 0..ROUNDS {
        for (token, cred) in tokens.iter().zip(&creds) {
            let t = Instant::now();
            let claims = verifier.verify_with_credential(token, &event, cred)?;
            samples.push(t.elapsed());
            std::hint::black_box(claims);
        }
    }
    samples.sort_unstable();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;

    println!(
        "issued {TOKENS} tokens in {:.1} ms: {:.0} tokens/s",
        issue_time.as_secs_f64() * 1e3,
        TOKENS as f64 / issue_time.as_secs_f64()
    );
    println!(
        "verified {} times: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs (target p99 < 100 µs)",
        samples.len(),
        us(pick(0.50)),
        us(pick(0.99)),
        us(pick(1.0))
    );
    println!("token length {} bytes", tokens[0].len());

    // Baseline: the bare Ed25519 check of the same tokens, i.e. the part no
    // amount of parsing work can remove.
    let vk = *PublicKeySet::from_jwks(&keys.jwks())?
        .verifying_key(keys.signing_kid())
        .ok_or("signing kid missing from JWKS")?;
    let mut bare: Vec<Duration> = Vec::with_capacity(TOKENS * ROUNDS);
    for _ in 0..ROUNDS {
        for token in &tokens {
            let (msg, sig) = token.rsplit_once('.').ok_or("no signature")?;
            let t = Instant::now();
            let sig = B64.decode(sig)?;
            let sig = ed25519_dalek::Signature::from_slice(&sig)?;
            vk.verify_strict(msg.as_bytes(), &sig)?;
            bare.push(t.elapsed());
        }
    }
    bare.sort_unstable();
    println!(
        "bare Ed25519 verify: p50 {:.1} µs, p99 {:.1} µs",
        us(bare[bare.len() / 2]),
        us(bare[bare.len() * 99 / 100])
    );
    Ok(())
}
