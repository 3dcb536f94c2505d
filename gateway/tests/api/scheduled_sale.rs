//! A scheduled sale runs by itself: pre-queue opens at `prequeue_at`, fans
//! join without a place, the pre-queue is shuffled at `opens_at`, the seed
//! is revealed and matches its published hash, the recomputed order is the
//! admission order, late fans queue FIFO behind, and admission follows the
//! rate.

use crate::admin_support::{spawn_admin_app, unique_event, Backend};
use crate::helpers::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn room(app: &TestApp, event: &str) -> Value {
    let r = app
        .http
        .get(app.url(&format!("/api/v1/queue/{event}")))
        .send()
        .await
        .expect("room info");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

async fn wait_for_state(app: &TestApp, event: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info = room(app, event).await;
        if info["state"] == state {
            return info;
        }
        assert!(Instant::now() < deadline, "never reached {state}: {info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The README's recipe: sort pre-queue visitor ids by HMAC-SHA256(seed, id).
fn recompute(seed_hex: &str, ids: &[String]) -> Vec<String> {
    let key = hex::decode(seed_hex).expect("hex seed");
    let mut keyed: Vec<(Vec<u8>, String)> = ids
        .iter()
        .map(|id| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
            mac.update(id.as_bytes());
            (mac.finalize().into_bytes().to_vec(), id.clone())
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id).collect()
}

crate::on_both_backends!(a_scheduled_sale_runs_by_itself);

async fn a_scheduled_sale_runs_by_itself(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let event = unique_event("sale");
    let t0 = now_ms();
    let rate = 300; // five a second
    app.create_queue(
        &event,
        json!({
            "state": "scheduled",
            "admit_per_minute": rate,
            "max_active": 1000,
            "captcha": "off",
            "prequeue_at": t0 + 1_500,
            "opens_at": t0 + 4_000,
            "closes_at": t0 + 120_000,
        }),
    )
    .await;

    // Before the sale: the seed's hash is public, the seed is not, and
    // nobody can join yet.
    let info = room(&app, &event).await;
    assert_eq!(info["state"], "scheduled");
    let commitment = info["seed_sha256"]
        .as_str()
        .expect("seed_sha256")
        .to_owned();
    assert_eq!(commitment.len(), 64);
    assert!(info["seed"].is_null(), "{info}");
    let r = app
        .http
        .post(app.url(&format!("/api/v1/queue/{event}/join")))
        .header("x-queue-token-in-body", "1")
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 409, "scheduled refuses joins");

    // Pre-queue: fans join without a place.
    wait_for_state(&app, &event, "prequeue").await;
    let mut fans: Vec<(String, String)> = Vec::new(); // (visitor_id, token)
    for _ in 0..12 {
        let body = app.join(&event).await;
        assert_eq!(body["state"], "prequeue", "{body}");
        assert_eq!(body["ticket"], 0);
        assert!(body["position"].is_null(), "{body}");
        fans.push((
            body["visitor_id"].as_str().expect("id").to_owned(),
            body["queue_token"].as_str().expect("token").to_owned(),
        ));
    }
    let info = room(&app, &event).await;
    assert!(info["seed"].is_null(), "still secret in pre-queue");
    // A pre-queue fan on a socket: no position until the shuffle, then one.
    let mut ws = app.ws(&event, &fans[0].1).await;
    let hello = next_of(&mut ws, "hello", 5).await;
    assert_eq!(hello["state"], "prequeue", "{hello}");
    assert!(hello["position"].is_null(), "{hello}");

    // Opening: shuffled, seed revealed, later arrivals FIFO behind.
    let info = wait_for_state(&app, &event, "open").await;
    let seed = info["seed"].as_str().expect("seed revealed").to_owned();
    let hashed = hex::encode(Sha256::digest(hex::decode(&seed).expect("hex")));
    assert_eq!(hashed, commitment, "the revealed seed matches its hash");
    let mut late = Vec::new();
    for _ in 0..3 {
        let body = app.join(&event).await;
        late.push((
            body["visitor_id"].as_str().expect("id").to_owned(),
            body["queue_token"].as_str().expect("token").to_owned(),
            body["ticket"].as_u64().expect("ticket"),
        ));
    }
    let ids: Vec<String> = fans.iter().map(|(id, _)| id.clone()).collect();
    let mut expected = recompute(&seed, &ids);
    expected.extend(late.iter().map(|(id, _, _)| id.clone()));
    let place = expected
        .iter()
        .position(|id| *id == fans[0].0)
        .expect("in order");
    // The first news after the shuffle is its place (fewer if some were
    // admitted before this node's next tick), or its admission.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no news on the socket");
        let msg = next_json(&mut ws, 10).await;
        match msg["type"].as_str() {
            Some("position") => {
                let p = msg["position"].as_u64().expect("a position");
                assert!(
                    (1..=place as u64 + 1).contains(&p),
                    "{msg} vs place {place}"
                );
                break;
            }
            Some("admitted") => break,
            _ => {}
        }
    }
    let tokens: HashMap<String, String> = fans
        .iter()
        .map(|(id, t)| (id.clone(), t.clone()))
        .chain(late.iter().map(|(id, t, _)| (id.clone(), t.clone())))
        .collect();

    // Tickets follow the recomputed order; admissions follow the tickets.
    let mut admitted_at: HashMap<String, Instant> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while admitted_at.len() < expected.len() {
        assert!(
            Instant::now() < deadline,
            "not everyone admitted: {admitted_at:?}"
        );
        let mut admitted_now = Vec::new();
        for (i, id) in expected.iter().enumerate() {
            let r = app.status(&event, &tokens[id]).await;
            let body: Value = r.json().await.expect("status");
            assert_eq!(
                body["ticket"],
                i as u64 + 1,
                "{id} has the recomputed place"
            );
            if body["state"] == "admitted" {
                admitted_now.push(i);
                admitted_at.entry(id.clone()).or_insert_with(Instant::now);
            }
        }
        // FIFO: the admitted are always a prefix of the order. The pass
        // reads fans one after another while ticks run, so a fan read as
        // waiting may have been admitted before a later fan's read; every
        // fan ahead of the furthest one seen admitted must be admitted now.
        if let Some(&furthest) = admitted_now.last() {
            for (i, id) in expected.iter().enumerate().take(furthest) {
                if admitted_now.contains(&i) {
                    continue;
                }
                let body: Value = app
                    .status(&event, &tokens[id])
                    .await
                    .json()
                    .await
                    .expect("status");
                assert_eq!(
                    body["state"], "admitted",
                    "admitted out of order: fan {i} waits behind fan {furthest}"
                );
                admitted_at.entry(id.clone()).or_insert_with(Instant::now);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Five a second: fifteen fans take about three seconds, not one tick.
    let first = admitted_at[&expected[0]];
    let last = admitted_at[&expected[expected.len() - 1]];
    let spread = last.duration_since(first);
    assert!(
        spread >= Duration::from_millis(2_000),
        "admission followed the rate ({rate}/min): {spread:?}"
    );
    crate::admin_support::forget(backend, &[&event]).await;
}
