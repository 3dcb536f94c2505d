//! The visitor credential: what it carries, how it binds the admission
//! token to one browser's session, and that any change to it is caught
//! (README, "Admission tokens"). Each test fails if the property it names breaks.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use base64::Engine;
use queue::admission::{AdmissionIssuer, TokenError};
use queue::visitor::{
    session_hash_unverified, CredentialCodec, CredentialError, VisitorCredential,
};
use queue::{EventId, VisitorId};
use serde_json::{json, Value};

mod token_support;

use token_support::*;

// ---- visitor credential ---------------------------------------------------

#[test]
fn credential_round_trips_and_binds_the_token() {
    let k = keys(&format!("a:{}", seed(1)));
    let codec = CredentialCodec::new(&k);
    let cred = VisitorCredential::new(event(), visitor());
    let text = codec.encode(&cred);
    assert!(text.starts_with("v1.a."), "{text}");
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
        "{text}"
    );
    assert_eq!(codec.decode(&text, &event()), Ok(cred.clone()));
    assert_ne!(
        cred.secret,
        VisitorCredential::new(event(), visitor()).secret
    );

    let hash = cred.session_hash();
    assert_eq!(
        hash,
        B64.encode(<sha2::Sha256 as sha2::Digest>::digest(cred.secret))
    );
    let unverified = session_hash_unverified(&text).expect("parse");
    assert_eq!(
        unverified,
        ("evt-1".into(), "visitor-1".into(), hash.clone())
    );

    let token = issue(&k, &hash);
    let claims = verifier(&k)
        .verify_at(&token, &event(), &hash, NOW)
        .expect("bound");
    assert_eq!(claims.cnf.sst, hash);
}

#[test]
fn verify_with_credential_checks_session_event_and_visitor() {
    let k = keys(&format!("a:{}", seed(1)));
    let codec = CredentialCodec::new(&k);
    let v = verifier(&k);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let issuer = AdmissionIssuer::new(k.clone(), ISS.into(), AUD.into());
    let mint = |cred: &VisitorCredential, visitor: &VisitorId| {
        issuer
            .issue(
                &event(),
                visitor,
                1,
                now_ms,
                now_ms + 600_000,
                &cred.session_hash(),
            )
            .expect("issue")
    };
    let cred = VisitorCredential::new(event(), visitor());
    let token = mint(&cred, &visitor());
    let claims = v
        .verify_with_credential(&token, &event(), &codec.encode(&cred))
        .expect("same session");
    assert_eq!(claims.sub, visitor());

    let other_session = VisitorCredential::new(event(), visitor());
    let wrong = |q: &str| v.verify_with_credential(&token, &event(), q);
    assert_eq!(
        wrong(&codec.encode(&other_session)),
        Err(TokenError::WrongSession)
    );
    assert_eq!(wrong("not a credential"), Err(TokenError::WrongSession));
    // Same secret, but the credential claims another visitor or event.
    let mut moved = cred.clone();
    moved.visitor = VisitorId::parse("visitor-2").expect("id");
    assert_eq!(wrong(&codec.encode(&moved)), Err(TokenError::WrongSession));
    let mut moved = cred.clone();
    moved.event = EventId::parse("evt-2").expect("id");
    assert_eq!(wrong(&codec.encode(&moved)), Err(TokenError::WrongSession));
}

#[test]
fn credential_tampering_is_detected_at_every_byte() {
    let k = keys(&format!("a:{}", seed(1)));
    let codec = CredentialCodec::new(&k);
    let text = codec.encode(&VisitorCredential::new(event(), visitor()));
    for i in 0..text.len() {
        let mut bytes = text.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(bytes).expect("ascii");
        assert!(
            codec.decode(&forged, &event()).is_err(),
            "byte {i} flip accepted"
        );
    }
    let (signed, _) = text.rsplit_once('.').expect("dot");
    let zero_mac = format!("{signed}.{}", B64.encode([0u8; 32]));
    assert_eq!(
        codec.decode(&zero_mac, &event()),
        Err(CredentialError::BadMac)
    );
    let (_, payload) = signed.rsplit_once('.').expect("dot");
    let mut json: Value = serde_json::from_slice(&B64.decode(payload).expect("b64")).expect("json");
    json["v"] = json!("visitor-2");
    let swapped = format!(
        "v1.a.{}.{}",
        segment(&json),
        text.rsplit_once('.').expect("dot").1
    );
    assert_eq!(
        codec.decode(&swapped, &event()),
        Err(CredentialError::BadMac)
    );
}

#[test]
fn credential_refuses_wrong_event_unknown_kid_foreign_key_and_oversize() {
    let (a, b) = (format!("a:{}", seed(1)), format!("b:{}", seed(2)));
    let codec_a = CredentialCodec::new(&keys(&a));
    let text = codec_a.encode(&VisitorCredential::new(event(), visitor()));
    let evt2 = EventId::parse("evt-2").expect("id");
    assert_eq!(
        codec_a.decode(&text, &evt2),
        Err(CredentialError::WrongEvent)
    );
    assert_eq!(
        CredentialCodec::new(&keys(&b)).decode(&text, &event()),
        Err(CredentialError::UnknownKey)
    );
    let rotated = CredentialCodec::new(&keys(&format!("{b},{a}")));
    assert!(
        rotated.decode(&text, &event()).is_ok(),
        "old key still accepted"
    );
    assert!(rotated
        .encode(&VisitorCredential::new(event(), visitor()))
        .starts_with("v1.b."));
    let forger = CredentialCodec::new(&keys(&format!("a:{}", seed(3))));
    assert_eq!(forger.decode(&text, &event()), Err(CredentialError::BadMac));

    let long = format!("{text}{}", "A".repeat(600));
    assert_eq!(
        codec_a.decode(&long, &event()),
        Err(CredentialError::TooLong)
    );
    assert_eq!(session_hash_unverified(&long), None);
    for junk in [
        "",
        "v1",
        "v1...",
        "v2.a.e30.AA",
        "v1.a.!!.AA",
        &STANDARD.encode(&text),
    ] {
        let got = codec_a.decode(junk, &event());
        assert!(
            matches!(
                got,
                Err(CredentialError::Malformed
                    | CredentialError::UnknownKey
                    | CredentialError::BadMac)
            ),
            "{junk:?}: {got:?}"
        );
    }
}

#[test]
fn longest_ids_still_fit_in_a_credential_and_a_cookie() {
    let k = keys(&format!("{}:{}", "k".repeat(64), seed(1)));
    let codec = CredentialCodec::new(&k);
    let long_event = EventId::parse(&"e".repeat(64)).expect("id");
    // With the longest place claim too.
    let cred = VisitorCredential {
        ticket: Some(u64::MAX),
        ..VisitorCredential::new(
            long_event.clone(),
            VisitorId::parse(&"v".repeat(64)).expect("id"),
        )
    };
    let text = codec.encode(&cred);
    assert!(
        text.len() <= queue::visitor::MAX_CREDENTIAL_LEN,
        "{}",
        text.len()
    );
    assert_eq!(codec.decode(&text, &long_event), Ok(cred));
}
