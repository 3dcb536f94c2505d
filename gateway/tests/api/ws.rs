//! The WebSocket: hello, live positions, admission, abuse, shutdown.

use crate::helpers::*;
use futures::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_waiter_sees_its_position_fall_and_then_its_admission() {
    let app = spawn_app().await;
    app.create_queue("w1", queue(0, 100)).await;
    for _ in 0..3 {
        app.join("w1").await;
    }
    let me = app.join("w1").await;
    let token = me["queue_token"].as_str().expect("token");
    let mut ws = app.ws("w1", token).await;
    let hello = next_json(&mut ws, 5).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["protocol"], 1);
    assert_eq!(hello["position"], 4);
    assert_eq!(hello["state"], "waiting");

    // 600 a minute = one per 100 ms tick.
    app.patch_queue("w1", json!({"admit_per_minute": 600}))
        .await;
    let mut last = 4;
    loop {
        let m = next_json(&mut ws, 10).await;
        match m["type"].as_str() {
            Some("position") => {
                let p = m["position"].as_u64().expect("position");
                // The front hears every change, the waiting count's too,
                // so a message may repeat the position; it never rises.
                assert!(p <= last, "position must never rise: {p} after {last}");
                assert_eq!(m["ahead"].as_u64(), Some(p - 1));
                assert!(m["at"].as_u64().is_some());
                last = p;
            }
            Some("admitted") => {
                assert_eq!(m["ticket"], 4);
                let jwt = m["admission_token"].as_str().expect("jwt");
                assert_eq!(jwt.split('.').count(), 3);
                assert_eq!(m["next"], "/events/w1/book");
                break;
            }
            Some("state") => {}
            other => panic!("unexpected message {other:?}: {m}"),
        }
    }
    assert!(
        last < 4,
        "saw at least one position update before admission"
    );
    // Status agrees and hands out the same token id.
    let s: serde_json::Value = app.status("w1", token).await.json().await.expect("status");
    assert_eq!(s["state"], "admitted");
    assert!(s["admission_token"].is_string());
}

#[tokio::test]
async fn pause_is_announced_and_admits_nobody() {
    let app = spawn_app().await;
    app.create_queue("w2", queue(0, 100)).await;
    let me = app.join("w2").await;
    let mut ws = app
        .ws("w2", me["queue_token"].as_str().expect("token"))
        .await;
    next_of(&mut ws, "hello", 5).await;
    app.patch_queue("w2", json!({"state": "paused", "admit_per_minute": 6000}))
        .await;
    let m = next_of(&mut ws, "state", 5).await;
    assert_eq!(m["queue_state"], "paused");
    // While paused, several ticks pass without admission.
    let info_before: serde_json::Value = app
        .http
        .get(app.url("/api/v1/queue/w2"))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("json");
    assert_eq!(info_before["active"], 0);
    app.patch_queue("w2", json!({"state": "open"})).await;
    let m = next_of(&mut ws, "state", 5).await;
    assert_eq!(m["queue_state"], "open");
    next_of(&mut ws, "admitted", 5).await;
}

#[tokio::test]
async fn oversized_frames_close_the_socket_but_keep_the_place() {
    let app = spawn_app().await;
    app.create_queue("w3", queue(0, 100)).await;
    app.join("w3").await;
    let me = app.join("w3").await;
    let token = me["queue_token"].as_str().expect("token");
    let mut ws = app.ws("w3", token).await;
    next_of(&mut ws, "hello", 5).await;
    let _ = ws.send(Message::Text("x".repeat(64 * 1024).into())).await;
    let closed = loop {
        match tokio::time::timeout(
            std::time::Duration::from_secs(5),
            futures::StreamExt::next(&mut ws),
        )
        .await
        {
            Ok(Some(Ok(Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_))) | Ok(None) => break None,
            Err(_) => panic!("socket was not closed"),
        }
    };
    if let Some(frame) = closed {
        assert_eq!(u16::from(frame.code), 1009, "policy close code");
    }
    let s: serde_json::Value = app.status("w3", token).await.json().await.expect("status");
    assert_eq!(s["state"], "waiting");
    assert_eq!(s["ticket"], 2);
    // And a new socket works.
    let mut ws = app.ws("w3", token).await;
    assert_eq!(next_of(&mut ws, "hello", 5).await["position"], 2);
}

#[tokio::test]
async fn shutdown_tells_waiters_to_reconnect_and_keeps_places() {
    let mut app = spawn_app().await;
    app.create_queue("w4", queue(0, 100)).await;
    let me = app.join("w4").await;
    let mut ws = app
        .ws("w4", me["queue_token"].as_str().expect("token"))
        .await;
    next_of(&mut ws, "hello", 5).await;
    app.stop();
    let m = next_of(&mut ws, "reconnect", 5).await;
    assert_eq!(m["reason"], "shutdown");
    assert!(m["retry_ms"].as_u64().is_some());
}

#[tokio::test]
async fn a_socket_without_a_place_is_refused() {
    let app = spawn_app().await;
    app.create_queue("w5", queue(0, 100)).await;
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/queue/w5/ws"))
        .header("x-queue-token", "forged")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
}
