//! Joining, rejoining, status, and bad input at the door.

use crate::helpers::*;
use serde_json::Value;

#[tokio::test]
async fn joins_get_dense_tickets_and_rejoining_keeps_the_place() {
    let app = spawn_app().await;
    app.create_queue("j1", queue(0, 10)).await;
    let a = app.join("j1").await;
    let b = app.join("j1").await;
    assert_eq!(
        (a["ticket"].as_u64(), b["ticket"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(b["position"], 2);
    assert_eq!(b["ahead"], 1);
    assert_eq!(b["state"], "waiting");
    assert!(b["eta_seconds"].is_null(), "no rate measured yet: {b}");

    // Again with the credential as a header: same place, 200 not 201.
    let token = b["queue_token"].as_str().expect("token");
    let again = app
        .http
        .post(app.url("/api/v1/queue/j1/join"))
        .header("x-queue-token-in-body", "1")
        .header("x-queue-token", token)
        .send()
        .await
        .expect("rejoin");
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.expect("body");
    assert_eq!(again["ticket"], 2);
    assert_eq!(again["visitor_id"], b["visitor_id"]);

    // And with the cookie the join set.
    let cookie_client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let first: Value = cookie_client
        .post(app.url("/api/v1/queue/j1/join"))
        .header("x-queue-token-in-body", "1")
        .send()
        .await
        .expect("join")
        .json()
        .await
        .expect("body");
    let second = cookie_client
        .post(app.url("/api/v1/queue/j1/join"))
        .header("x-queue-token-in-body", "1")
        .send()
        .await
        .expect("join");
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.expect("body");
    assert_eq!(first["ticket"], 3);
    assert_eq!(second["ticket"], 3);
    let status: Value = cookie_client
        .get(app.url("/api/v1/queue/j1/status"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("body");
    assert_eq!(status["ticket"], 3);
    assert_eq!(status["position"], 3);
}

#[tokio::test]
async fn tampered_or_foreign_credentials_are_refused_and_cost_nothing() {
    let app = spawn_app().await;
    app.create_queue("t1", queue(0, 10)).await;
    app.create_queue("t2", queue(0, 10)).await;
    let a = app.join("t1").await;
    let token = a["queue_token"].as_str().expect("token").to_owned();

    // Flip one character in the payload.
    let mut bytes = token.clone().into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).expect("ascii");
    for bad in [tampered.as_str(), "garbage", "v1.x.y.z", ""] {
        let r = app
            .http
            .post(app.url("/api/v1/queue/t1/join"))
            .header("x-queue-token-in-body", "1")
            .header("x-queue-token", bad)
            .send()
            .await
            .expect("join");
        assert_eq!(r.status(), 401, "token {bad:?}");
        let body: Value = r.json().await.expect("json error");
        assert!(body["error"]["code"].is_string(), "{body}");
        assert_eq!(app.status("t1", bad).await.status(), 401);
    }
    // A credential of t1 cannot take or move a place in t2.
    let r = app
        .http
        .post(app.url("/api/v1/queue/t2/join"))
        .header("x-queue-token-in-body", "1")
        .header("x-queue-token", &token)
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "credential_wrong_event");

    // Nothing was created: the next join in each queue gets the next ticket.
    assert_eq!(app.join("t1").await["ticket"], 2);
    assert_eq!(app.join("t2").await["ticket"], 1);
    // And the original place is intact.
    let s: Value = app.status("t1", &token).await.json().await.expect("status");
    assert_eq!(s["ticket"], 1);
}

#[tokio::test]
async fn bad_requests_get_clear_json_errors() {
    let app = spawn_app().await;
    app.create_queue("b1", queue(0, 10)).await;
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            app.http
                .post(app.url("/api/v1/queue/nope/join"))
                .header("x-queue-token-in-body", "1"),
            404,
            "unknown_event",
        ),
        (
            app.http
                .post(app.url("/api/v1/queue/bad%20id/join"))
                .header("x-queue-token-in-body", "1"),
            400,
            "invalid_id",
        ),
        (
            app.http
                .post(app.url("/api/v1/queue/b1/join"))
                .header("x-queue-token-in-body", "1")
                .header("content-type", "application/json")
                .body("{not json"),
            400,
            "invalid_json",
        ),
        (
            app.http.get(app.url("/api/v1/queue/b1/status")),
            401,
            "credential_required",
        ),
        (
            app.http.get(app.url("/api/v1/queue/nope")),
            404,
            "unknown_event",
        ),
        (
            app.http.get(app.url("/api/v1/nothing/here")),
            404,
            "not_found",
        ),
    ];
    for (req, status, code) in cases {
        let r = req.send().await.expect("request");
        assert_eq!(r.status().as_u16(), status, "expected {code}");
        let body: Value = r.json().await.expect("json error body");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    // A closed queue refuses new places.
    app.patch_queue("b1", serde_json::json!({"state": "closed"}))
        .await;
    let r = app
        .http
        .post(app.url("/api/v1/queue/b1/join"))
        .header("x-queue-token-in-body", "1")
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn room_info_and_ops_endpoints_answer() {
    let app = spawn_app().await;
    app.create_queue("r1", queue(120, 10)).await;
    app.join("r1").await;
    let info: Value = app
        .http
        .get(app.url("/api/v1/queue/r1"))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("json");
    assert_eq!(info["state"], "open");
    assert_eq!(info["admit_per_minute"], 120);
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("healthz")
            .status(),
        200
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("waitroom_http_requests_total"),
        "{metrics}"
    );
}

/// Errors the framework raises itself (405, 413, a WebSocket route called
/// without an upgrade) come in the JSON error shape too.
#[tokio::test]
async fn framework_errors_are_json_too() {
    let app = spawn_app().await;
    app.create_queue("fw", queue(60, 10)).await;
    let huge = "x".repeat(200 * 1024);
    let cases = [
        (
            reqwest::Method::POST,
            "/api/v1/queue/fw/join",
            Some(huge),
            413,
            "payload_too_large",
        ),
        (
            reqwest::Method::DELETE,
            "/api/v1/queue/fw/join",
            None,
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::GET,
            "/api/v1/queue/fw/ws",
            None,
            400,
            "invalid_request",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let mut req = app.http.request(method.clone(), app.url(path));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let r = req.send().await.expect("request");
        assert_eq!(r.status().as_u16(), status, "{method} {path}");
        if status == 405 {
            assert!(r.headers().get("allow").is_some(), "405 keeps Allow");
        }
        let v: Value = r.json().await.expect("a JSON error body");
        assert_eq!(v["error"]["code"], code, "{method} {path}: {v}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
}

/// A join body is bounded at 16 KiB whether or not the edge reads it (a
/// CAPTCHA solution): over it, 413 and no place; a small body, or none,
/// joins.
#[tokio::test]
async fn a_join_body_over_16_kib_is_refused_and_takes_no_place() {
    let app = spawn_app().await;
    app.create_queue("jb", queue(0, 10)).await;
    let join = |body: Option<String>| {
        let req = app
            .http
            .post(app.url("/api/v1/queue/jb/join"))
            .header("content-type", "application/json");
        match body {
            Some(body) => req.body(body),
            None => req,
        }
    };
    let big = format!(r#"{{"captcha":"{}"}}"#, "x".repeat(20 * 1024));
    let r = join(Some(big)).send().await.expect("join");
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.expect("json error body");
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    // The refused join took no ticket: the next ones get 1, 2 and 3.
    for (ticket, body) in [Some("{}".to_owned()), Some("null".to_owned()), None]
        .into_iter()
        .enumerate()
    {
        let r = join(body.clone()).send().await.expect("join");
        assert_eq!(r.status(), 201, "{body:?}");
        let status: Value = r.json().await.expect("json");
        assert_eq!(status["ticket"], ticket + 1, "{body:?}");
    }
}
