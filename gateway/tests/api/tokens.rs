//! The admission token from `status` verifies against the published keys,
//! with our verifier and with a standard JWT library, and only for the
//! session it was issued to.

use crate::helpers::*;
use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};
use queue::admission::AdmissionVerifier;
use queue::keys::PublicKeySet;
use queue::EventId;
use serde_json::Value;

async fn admitted_token(app: &TestApp, event: &str) -> (String, String) {
    let me = app.join(event).await;
    let cred = me["queue_token"].as_str().expect("credential").to_owned();
    for _ in 0..100 {
        let s: Value = app.status(event, &cred).await.json().await.expect("status");
        if let Some(t) = s["admission_token"].as_str() {
            assert_eq!(s["state"], "admitted");
            assert!(s["admission_expires_at"].as_u64().is_some());
            return (t.to_owned(), cred);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("not admitted in time");
}

#[tokio::test]
async fn admission_tokens_verify_against_the_published_jwks() {
    let app = spawn_app().await;
    app.create_queue("k1", queue(6000, 10)).await;
    let (token, cred) = admitted_token(&app, "k1").await;
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");

    // A standard library, knowing nothing of ours.
    let set: JwkSet = serde_json::from_value(jwks.clone()).expect("a JWK set");
    let header = decode_header(&token).expect("header");
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.expect("kid");
    let jwk = set.find(&kid).expect("kid is published");
    let key = DecodingKey::from_jwk(jwk).expect("key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["waitroom-booking"]);
    validation.set_issuer(&["waitroom"]);
    let data = decode::<Value>(&token, &key, &validation).expect("standard verification");
    let claims = data.claims;
    assert_eq!(claims["evt"], "k1");
    for c in ["sub", "iat", "nbf", "exp", "jti", "cnf"] {
        assert!(!claims[c].is_null(), "claim {c} present");
    }

    // Our verifier, built from the published document only.
    let verifier = AdmissionVerifier::new(
        PublicKeySet::from_jwks(&jwks).expect("jwks"),
        "waitroom".into(),
        "waitroom-booking".into(),
    );
    let event = EventId::parse("k1").expect("event");
    verifier
        .verify_with_credential(&token, &event, &cred)
        .expect("valid for its own session");

    // Another visitor's session cannot use it.
    let other = app.join("k1").await;
    let other_cred = other["queue_token"].as_str().expect("credential");
    let err = verifier
        .verify_with_credential(&token, &event, other_cred)
        .expect_err("other session");
    assert!(
        err.code().contains("session") || err.code().contains("subject"),
        "{}",
        err.code()
    );
    // Nor another event.
    let err = verifier
        .verify_with_credential(&token, &EventId::parse("k2").expect("event"), &cred)
        .expect_err("other event");
    assert!(err.is_client_error());
}

#[tokio::test]
async fn the_token_is_stable_across_polls() {
    let app = spawn_app().await;
    app.create_queue("k3", queue(6000, 10)).await;
    let (first, cred) = admitted_token(&app, "k3").await;
    let s: Value = app.status("k3", &cred).await.json().await.expect("status");
    let second = s["admission_token"].as_str().expect("token");
    let jti = |t: &str| {
        let claims = t.split('.').nth(1).expect("claims").to_owned();
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .expect("base64");
        serde_json::from_slice::<Value>(&raw).expect("json")["jti"].clone()
    };
    // Booking consumes the jti once, so every copy must carry the same one.
    assert_eq!(jti(&first), jti(second));
}
