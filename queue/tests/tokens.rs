//! The admission token against forgeries (README, "Admission tokens"; keys and the JWKS
//! are in `keys.rs`, the visitor credential in `credentials.rs`). Each
//! test fails if the property it names breaks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use queue::admission::{jti, AdmissionVerifier, TokenError};
use queue::keys::PublicKeySet;
use queue::visitor::CredentialError;
use queue::{EventId, VisitorId};
use serde_json::{json, Value};

mod token_support;

use token_support::*;

#[test]
fn token_verifies_with_keys_rebuilt_from_published_jwks() {
    let k = keys(&format!("a:{}", seed(1)));
    let token = issue(&k, "sess");
    let published: Value = serde_json::from_str(&k.jwks().to_string()).expect("json");
    let set = PublicKeySet::from_jwks(&published).expect("jwks");
    let v = AdmissionVerifier::new(set, ISS.into(), AUD.into());
    let c = check(&v, &token).expect("valid");
    assert_eq!(
        (c.sub, c.evt, c.cnf.sst),
        (visitor(), event(), "sess".into())
    );
    assert_eq!((c.iat, c.nbf, c.exp), (NOW - 60, NOW - 60, NOW + 540));
    assert_eq!((c.iss.as_str(), c.aud.as_str()), (ISS, AUD));
    assert_eq!(c.jti, jti(&event(), &visitor(), 7));
    assert_eq!(
        token.split('.').next().map(|h| B64.decode(h).expect("b64")),
        Some(br#"{"typ":"JWT","alg":"EdDSA","kid":"a"}"#.to_vec())
    );
}

#[test]
fn token_passes_an_independent_ed25519_check_against_jwks() {
    let k = keys(&format!("a:{}", seed(1)));
    let token = issue(&k, "sess");
    let mut parts = token.split('.');
    let (h, c, s) = (parts.next(), parts.next(), parts.next());
    let (h, c, s) = (h.expect("h"), c.expect("c"), s.expect("s"));
    assert!(parts.next().is_none());
    let header: Value = serde_json::from_slice(&B64.decode(h).expect("b64")).expect("json");
    assert_eq!(header["alg"], "EdDSA");
    let jwks = k.jwks();
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|l| l.iter().find(|j| j["kid"] == header["kid"]))
        .expect("kid published");
    let x: [u8; 32] = B64
        .decode(jwk["x"].as_str().expect("x"))
        .expect("b64")
        .try_into()
        .expect("32");
    let vk = VerifyingKey::from_bytes(&x).expect("point");
    let sig = Signature::from_slice(&B64.decode(s).expect("b64")).expect("64 bytes");
    vk.verify_strict(format!("{h}.{c}").as_bytes(), &sig)
        .expect("signature verifies");
    assert_eq!(claims_json(&token)["evt"], "evt-1");
}

#[test]
fn rotation_verifies_old_tokens_until_the_key_is_dropped() {
    let (a, b) = (format!("a:{}", seed(1)), format!("b:{}", seed(2)));
    let token = issue(&keys(&a), "sess");
    let rotated = keys(&format!("{b},{a}"));
    assert_eq!(rotated.signing_kid(), "b");
    check(&verifier(&rotated), &token).expect("old key still verifies");
    let new_token = issue(&rotated, "sess");
    assert_eq!(claims_json(&new_token)["jti"], claims_json(&token)["jti"]);
    assert_eq!(
        check(&verifier(&keys(&a)), &new_token),
        Err(TokenError::UnknownKey)
    );
    let dropped = verifier(&keys(&b));
    assert_eq!(check(&dropped, &token), Err(TokenError::UnknownKey));
}

#[test]
fn jti_is_deterministic_per_admission() {
    let k = keys(&format!("a:{}", seed(1)));
    assert_eq!(
        claims_json(&issue(&k, "x"))["jti"],
        claims_json(&issue(&k, "y"))["jti"]
    );
    let j = jti(&event(), &visitor(), 7);
    assert_eq!(j.len(), 32);
    assert!(j.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(j, jti(&event(), &visitor(), 7));
    assert_ne!(j, jti(&event(), &visitor(), 8));
    assert_ne!(
        j,
        jti(&event(), &VisitorId::parse("visitor-2").expect("id"), 7)
    );
    assert_ne!(j, jti(&EventId::parse("evt-2").expect("id"), &visitor(), 7));
}

// ---- admission token: forgeries ------------------------------------------

#[test]
fn forged_algorithms_are_refused_before_key_lookup() {
    let k = keys(&format!("a:{}", seed(1)));
    let v = verifier(&k);
    let claims = claims_json(&issue(&k, "sess"));
    let none = format!(
        "{}.{}.",
        segment(&json!({"alg":"none","typ":"JWT","kid":"a"})),
        segment(&claims)
    );
    assert_eq!(check(&v, &none), Err(TokenError::UnsupportedAlgorithm));
    let none_unknown_kid = none.replace(
        &segment(&json!({"alg":"none","typ":"JWT","kid":"a"})),
        &segment(&json!({"alg":"none"})),
    );
    assert_eq!(
        check(&v, &none_unknown_kid),
        Err(TokenError::UnsupportedAlgorithm)
    );

    // Alg confusion: HMAC keyed with the public key, as raw bytes or as the
    // published `x` text.
    let x = k.jwks()["keys"][0]["x"].as_str().expect("x").to_owned();
    let raw = B64.decode(&x).expect("b64");
    for secret in [raw.as_slice(), x.as_bytes()] {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.kid = Some("a".into());
            let forged = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret))
                .expect("encode");
            assert_eq!(check(&v, &forged), Err(TokenError::UnsupportedAlgorithm));
        }
    }
    let (_, rest) = none.split_once('.').expect("dot");
    for alg in ["RS256", "ES256", "eddsa", "EdDSA "] {
        let token = format!("{}.{rest}sig", segment(&json!({"alg":alg,"kid":"a"})));
        assert_eq!(
            check(&v, &token),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

#[test]
fn tampered_signature_payload_or_kid_is_refused() {
    let k = keys(&format!("a:{}", seed(1)));
    let v = verifier(&k);
    let token = issue(&k, "sess");
    let (msg, sig) = token.rsplit_once('.').expect("dot");
    let mut bytes = B64.decode(sig).expect("b64");
    for i in [0, 31, 63] {
        bytes[i] ^= 1;
        let flipped = format!("{msg}.{}", B64.encode(&bytes));
        assert_eq!(
            check(&v, &flipped),
            Err(TokenError::BadSignature),
            "byte {i}"
        );
        bytes[i] ^= 1;
    }
    let short = format!("{msg}.{}", B64.encode(&bytes[..63]));
    assert_eq!(check(&v, &short), Err(TokenError::BadSignature));

    let (h, rest) = token.split_once('.').expect("dot");
    let mut claims = claims_json(&token);
    claims["exp"] = json!(NOW + 999_999);
    let modified = format!("{h}.{}.{sig}", segment(&claims));
    assert_eq!(check(&v, &modified), Err(TokenError::BadSignature));

    let other = segment(&json!({"typ":"JWT","alg":"EdDSA","kid":"zzz"}));
    assert_eq!(
        check(&v, &format!("{other}.{rest}")),
        Err(TokenError::UnknownKey)
    );
    let no_kid = segment(&json!({"typ":"JWT","alg":"EdDSA"}));
    assert_eq!(
        check(&v, &format!("{no_kid}.{rest}")),
        Err(TokenError::UnknownKey)
    );
    // Same kid, different key: a forger's own "a".
    let forger = issue(&keys(&format!("a:{}", seed(3))), "sess");
    assert_eq!(check(&v, &forger), Err(TokenError::BadSignature));
}

#[test]
fn claims_are_checked_one_by_one() {
    let k = keys(&format!("a:{}", seed(1)));
    let token = issue(&k, "sess");
    let v = verifier(&k);
    let at = |now| v.verify_at(&token, &event(), "sess", now);
    assert!(at(NOW + 540 + 4).is_ok(), "inside leeway");
    assert_eq!(at(NOW + 540 + 5), Err(TokenError::Expired));
    assert_eq!(at(NOW - 60 - 6), Err(TokenError::NotYetValid));
    assert!(at(NOW - 60 - 5).is_ok(), "inside leeway");
    let strict = verifier(&k).with_leeway_seconds(0);
    assert_eq!(
        strict.verify_at(&token, &event(), "sess", NOW + 540),
        Err(TokenError::Expired)
    );

    let other =
        |iss: &str, aud: &str| AdmissionVerifier::new(k.public_keys(), iss.into(), aud.into());
    assert_eq!(
        check(&other("https://evil", AUD), &token),
        Err(TokenError::WrongIssuer)
    );
    assert_eq!(
        check(&other(ISS, "admin"), &token),
        Err(TokenError::WrongAudience)
    );
    let evt2 = EventId::parse("evt-2").expect("id");
    assert_eq!(
        v.verify_at(&token, &evt2, "sess", NOW),
        Err(TokenError::WrongEvent)
    );
    assert_eq!(
        v.verify_at(&token, &event(), "sesS", NOW),
        Err(TokenError::WrongSession)
    );
    assert_eq!(
        v.verify_at(&token, &event(), "", NOW),
        Err(TokenError::WrongSession)
    );
}

#[test]
fn garbage_is_malformed() {
    let k = keys(&format!("a:{}", seed(1)));
    let v = verifier(&k);
    let header = segment(&json!({"alg":"EdDSA","kid":"a"}));
    let long = "a".repeat(5000);
    let crit = format!(
        "{}.e30.AA",
        segment(&json!({"alg":"EdDSA","kid":"a","crit":["exp"]}))
    );
    for junk in [
        "",
        ".",
        "..",
        "abc",
        "a.b.c",
        "Bearer x",
        "\u{0}\u{1}",
        "é.é.é",
        &long,
        &header,
        &format!("{header}.!!!.AA"),
        &format!("{header}.e30.AA"),
        &crit,
    ] {
        let got = check(&v, junk);
        assert!(
            matches!(got, Err(TokenError::Malformed | TokenError::BadSignature)),
            "{junk:?}: {got:?}"
        );
    }
    assert_eq!(check(&v, "a.b.c"), Err(TokenError::Malformed));
    assert_eq!(check(&v, &crit), Err(TokenError::Malformed));
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(TokenError::Expired.code(), "token_expired");
    assert_eq!(TokenError::WrongSession.code(), "token_wrong_session");
    assert_eq!(TokenError::Malformed.code(), "token_malformed");
    assert!(TokenError::BadSignature.is_client_error());
    assert!(!TokenError::Signing("x".into()).is_client_error());
    assert_eq!(CredentialError::BadMac.code(), "credential_invalid");
    assert_eq!(CredentialError::WrongEvent.code(), "credential_wrong_event");
}
