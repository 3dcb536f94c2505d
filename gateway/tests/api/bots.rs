//! Bots at the door: no place without a CAPTCHA solution, and none with a
//! forged, expired, replayed or too-easy one. Shared helpers for the other
//! `bots_*` modules.

use crate::helpers::*;
use gateway::config::{Secret, Settings};
use gateway::edge::captcha::pow::{solve, Pow, PowConfig};
use gateway::edge::places::MemoryReplay;
use queue::{EventId, SigningKeys};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// An app with a cheap proof of work (8 bits) and the given tweaks.
pub async fn bot_app(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_with(|s| {
        s.edge.pow_difficulty = 8;
        s.edge.pow_max_difficulty = 8;
        tweak(s);
    })
    .await
}

/// Default queue settings (CAPTCHA on join) plus `extra`.
pub fn guarded_queue(extra: Value) -> Value {
    let mut q = json!({"state":"open","admit_per_minute":0,"max_active":10,"session_ttl_seconds":600,"departure_grace_seconds":60});
    if let (Some(q), Some(extra)) = (q.as_object_mut(), extra.as_object()) {
        q.extend(extra.clone());
    }
    q
}

/// `POST join` with an optional body and `X-Forwarded-For`.
pub async fn join_as(
    app: &TestApp,
    event: &str,
    body: Option<Value>,
    xff: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(&format!("/api/v1/queue/{event}/join")))
        .header(queue::api::TOKEN_IN_BODY_HEADER, "1");
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(x) = xff {
        req = req.header("x-forwarded-for", x);
    }
    req.send().await.expect("join")
}

/// A fresh challenge from the challenge endpoint.
pub async fn challenge(app: &TestApp, event: &str) -> Value {
    let r = app
        .http
        .get(app.url(&format!("/api/v1/queue/{event}/challenge")))
        .send()
        .await
        .expect("challenge");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// The join body carrying a solution of `c`.
pub fn solved(c: &Value) -> Value {
    let text = c["challenge"].as_str().expect("challenge text");
    let bits = c["difficulty"].as_u64().expect("difficulty") as u8;
    let (nonce, _) = solve(text, bits);
    json!({"captcha": {"challenge": text, "signature": c["signature"], "nonce": nonce}})
}

/// Status and JSON body.
pub async fn error_code(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.expect("json body"))
}

#[tokio::test]
async fn a_scripted_client_without_a_solution_gets_no_place() {
    let app = bot_app(|_| {}).await;
    app.create_queue("c1", guarded_queue(json!({}))).await;
    let c = challenge(&app, "c1").await;
    assert_eq!(c["required"], true);
    assert_eq!(c["provider"], "pow");
    assert_eq!(c["algorithm"], "sha256");
    assert_eq!(c["difficulty"], 8);
    for key in ["challenge", "salt", "signature", "expires_at"] {
        assert!(!c[key].is_null(), "challenge has {key}: {c}");
    }

    // No body, an empty body, garbage in the captcha field: no place.
    for body in [
        None,
        Some(json!({})),
        Some(json!({"captcha": "solved!"})),
        Some(json!({"captcha": {"nonce": "1"}})),
    ] {
        let (status, body) = error_code(join_as(&app, "c1", body, None).await).await;
        assert_eq!(status, 403);
        assert_eq!(body["error"]["code"], "captcha_required");
        assert_eq!(
            body["challenge"]["provider"], "pow",
            "a fresh challenge comes along"
        );
    }
    let info: Value = app
        .http
        .get(app.url("/api/v1/queue/c1"))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("json");
    assert_eq!(info["waiting"], 0, "nobody got in: {info}");

    // A solved challenge joins, and the place comes back without another one.
    let r = join_as(&app, "c1", Some(solved(&c)), None).await;
    assert_eq!(r.status(), 201);
    let me: Value = r.json().await.expect("json");
    assert_eq!(me["ticket"], 1);
    let again = app
        .http
        .post(app.url("/api/v1/queue/c1/join"))
        .header("x-queue-token-in-body", "1")
        .header("x-queue-token", me["queue_token"].as_str().expect("token"))
        .send()
        .await
        .expect("rejoin");
    assert_eq!(
        again.status(),
        200,
        "an existing place needs no new solution"
    );

    // With the CAPTCHA off the endpoint says so, and plain joins work.
    app.create_queue("c2", guarded_queue(json!({"captcha": "off"})))
        .await;
    let c = challenge(&app, "c2").await;
    assert_eq!(c["required"], false);
    assert_eq!(join_as(&app, "c2", None, None).await.status(), 201);
}

#[tokio::test]
async fn forged_expired_replayed_and_too_easy_solutions_get_a_fresh_challenge() {
    let spec = SigningKeys::generate().to_spec();
    let app = bot_app(|s| s.signing_keys = Some(Secret::new(spec.clone()))).await;
    app.create_queue("s1", guarded_queue(json!({}))).await;
    let keys = SigningKeys::parse(&spec).expect("keys");
    // The same keys make the same signatures: a stand-in for the server.
    let cfg = PowConfig {
        difficulty: 1,
        max_difficulty: 8,
        surge_per_second: 0,
        ttl: Duration::from_secs(60),
    };
    let mint = Pow::new(&keys, cfg, Arc::new(MemoryReplay::default()));
    let event = EventId::parse("s1").expect("event");

    let c = challenge(&app, "s1").await;
    let good = solved(&c);
    let mut forged = good.clone();
    forged["captcha"]["challenge"] = c["challenge"]
        .as_str()
        .expect("text")
        .replacen(".8.", ".2.", 1)
        .into();
    let expired = serde_json::to_value(mint.issue_with(&event, 8, queue::engine::now_ms() - 1_000))
        .expect("json");
    let too_easy =
        serde_json::to_value(mint.issue_with(&event, 2, queue::engine::now_ms() + 60_000))
            .expect("json");
    let other_event = serde_json::to_value(mint.issue_with(
        &EventId::parse("s2").expect("e"),
        8,
        queue::engine::now_ms() + 60_000,
    ))
    .expect("json");
    let mut unsolved = solved(&challenge(&app, "s1").await);
    unsolved["captcha"]["nonce"] = "x".into();
    let mut huge = good.clone();
    huge["captcha"]["nonce"] = "9".repeat(10_000).into();
    let cases = [
        ("forged", forged),
        ("expired", solved(&expired)),
        ("too easy", solved(&too_easy)),
        ("other event", solved(&other_event)),
        ("unsolved", unsolved),
        ("huge nonce", huge),
    ];
    for (what, body) in cases {
        let (status, body) = error_code(join_as(&app, "s1", Some(body), None).await).await;
        assert_eq!(status, 403, "{what}");
        assert_eq!(body["error"]["code"], "captcha_required", "{what}");
        assert_ne!(
            body["challenge"]["challenge"], c["challenge"],
            "{what}: a fresh challenge"
        );
    }
    assert_eq!(
        join_as(&app, "s1", Some(good.clone()), None).await.status(),
        201
    );
    // The same solution again, by a client without the first one's cookie.
    let (status, body) = error_code(join_as(&app, "s1", Some(good), None).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("captcha_required")),
        "replay"
    );
}
