//! The edge decides by the matched route and its decoded id, never by the
//! raw URL: a percent-encoded event id gets exactly the checks of the plain
//! one, and a path id that does not decode to a valid id is refused with
//! 400 `invalid_id` on every route, before any guard or handler.

use crate::bots::{bot_app, challenge, error_code, guarded_queue, join_as, solved};
use crate::helpers::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Spellings of `demo` that the router decodes to `demo`.
const ENCODED_DEMO: [&str; 5] = ["de%6Do", "de%6do", "%64emo", "%64%65%6D%6F", "%64%65%6d%6f"];

/// `POST join` to a raw (already encoded) path.
async fn join_raw(app: &TestApp, raw_event: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(&format!("/api/v1/queue/{raw_event}/join")))
        .header("x-queue-token-in-body", "1");
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("join")
}

#[tokio::test]
async fn encoded_event_ids_get_the_captcha_and_the_place_cap() {
    let app = bot_app(|_| {}).await;
    app.create_queue(
        "demo",
        guarded_queue(json!({"captcha":"on_join","max_places_per_ip":1})),
    )
    .await;
    for raw in ENCODED_DEMO {
        let (status, body) = error_code(join_raw(&app, raw, None).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("captcha_required")),
            "{raw}: a join without a solution must be refused: {body}"
        );
    }
    // With a solution, one place for this address, whatever the spelling.
    let c = challenge(&app, "de%6Do").await;
    let first = join_raw(&app, "de%6Do", Some(solved(&c))).await;
    assert_eq!(first.status(), 201);
    let c = challenge(&app, "%64emo").await;
    let (status, body) = error_code(join_raw(&app, "%64emo", Some(solved(&c))).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("too_many_places")),
        "the place cap counts encoded joins: {body}"
    );
}

#[tokio::test]
async fn shadow_places_answer_alike_on_encoded_paths() {
    let app = bot_app(|_| {}).await;
    app.create_queue(
        "demo",
        guarded_queue(json!({"captcha":"on_join","captcha_failure":"infinite_queue"})),
    )
    .await;
    // No solution: a shadow place in the infinite queue, in the real
    // join's shape (no credential in the body unless asked for).
    let browser = app
        .http
        .post(app.url("/api/v1/queue/de%6Do/join"))
        .send()
        .await
        .expect("join");
    assert_eq!(browser.status(), 201);
    let browser: Value = browser.json().await.expect("json");
    assert!(browser.get("queue_token").is_none(), "{browser}");
    let r = join_as(&app, "demo", None, None).await;
    assert!(r.status().is_success(), "shadow join: {}", r.status());
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("credential cookie")
        .to_owned();
    let status_at = |raw: &'static str| {
        app.http
            .get(app.url(&format!("/api/v1/queue/{raw}/status")))
            .header("cookie", cookie.clone())
            .send()
    };
    let plain = status_at("demo").await.expect("status");
    assert_eq!(plain.status(), 200);
    let plain: Value = plain.json().await.expect("json");
    for raw in ["de%6Do", "%64%65%6d%6f"] {
        let r = status_at(raw).await.expect("status");
        assert_eq!(
            r.status(),
            200,
            "{raw}: the shadow place answers like the plain path"
        );
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["ticket"], plain["ticket"], "{raw}");
        assert_eq!(body["event"], "demo");
    }
    // The socket of a shadow place is the edge's too, on any spelling.
    let mut req = format!("ws://{}/api/v1/queue/de%6Do/ws", app.addr)
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("cookie", cookie.parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("shadow socket on an encoded path");
    let hello = next_json(&mut ws, 5).await;
    assert_eq!(hello["type"], "hello", "{hello}");
}

#[tokio::test]
async fn undecodable_or_invalid_path_ids_are_400_invalid_id_everywhere() {
    let app = spawn_app().await;
    app.create_queue("demo", queue(60, 10)).await;
    let long = "a".repeat(101);
    let cases: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::POST, "/api/v1/queue/de%256Do/join".into()),
        (reqwest::Method::GET, "/api/v1/queue/de%256Do/status".into()),
        (
            reqwest::Method::GET,
            "/api/v1/queue/de%256Do/challenge".into(),
        ),
        (reqwest::Method::GET, "/api/v1/queue/de%256Do/ws".into()),
        (reqwest::Method::GET, "/api/v1/queue/a%2Fb".into()),
        (reqwest::Method::GET, "/api/v1/queue/%C3%28/status".into()),
        (reqwest::Method::GET, "/api/v1/events/de%20mo/seats".into()),
        (reqwest::Method::POST, "/api/v1/events/a.b/holds".into()),
        (
            reqwest::Method::POST,
            format!("/api/v1/holds/{long}/checkout"),
        ),
        (reqwest::Method::GET, "/api/v1/orders/o%3B1".into()),
        (reqwest::Method::POST, "/api/v1/orders/%00/cancel".into()),
        (
            reqwest::Method::GET,
            "/api/v1/admin/events/%3Cx%3E/queue".into(),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/admin/events/demo/queue/pa%2Fuse".into(),
        ),
        (reqwest::Method::GET, "/queue/de%256Do".into()),
    ];
    for (method, path) in cases {
        let r = app
            .http
            .request(method.clone(), app.url(&path))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_id")),
            "{method} {path}: {body}"
        );
    }
    // A valid id that is merely encoded reaches the handler.
    let r = app
        .http
        .get(app.url("/api/v1/queue/%64emo"))
        .send()
        .await
        .expect("info");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_credential_is_in_the_body_only_when_asked_for() {
    let app = spawn_app().await;
    app.create_queue("demo", queue(0, 10)).await;
    let r = app
        .http
        .post(app.url("/api/v1/queue/demo/join"))
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 201);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let body: Value = r.json().await.expect("json");
    assert!(
        body.get("queue_token").is_none(),
        "a browser's join must not expose the credential to scripts: {body}"
    );
    let asked = app.join("demo").await;
    assert!(asked["queue_token"].is_string(), "{asked}");
}

#[tokio::test]
async fn the_socket_refuses_foreign_origins() {
    let app = spawn_app().await;
    app.create_queue("demo", queue(0, 10)).await;
    let token = app.join("demo").await["queue_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let upgrade = |origin: Option<String>| {
        let mut req = format!("ws://{}/api/v1/queue/demo/ws", app.addr)
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("x-queue-token", token.parse().expect("header"));
        if let Some(o) = origin {
            req.headers_mut()
                .insert("origin", o.parse().expect("header"));
        }
        tokio_tungstenite::connect_async(req)
    };
    match upgrade(Some("https://evil.example".into())).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403);
            let body: Value =
                serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).expect("json");
            assert_eq!(body["error"]["code"], "forbidden_origin");
        }
        other => panic!(
            "a foreign origin must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
    let own = format!("http://{}", app.addr);
    let (mut ws, _) = upgrade(Some(own)).await.expect("own origin");
    assert_eq!(next_json(&mut ws, 5).await["type"], "hello");
    let (mut ws, _) = upgrade(None).await.expect("no origin: not a browser page");
    assert_eq!(next_json(&mut ws, 5).await["type"], "hello");
}
