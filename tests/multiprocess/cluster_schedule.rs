//! Two `waitroom` processes sharing Redis and PostgreSQL both run the sale
//! scheduler: each lifecycle step happens exactly once (compare-and-set on
//! the settings version), the pre-queue is shuffled once into dense tickets
//! 1..N across both processes, in the order recomputed from the revealed
//! seed, and only one process creates the first owner.
//! Needs Redis at REDIS_URL and PostgreSQL at WR_TEST_POSTGRES_URL.

#[path = "common.rs"]
mod common;

use common::{fresh_postgres, redis_url, shared_keys, unique, Node};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::{Duration, Instant};

const ADMIN: &str = "cluster-schedule-admin";

/// A node of this test: shared Redis and PostgreSQL, fast ticks.
fn start(redis: &str, database: &str, keys: &str) -> Node {
    Node::start(&[
        ("REDIS_URL", redis),
        ("DATABASE_URL", database),
        ("WAITROOM_SIGNING_KEYS", keys),
        ("WAITROOM_ADMIN_TOKEN", ADMIN),
        ("WAITROOM_ADMIN_PASSWORD", "cluster-owner-pw"),
        ("WAITROOM_TICK_MS", "100"),
        ("WAITROOM_RATE_LIMITS__ENABLED", "false"),
    ])
}

async fn get(http: &reqwest::Client, url: String) -> Value {
    let r = http.get(url).bearer_auth(ADMIN).send().await.expect("get");
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.expect("json")
}

async fn wait_state(http: &reqwest::Client, node: &Node, event: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = get(http, node.url(&format!("/api/v1/queue/{event}"))).await;
        if info["state"] == state {
            return info;
        }
        assert!(Instant::now() < deadline, "never {state}: {info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_schedulers_shuffle_once_into_dense_tickets() {
    let redis = redis_url();
    let database = fresh_postgres().await;
    let keys = shared_keys("s1");
    let nodes = [
        start(&redis, &database, &keys),
        start(&redis, &database, &keys),
    ];
    let http = reqwest::Client::new();
    for node in &nodes {
        node.ready(&http).await;
    }
    let event = unique("sched");
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let schedule = json!({
        "state": "scheduled", "captcha": "off", "admit_per_minute": 0,
        "prequeue_at": t0 + 1_000, "opens_at": t0 + 3_000,
    });
    let status = nodes[0].put_queue(&http, ADMIN, &event, &schedule).await;
    assert_eq!(status, 201);

    wait_state(&http, &nodes[1], &event, "prequeue").await;
    let mut fans = Vec::new();
    for i in 0..30 {
        let node = &nodes[i % 2];
        let r = http
            .post(node.url(&format!("/api/v1/queue/{event}/join")))
            .header("x-queue-token-in-body", "1")
            .send()
            .await
            .expect("join");
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["ticket"], 0);
        fans.push((
            body["visitor_id"].as_str().expect("id").to_owned(),
            body["queue_token"].as_str().expect("token").to_owned(),
        ));
    }
    let info = wait_state(&http, &nodes[0], &event, "open").await;
    let seed = hex::decode(info["seed"].as_str().expect("seed revealed")).expect("hex");
    let mut expected: Vec<(Vec<u8>, String)> = fans
        .iter()
        .map(|(id, _)| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&seed).expect("key");
            mac.update(id.as_bytes());
            (mac.finalize().into_bytes().to_vec(), id.clone())
        })
        .collect();
    expected.sort();
    for (i, (id, token)) in fans.iter().enumerate() {
        let r = http
            .get(nodes[i % 2].url(&format!("/api/v1/queue/{event}/status")))
            .header("x-queue-token", token)
            .send()
            .await
            .expect("status");
        let body: Value = r.json().await.expect("json");
        let place = expected.iter().position(|(_, e)| e == id).expect("listed");
        assert_eq!(body["ticket"], place as u64 + 1, "{id}: {body}");
    }

    // Each step once, though both processes run the scheduler; one owner.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let audit = get(&http, nodes[1].url("/api/v1/admin/audit?limit=1000")).await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("list")
        .iter()
        .filter(|e| e["target"] == format!("event:{event}") || e["actor"] == "bootstrap")
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "schedule.open",
            "schedule.prequeue",
            "queue.settings.replace",
            "operator.create"
        ]
    );
    let operators = get(&http, nodes[0].url("/api/v1/admin/operators")).await;
    assert_eq!(operators.as_array().map(Vec::len), Some(1));
    forget(&redis, &event).await;
}

/// Removes a passed test's event from the shared Redis.
async fn forget(redis: &str, event: &str) {
    let store = queue::store::redis::RedisStore::connect(redis)
        .await
        .expect("connect for cleanup");
    let event = queue::EventId::parse(event).expect("event id");
    queue::QueueStore::remove_event(&store, &event)
        .await
        .expect("forget");
}
