//! Signing keys and the JWKS: the key spec, redaction, persistence and
//! the published document (README, "Admission tokens"). Each test fails if the property
//! it names breaks.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD as B64};
use base64::Engine;
use queue::keys::{KeyError, PublicKeySet, SigningKeys};
use queue::visitor::VisitorCredential;
use serde_json::{json, Value};

mod token_support;

use token_support::*;

// ---- keys -----------------------------------------------------------------

#[test]
fn spec_parses_in_order_and_round_trips() {
    let padded = URL_SAFE.encode([2u8; 32]);
    let k = SigningKeys::parse(&format!(" a:{} , b.2_x-y:{padded}\n", seed(1))).expect("parse");
    assert_eq!(k.kids().collect::<Vec<_>>(), ["a", "b.2_x-y"]);
    assert_eq!(k.signing_kid(), "a");
    let again = SigningKeys::parse(&k.to_spec()).expect("round trip");
    assert_eq!(again.jwks(), k.jwks());
}

#[test]
fn spec_errors_name_the_entry_and_never_the_seed() {
    let (s1, short) = (seed(1), B64.encode([1u8; 31]));
    let cases = [
        (String::new(), "no signing keys"),
        ("   ".into(), "no signing keys"),
        (
            format!("a:{short}"),
            "entry 1: seed of kid \"a\" is 31 bytes",
        ),
        (
            format!("a:{s1},b:%%%"),
            "entry 2: seed of kid \"b\" is not base64url",
        ),
        (
            format!("a:{s1},a:{}", seed(2)),
            "entry 2: kid \"a\" is already used",
        ),
        (format!("a:{s1},"), "entry 2: is empty"),
        (s1.clone(), "entry 1: expected `kid:seed`"),
        (format!("bad kid:{s1}"), "entry 1: kid must be"),
        (format!("{}:{s1}", "k".repeat(65)), "entry 1: kid must be"),
    ];
    for (spec, want) in cases {
        let err = SigningKeys::parse(&spec).expect_err(&spec).to_string();
        assert!(err.contains(want), "{spec:?}: {err}");
        assert!(!err.contains(&s1), "seed leaked: {err}");
    }
    assert!(matches!(SigningKeys::parse(""), Err(KeyError::Empty)));
}

#[test]
fn debug_redacts_seeds() {
    let k = keys(&format!("a:{}", seed(9)));
    let shown = format!("{k:?}");
    assert!(
        shown.contains("\"a\"") && !shown.contains(&seed(9)),
        "{shown}"
    );
    let cred = VisitorCredential::new(event(), visitor());
    let shown = format!("{cred:?}");
    assert!(!shown.contains(&B64.encode(cred.secret)), "{shown}");
}

#[test]
fn generate_and_load_or_generate_persist_privately() {
    let g = SigningKeys::generate();
    let kid = g.signing_kid().to_owned();
    assert!(kid.len() == 9 && kid.starts_with('k'), "{kid}");
    assert_ne!(SigningKeys::generate().jwks(), g.jwks());

    let dir = std::env::temp_dir().join(format!("waitroom-keys-{}", uuid::Uuid::new_v4()));
    let path = dir.join("signing-keys");
    let (first, created) = SigningKeys::load_or_generate(&path).expect("create");
    assert!(created);
    let (second, created) = SigningKeys::load_or_generate(&path).expect("load");
    assert!(!created);
    assert_eq!(first.jwks(), second.jwks());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::write(&path, "garbage").expect("write");
    assert!(SigningKeys::load_or_generate(&path).is_err());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn jwks_has_the_published_shape() {
    let k = keys(&format!("a:{},b:{}", seed(1), seed(2)));
    let jwks = k.jwks();
    let list = jwks["keys"].as_array().expect("keys");
    assert_eq!(list.len(), 2);
    let pk = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]).verifying_key();
    assert_eq!(
        list[0],
        json!({"kty":"OKP","crv":"Ed25519","x":B64.encode(pk.as_bytes()),"kid":"a","alg":"EdDSA","use":"sig"})
    );
    assert_eq!(list[1]["kid"], "b");
    assert!(!jwks.to_string().contains(&seed(1)));
}

#[test]
fn jwks_parsing_rejects_bad_documents() {
    let k = keys(&format!("a:{}", seed(1)));
    let good = k.jwks()["keys"][0].clone();
    let with = |f: &str, v: Value| {
        let mut jwk = good.clone();
        jwk[f] = v;
        json!({ "keys": [jwk] })
    };
    for bad in [
        json!({}),
        json!({"keys": []}),
        with("kty", json!("RSA")),
        with("x", json!(B64.encode([1u8; 31]))),
        with("alg", json!("HS256")),
        with("kid", json!("")),
        json!({"keys": [good.clone(), good.clone()]}),
    ] {
        assert!(PublicKeySet::from_jwks(&bad).is_err(), "{bad}");
    }
}

// ---- admission token: good paths -----------------------------------------
