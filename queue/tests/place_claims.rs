//! The place claim in the visitor credential: every credential handed out
//! once a fan has a ticket names it under the MAC, and a claim that is
//! forged, moved to another event or visitor, or older than the place the
//! store holds (a reissue) is refused, so two credentials never improve a
//! place. Runs the engine on the in-process store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use queue::engine::{Engine, EngineConfig};
use queue::store::memory::MemoryStore;
use queue::visitor::CredentialError;
use queue::{
    AdmissionIssuer, CredentialCodec, EventId, QueueError, QueueSettings, QueueStore, SigningKeys,
};
use serde_json::Value;
use std::sync::Arc;

struct Fixture {
    engine: Arc<Engine>,
    store: Arc<MemoryStore>,
    event: EventId,
    codec: CredentialCodec,
}

async fn fixture() -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let keys = Arc::new(SigningKeys::generate());
    let codec = CredentialCodec::new(&keys);
    let engine = Engine::new(
        store.clone(),
        EngineConfig::default(),
        codec.clone(),
        AdmissionIssuer::new(keys, "test".to_owned(), "booking".to_owned()),
    );
    let event = EventId::parse("claims").expect("id");
    let settings = QueueSettings {
        admit_per_minute: 0,
        ..QueueSettings::default()
    };
    for e in [&event, &EventId::parse("other").expect("id")] {
        store.put_settings(e, &settings).await.expect("settings");
    }
    Fixture {
        engine,
        store,
        event,
        codec,
    }
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(2).expect("payload part");
    serde_json::from_slice(&B64.decode(part).expect("base64")).expect("json")
}

fn refused(r: Result<impl std::fmt::Debug, QueueError>) -> CredentialError {
    match r {
        Err(QueueError::Credential(e)) => e,
        other => panic!("expected a refused credential, got {other:?}"),
    }
}

#[tokio::test]
async fn credentials_claim_the_ticket_under_the_mac() {
    let f = fixture().await;
    f.engine.join(&f.event, None).await.expect("first");
    let me = f.engine.join(&f.event, None).await.expect("join");
    assert_eq!(payload(&me.queue_token)["k"], 2);
    let cred = f
        .engine
        .credential(&f.event, &me.queue_token)
        .expect("decode");
    assert_eq!(cred.ticket, Some(2));
    assert!(
        !f.engine
            .status(&f.event, &me.queue_token)
            .await
            .expect("status")
            .reissued
    );

    // Claiming ticket 1 instead: the MAC no longer matches.
    let (head, mac) = me.queue_token.rsplit_once('.').expect("mac");
    let (signed, _) = head.rsplit_once('.').expect("payload");
    let mut forged = payload(&me.queue_token);
    forged["k"] = 1.into();
    let json = serde_json::to_vec(&forged).expect("json");
    let token = format!("{signed}.{}.{mac}", B64.encode(json));
    assert_eq!(
        refused(f.engine.status(&f.event, &token).await),
        CredentialError::BadMac
    );

    // Another event's queue refuses it; another visitor cannot carry it
    // (the visitor is under the same MAC).
    let other = EventId::parse("other").expect("id");
    let r = f.engine.status(&other, &me.queue_token).await;
    assert_eq!(refused(r), CredentialError::WrongEvent);
    let mut moved = payload(&me.queue_token);
    moved["v"] = "someone-else".into();
    let json = serde_json::to_vec(&moved).expect("json");
    let token = format!("{signed}.{}.{mac}", B64.encode(json));
    assert_eq!(
        refused(f.engine.join(&f.event, Some(&token)).await),
        CredentialError::BadMac
    );
}

#[tokio::test]
async fn a_credential_from_before_a_reissue_is_refused() {
    let f = fixture().await;
    let first = f.engine.join(&f.event, None).await.expect("join");
    f.engine.join(&f.event, None).await.expect("second");
    assert!(f
        .store
        .leave(&f.event, &first.visitor)
        .await
        .expect("leave"));
    // Joining again after giving the place up: a new ticket, a new claim.
    let again = f
        .engine
        .join(&f.event, Some(&first.queue_token))
        .await
        .expect("rejoin");
    assert_eq!(
        (again.ticket, payload(&again.queue_token)["k"].clone()),
        (3, 3.into())
    );

    // The old credential (ticket 1) is refused everywhere, and changes
    // nothing: presenting both never gets the better place back.
    for r in [
        refused(f.engine.status(&f.event, &first.queue_token).await),
        refused(f.engine.join(&f.event, Some(&first.queue_token)).await),
    ] {
        assert_eq!(r, CredentialError::StaleClaim);
    }
    let s = f
        .engine
        .status(&f.event, &again.queue_token)
        .await
        .expect("current");
    assert_eq!((s.ticket, s.reissued), (3, false));
    assert_eq!(
        f.store
            .snapshot(&f.event)
            .await
            .expect("snapshot")
            .last_ticket,
        3
    );
    assert_eq!(CredentialError::StaleClaim.code(), "credential_invalid");
}

#[tokio::test]
async fn a_credential_without_a_claim_gets_one() {
    let f = fixture().await;
    let me = f.engine.join(&f.event, None).await.expect("join");
    // As issued before claims existed (or in the pre-queue): no `k`.
    let mut bare = f
        .engine
        .credential(&f.event, &me.queue_token)
        .expect("decode");
    bare.ticket = None;
    let bare = f.codec.encode(&bare);
    assert!(payload(&bare).get("k").is_none());
    let s = f.engine.status(&f.event, &bare).await.expect("status");
    assert!(s.reissued);
    assert_eq!(payload(&s.queue_token)["k"], 1);
}
