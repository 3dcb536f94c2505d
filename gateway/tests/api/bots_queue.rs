//! More bots: the infinite queue, one browser one place, socket floods,
//! CAPTCHA only on suspicion, and hCaptcha / Turnstile verified against a
//! local stand-in of their siteverify API.

use crate::bots::{bot_app, challenge, guarded_queue, join_as, solved};
use crate::helpers::*;
use axum::extract::State;
use axum::routing::post;
use axum::{Form, Json, Router};
use gateway::config::Secret;
use gateway::edge::settings::{CaptchaProvider, RouteLimit};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn keys_of(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn failed_captchas_wait_in_the_infinite_queue_and_are_never_admitted() {
    let app = bot_app(|_| {}).await;
    app.create_queue(
        "i1",
        guarded_queue(json!({"captcha_failure": "infinite_queue"})),
    )
    .await;
    let c = challenge(&app, "i1").await;
    let fan: Value = join_as(&app, "i1", Some(solved(&c)), None)
        .await
        .json()
        .await
        .expect("json");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let r = join_as(&app, "i1", None, None).await;
    assert_eq!(r.status(), 201, "a bot sees an ordinary join");
    assert!(r.headers().get("set-cookie").is_some());
    let bot: Value = r.json().await.expect("json");
    assert_eq!(keys_of(&bot), keys_of(&fan), "same shape as a real place");
    assert_eq!(
        (bot["ticket"].as_u64(), bot["position"].as_u64()),
        (Some(2), Some(2))
    );
    let bot_cred = bot["queue_token"].as_str().expect("credential").to_owned();

    let status: Value = app
        .status("i1", &bot_cred)
        .await
        .json()
        .await
        .expect("status");
    let fan_status: Value = app
        .status("i1", fan["queue_token"].as_str().expect("t"))
        .await
        .json()
        .await
        .expect("s");
    assert_eq!(status["state"], "waiting");
    assert_eq!(keys_of(&status), keys_of(&fan_status));
    let mut ws = app.ws("i1", &bot_cred).await;
    let hello = next_of(&mut ws, "hello", 5).await;
    assert_eq!(
        (hello["ticket"].as_u64(), hello["protocol"].as_u64()),
        (Some(2), Some(1))
    );
    let again = app
        .http
        .post(app.url("/api/v1/queue/i1/join"))
        .header("x-queue-token-in-body", "1")
        .header("x-queue-token", &bot_cred)
        .send()
        .await
        .expect("rejoin");
    assert_eq!(again.status(), 200);

    // Admission starts: the fan gets in, the bot never does.
    app.patch_queue("i1", json!({"admit_per_minute": 6000}))
        .await;
    let mut admitted = false;
    for _ in 0..50 {
        let s: Value = app
            .status("i1", fan["queue_token"].as_str().expect("t"))
            .await
            .json()
            .await
            .expect("s");
        if s["state"] == "admitted" {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(admitted, "the fan is admitted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status: Value = app
        .status("i1", &bot_cred)
        .await
        .json()
        .await
        .expect("status");
    assert_eq!(
        (status["state"].as_str(), status["position"].as_u64()),
        (Some("waiting"), Some(1))
    );
    assert!(status["admission_token"].is_null());
    let info: Value = app
        .http
        .get(app.url("/api/v1/queue/i1"))
        .send()
        .await
        .expect("i")
        .json()
        .await
        .expect("j");
    assert_eq!(info["active"], 1, "only the fan: {info}");
}

#[tokio::test]
async fn the_same_browser_gets_its_place_back_whatever_identity_it_claims() {
    let app = bot_app(|_| {}).await;
    app.create_queue("b1", guarded_queue(json!({}))).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let c = challenge(&app, "b1").await;
    let mine: Value = browser
        .post(app.url("/api/v1/queue/b1/join"))
        .header("x-queue-token-in-body", "1")
        .json(&solved(&c))
        .send()
        .await
        .expect("join")
        .json()
        .await
        .expect("json");
    let other: Value = join_as(&app, "b1", Some(solved(&challenge(&app, "b1").await)), None)
        .await
        .json()
        .await
        .expect("json");
    // The browser reloads without a solution: its place, no CAPTCHA.
    let r = browser
        .post(app.url("/api/v1/queue/b1/join"))
        .header("x-queue-token-in-body", "1")
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 200);
    // It claims another identity in the header: still its own place.
    let r = browser
        .post(app.url("/api/v1/queue/b1/join"))
        .header("x-queue-token-in-body", "1")
        .header("x-queue-token", other["queue_token"].as_str().expect("t"))
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 200);
    let back: Value = r.json().await.expect("json");
    assert_eq!(back["visitor_id"], mine["visitor_id"]);
    // A credential of another event cannot move a place here.
    app.create_queue("b2", guarded_queue(json!({"captcha": "off"})))
        .await;
    let r = app
        .http
        .post(app.url("/api/v1/queue/b2/join"))
        .header("x-queue-token-in-body", "1")
        .header("x-queue-token", mine["queue_token"].as_str().expect("t"))
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn socket_floods_from_one_ip_are_refused_and_waiters_keep_going() {
    let app = bot_app(|s| {
        s.edge.rate_limits.enabled = true;
        s.edge.rate_limits.ws = RouteLimit::new(6, 3, 0, 0);
    })
    .await;
    app.create_queue("w1", guarded_queue(json!({"captcha": "off"})))
        .await;
    let mut creds = Vec::new();
    for _ in 0..5 {
        creds.push(
            app.join("w1").await["queue_token"]
                .as_str()
                .expect("t")
                .to_owned(),
        );
    }
    let mut open = Vec::new();
    for cred in &creds[..3] {
        let mut ws = app.ws("w1", cred).await;
        next_of(&mut ws, "hello", 5).await;
        open.push(ws);
    }
    for cred in &creds[3..] {
        let mut req = format!("ws://{}/api/v1/queue/w1/ws", app.addr)
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("x-queue-token", cred.parse().expect("header"));
        match tokio_tungstenite::connect_async(req).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 429)
            }
            other => panic!("expected 429 at connect, got {other:?}"),
        }
    }
    app.patch_queue("w1", json!({"admit_per_minute": 6000}))
        .await;
    for ws in &mut open {
        next_of(ws, "admitted", 10).await;
    }
}

#[tokio::test]
async fn on_suspicion_asks_for_a_solution_only_near_the_limit() {
    let app = bot_app(|s| {
        s.edge.rate_limits.enabled = true;
        s.edge.rate_limits.join = RouteLimit::new(60, 4, 0, 0);
    })
    .await;
    app.create_queue("o1", guarded_queue(json!({"captcha": "on_suspicion"})))
        .await;
    assert_eq!(challenge(&app, "o1").await["required"], false);
    assert_eq!(join_as(&app, "o1", None, None).await.status(), 201);
    assert_eq!(join_as(&app, "o1", None, None).await.status(), 201);
    let r = join_as(&app, "o1", None, None).await;
    assert_eq!(r.status(), 403, "half the budget spent");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "captcha_required");
    assert_eq!(
        join_as(&app, "o1", Some(solved(&body["challenge"])), None)
            .await
            .status(),
        201
    );
}

/// Every form the stand-in received.
type Seen = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A stand-in for hCaptcha's and Turnstile's siteverify on 127.0.0.1.
async fn stand_in() -> (String, Seen) {
    async fn verify(
        State(seen): State<Seen>,
        Form(f): Form<HashMap<String, String>>,
    ) -> Json<Value> {
        seen.lock().expect("lock").push(f.clone());
        let token = f.get("response").cloned().unwrap_or_default();
        if f.get("secret").map(String::as_str) != Some("sekrit") {
            return Json(json!({"success": false, "error-codes": ["invalid-input-secret"]}));
        }
        match token.as_str() {
            "good-token" => Json(json!({"success": true, "hostname": "tickets.example"})),
            "elsewhere" => Json(json!({"success": true, "hostname": "phish.example"})),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Json(json!({"success": true, "hostname": "tickets.example"}))
            }
            _ => Json(json!({"success": false, "error-codes": ["invalid-input-response"]})),
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new()
        .route("/siteverify", post(verify))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/siteverify"), seen)
}

#[tokio::test]
async fn hcaptcha_and_turnstile_are_verified_server_side() {
    let (url, seen) = stand_in().await;
    let app = bot_app(|s| {
        s.edge.captcha_provider = CaptchaProvider::Hcaptcha;
        s.edge.captcha_secret = Some(Secret::new("sekrit"));
        s.edge.captcha_site_key = Some("site-key-1".into());
        s.edge.captcha_verify_url = Some(url.clone());
        s.edge.captcha_hostnames = "tickets.example".into();
        s.edge.captcha_timeout_ms = 500;
        s.edge.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    app.create_queue("h1", guarded_queue(json!({}))).await;
    let c = challenge(&app, "h1").await;
    assert_eq!(
        (c["provider"].as_str(), c["site_key"].as_str()),
        (Some("hcaptcha"), Some("site-key-1"))
    );
    let r = join_as(
        &app,
        "h1",
        Some(json!({"captcha": "good-token"})),
        Some("192.0.2.44"),
    )
    .await;
    assert_eq!(r.status(), 201);
    {
        let seen = seen.lock().expect("lock");
        let last = seen.last().expect("asked the provider");
        assert_eq!(last.get("remoteip").map(String::as_str), Some("192.0.2.44"));
        assert_eq!(last.get("sitekey").map(String::as_str), Some("site-key-1"));
    }
    for token in [json!("bad"), json!({"token": "elsewhere"}), json!(12)] {
        let r = join_as(&app, "h1", Some(json!({"captcha": token})), None).await;
        assert_eq!(r.status(), 403, "{token}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["challenge"]["provider"], "hcaptcha");
    }
    // The provider is too slow: fail-closed refuses with 503 and Retry-After.
    let r = join_as(&app, "h1", Some(json!({"captcha": "slow"})), None).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());

    // Turnstile, provider unreachable, fail-open: the join goes through.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let turnstile = |open: bool| {
        move |s: &mut gateway::config::Settings| {
            s.edge.captcha_provider = CaptchaProvider::Turnstile;
            s.edge.captcha_secret = Some(Secret::new("sekrit"));
            s.edge.captcha_verify_url = Some(format!("http://{dead}/siteverify"));
            s.edge.captcha_timeout_ms = 300;
            s.edge.captcha_fail_open = open;
        }
    };
    let open = bot_app(turnstile(true)).await;
    open.create_queue("t1", guarded_queue(json!({}))).await;
    assert_eq!(challenge(&open, "t1").await["provider"], "turnstile");
    assert_eq!(
        join_as(&open, "t1", Some(json!({"captcha": "any"})), None)
            .await
            .status(),
        201
    );
    let closed = bot_app(turnstile(false)).await;
    closed.create_queue("t1", guarded_queue(json!({}))).await;
    assert_eq!(
        join_as(&closed, "t1", Some(json!({"captcha": "any"})), None)
            .await
            .status(),
        503
    );
    // Fail-open never excuses a missing solution.
    assert_eq!(join_as(&open, "t1", None, None).await.status(), 403);
}
