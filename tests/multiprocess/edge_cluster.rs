//! The edge over two `waitroom` processes sharing one Redis: rate limits
//! are per-process budgets (a client can spend one on each process), while
//! places per IP, CAPTCHA replay and infinite-queue places hold across
//! processes. Needs Redis at REDIS_URL (default 127.0.0.1:6379).

#[path = "common.rs"]
mod common;

use common::{redis_url, shared_keys, unique, Node};
use serde_json::{json, Value};
use std::time::Duration;

const ADMIN: &str = "edge-cluster-admin";

/// Two nodes behind a pretend proxy at 127.0.0.1, with a tight join limit
/// and an easy proof of work.
async fn two_nodes() -> (reqwest::Client, Node, Node) {
    let (redis, keys) = (redis_url(), shared_keys("e1"));
    let start = || {
        Node::start(&[
            ("REDIS_URL", redis.as_str()),
            ("WAITROOM_SIGNING_KEYS", keys.as_str()),
            ("WAITROOM_ADMIN_TOKEN", ADMIN),
            ("WAITROOM_TICK_MS", "200"),
            ("WAITROOM_TRUSTED_PROXIES", "127.0.0.1"),
            ("WAITROOM_POW_DIFFICULTY", "8"),
            ("WAITROOM_RATE_LIMITS__JOIN__PER_IP_PER_MINUTE", "1"),
            ("WAITROOM_RATE_LIMITS__JOIN__IP_BURST", "3"),
        ])
    };
    let (a, b) = (start(), start());
    let http = reqwest::Client::new();
    a.ready(&http).await;
    b.ready(&http).await;
    (http, a, b)
}

async fn create(http: &reqwest::Client, node: &Node, event: &str, settings: Value) {
    let status = node.put_queue(http, ADMIN, event, &settings).await;
    assert!(status.is_success(), "create: {status}");
    // Let both processes' views pick the settings up.
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn join(
    http: &reqwest::Client,
    node: &Node,
    event: &str,
    ip: &str,
    body: Value,
) -> reqwest::Response {
    http.post(node.url(&format!("/api/v1/queue/{event}/join")))
        .header("x-queue-token-in-body", "1")
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_per_process_budgets_and_place_caps_are_shared() {
    let (http, a, b) = two_nodes().await;
    let event = unique("edge");
    create(
        &http,
        &a,
        &event,
        json!({"captcha": "off", "max_places_per_ip": 2}),
    )
    .await;

    // One client, the same address, spends A's budget and then B's.
    let ip = "203.0.113.50";
    let other = unique("edge2");
    create(&http, &a, &other, json!({"captcha": "off"})).await;
    let mut statuses = Vec::new();
    for node in [&a, &a, &a, &a, &b, &b, &b, &b] {
        statuses.push(
            join(&http, node, &other, ip, json!({}))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        vec![201, 201, 201, 429, 201, 201, 201, 429],
        "one budget per process"
    );

    // Places per IP: 2 across both processes, whichever one is asked.
    let ip = "203.0.113.60";
    let mut statuses = Vec::new();
    for node in [&a, &b, &a, &b] {
        statuses.push(
            join(&http, node, &event, ip, json!({}))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        vec![201, 201, 403, 403],
        "the cap holds across processes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solution_spent_on_one_process_is_spent_on_all() {
    let (http, a, b) = two_nodes().await;
    let event = unique("pow");
    create(
        &http,
        &a,
        &event,
        json!({"captcha_failure": "infinite_queue", "admit_per_minute": 0}),
    )
    .await;
    let c: Value = http
        .get(a.url(&format!("/api/v1/queue/{event}/challenge")))
        .send()
        .await
        .expect("challenge")
        .json()
        .await
        .expect("json");
    let text = c["challenge"].as_str().expect("text");
    let (nonce, _) = gateway::edge::captcha::pow::solve(text, 8);
    let body = json!({"captcha": {"challenge": text, "signature": c["signature"], "nonce": nonce}});
    let first = join(&http, &b, &event, "192.0.2.1", body.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    // Replayed on the other process: an infinite-queue place, not a real one.
    let replay = join(&http, &a, &event, "192.0.2.2", body).await;
    assert_eq!(replay.status(), 201);
    let replay: Value = replay.json().await.expect("json");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let info: Value = http
        .get(b.url(&format!("/api/v1/queue/{event}")))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("json");
    assert_eq!(
        info["waiting"], 1,
        "only the first solution took a real place: {info}"
    );
    // The shadow place looks the same from the other process.
    let status: Value = http
        .get(b.url(&format!("/api/v1/queue/{event}/status")))
        .header(
            "x-queue-token",
            replay["queue_token"].as_str().expect("credential"),
        )
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (status["state"].as_str(), status["ticket"].as_u64()),
        (Some("waiting"), replay["ticket"].as_u64())
    );
    assert_eq!(first["ticket"], 1);
}

/// The next `sample` of a dashboard feed whose rejections satisfy `done`,
/// within 15 s; returns those rejections.
async fn rejections_until(node: &Node, event: &str, done: impl Fn(&Value) -> bool) -> Value {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = node
        .ws_url(&format!("/api/v1/admin/events/{event}/live"))
        .into_client_request()
        .expect("request");
    let auth = format!("Bearer {ADMIN}").parse().expect("header");
    req.headers_mut().insert("authorization", auth);
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("dashboard socket");
    let mut last = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
        let Ok(v) = serde_json::from_str::<Value>(msg.to_text().unwrap_or("")) else {
            continue;
        };
        if v["type"] == "sample" {
            last = v["rejections"].clone();
            if done(&last) {
                return last;
            }
        }
    }
    panic!("{event}: rejections never reached the expected counts; last seen {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_an_events_rejections_across_processes() {
    let (http, a, b) = two_nodes().await;
    let (event, quiet) = (unique("rej"), unique("quiet"));
    let guarded = json!({"captcha": "on_join", "captcha_failure": "refuse"});
    create(&http, &a, &event, guarded).await;
    create(&http, &a, &quiet, json!({"captcha": "off"})).await;
    // On each process: three joins without a solution (the burst), then
    // one past the rate limit.
    for node in [&a, &b] {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let r = join(&http, node, &event, "198.51.100.7", json!({})).await;
            statuses.push(r.status().as_u16());
        }
        assert_eq!(statuses, vec![403, 403, 403, 429]);
    }
    let want = json!({"rate_limited": 2, "captcha_failed": 6});
    let seen = rejections_until(&b, &event, |r| *r == want).await;
    assert_eq!(seen, want, "both processes' refusals, on one dashboard");
    let calm = rejections_until(&a, &quiet, |_| true).await;
    assert_eq!(
        calm,
        json!({"rate_limited": 0, "captcha_failed": 0}),
        "per event"
    );
}
