//! Several `waitroom` processes sharing one Redis: dense tickets under
//! concurrent joins, places that move between processes, FIFO admission
//! under the cap, and admitter takeover when the admitting process dies.
//! Needs Redis at REDIS_URL (default 127.0.0.1:6379); fails without it.

#[path = "common.rs"]
mod common;

use common::{redis_url, shared_keys, unique, Node};
use futures::{stream, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

const ADMIN: &str = "cluster-admin";

/// A node of this test: fast ticks, a short lease, no edge limits.
fn start(redis: &str, keys: &str) -> Node {
    Node::start(&[
        ("REDIS_URL", redis),
        ("WAITROOM_SIGNING_KEYS", keys),
        ("WAITROOM_ADMIN_TOKEN", ADMIN),
        ("WAITROOM_TICK_MS", "200"),
        ("WAITROOM_LEASE_TTL_MS", "1500"),
        ("WAITROOM_RATE_LIMITS__ENABLED", "false"),
    ])
}

async fn create(http: &reqwest::Client, node: &Node, event: &str, settings: Value) {
    let status = node.put_queue(http, ADMIN, event, &settings).await;
    assert!(status.is_success(), "create: {status}");
}

async fn join(http: &reqwest::Client, node: &Node, event: &str) -> Value {
    let r = http
        .post(node.url(&format!("/api/v1/queue/{event}/join")))
        .header("x-queue-token-in-body", "1")
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 201);
    r.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_joins_over_two_processes_get_dense_tickets_and_portable_places() {
    let redis = redis_url();
    let keys = shared_keys("c1");
    let (a, b) = (start(&redis, &keys), start(&redis, &keys));
    let http = reqwest::Client::new();
    a.ready(&http).await;
    b.ready(&http).await;
    let event = unique("dense");
    create(
        &http,
        &a,
        &event,
        json!({"admit_per_minute": 0, "max_active": 10, "captcha": "off"}),
    )
    .await;

    let nodes = [&a, &b];
    let results: Vec<Value> = stream::iter(0..2_000)
        .map(|i| join(&http, nodes[i % 2], &event))
        .buffer_unordered(200)
        .collect()
        .await;
    let mut tickets: Vec<u64> = results
        .iter()
        .map(|r| r["ticket"].as_u64().expect("ticket"))
        .collect();
    tickets.sort_unstable();
    assert_eq!(
        tickets,
        (1..=2_000).collect::<Vec<u64>>(),
        "2,000 distinct dense tickets"
    );

    // A place taken on A is the same place on B, over HTTP and WebSocket.
    let mine = join(&http, &a, &event).await;
    let cred = mine["queue_token"].as_str().expect("credential");
    let on_b: Value = http
        .get(b.url(&format!("/api/v1/queue/{event}/status")))
        .header("x-queue-token", cred)
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(on_b["ticket"], 2_001);
    assert_eq!(on_b["position"], 2_001);
    let mut req = b
        .ws_url(&format!("/api/v1/queue/{event}/ws"))
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("x-queue-token", cred.parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("ws");
    let hello = next_json(&mut ws).await.expect("hello");
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["ticket"], 2_001);
    assert_eq!(hello["position"], 2_001);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Connects a waiter and forwards (ticket, admitted_at) when admitted.
async fn watch(
    node_ws: String,
    cred: String,
    tx: tokio::sync::mpsc::UnboundedSender<(u64, u64, Instant)>,
) {
    let mut req = node_ws.into_client_request().expect("request");
    req.headers_mut()
        .insert("x-queue-token", cred.parse().expect("header"));
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(req).await else {
        return;
    };
    while let Some(m) = next_json(&mut ws).await {
        if m["type"] == "admitted" {
            let t = m["ticket"].as_u64().expect("ticket");
            let at = m["admitted_at"].as_u64().expect("admitted_at");
            let _ = tx.send((t, at, Instant::now()));
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admission_is_fifo_and_capped_and_the_other_process_takes_over() {
    let redis = redis_url();
    let keys = shared_keys("c1");
    let http = reqwest::Client::new();
    let a = start(&redis, &keys);
    a.ready(&http).await;
    let event = unique("fifo");
    create(
        &http,
        &a,
        &event,
        json!({"admit_per_minute": 0, "max_active": 25, "session_ttl_seconds": 600, "departure_grace_seconds": 120, "captcha": "off"}),
    )
    .await;
    // A has been ticking alone, so it holds the admitter lease.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut a = Some(a);
    let b = start(&redis, &keys);
    b.ready(&http).await;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let path = format!("/api/v1/queue/{event}/ws");
    for i in 0..60 {
        // Waiters alternate between the two processes.
        let node = if i % 2 == 0 {
            a.as_ref().expect("a")
        } else {
            &b
        };
        let me = join(&http, node, &event).await;
        let cred = me["queue_token"].as_str().expect("credential").to_owned();
        tokio::spawn(watch(node.ws_url(&path), cred, tx.clone()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let patch = |node: &Node, body: Value| {
        http.patch(node.url(&format!("/api/v1/admin/events/{event}/queue")))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
    };
    assert!(patch(&b, json!({"admit_per_minute": 6000}))
        .await
        .expect("patch")
        .status()
        .is_success());

    // The cap binds: exactly 25 admitted, in ticket order, and never more
    // than 25 active however often we look.
    let mut admitted: BTreeMap<u64, u64> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while admitted.len() < 25 && Instant::now() < deadline {
        if let Ok(Some((t, at, _))) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            admitted.insert(t, at);
        }
        let info: Value = http
            .get(b.url(&format!("/api/v1/queue/{event}")))
            .send()
            .await
            .expect("info")
            .json()
            .await
            .expect("json");
        assert!(
            info["active"].as_u64().unwrap_or(0) <= 25,
            "active over the cap: {info}"
        );
    }
    // Two more seconds: nobody else may get in while the cap is full.
    let extra = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await;
    assert!(extra.is_err(), "admitted past the cap: {extra:?}");
    assert_eq!(
        admitted.keys().copied().collect::<Vec<_>>(),
        (1..=25).collect::<Vec<u64>>()
    );
    let times: Vec<u64> = admitted.values().copied().collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "no FIFO inversion: {times:?}"
    );

    // Kill the admitting process; B must take over and admit more.
    drop(a.take());
    let killed = Instant::now();
    assert!(patch(&b, json!({"max_active": 40}))
        .await
        .expect("patch")
        .status()
        .is_success());
    let (t, _, seen) = tokio::time::timeout(Duration::from_secs(8), rx.recv())
        .await
        .expect("the surviving process took over admission")
        .expect("admission");
    assert!(t > 25, "next admissions continue the order: {t}");
    assert!(
        seen.duration_since(killed) < Duration::from_secs(5),
        "takeover within a few seconds"
    );
}
