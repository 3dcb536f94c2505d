//! Sale analytics over two `waitroom` processes sharing Redis and
//! PostgreSQL: a small sale whose fans join, give up, come back and are
//! admitted on either process; the persisted per-minute figures count each
//! of them once, the wait percentiles match the waits the fans saw, and a
//! third process started after both are gone reports the same.
//! Needs Redis at REDIS_URL and PostgreSQL at WR_TEST_POSTGRES_URL.

#[path = "common.rs"]
mod common;

use common::{fresh_postgres, redis_url, shared_keys, unique, Node};
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ADMIN: &str = "cluster-analytics-admin";

fn start(redis: &str, database: &str, keys: &str) -> Node {
    Node::start(&[
        ("REDIS_URL", redis),
        ("DATABASE_URL", database),
        ("WAITROOM_SIGNING_KEYS", keys),
        ("WAITROOM_ADMIN_TOKEN", ADMIN),
        ("WAITROOM_ADMIN_PASSWORD", "cluster-owner-pw"),
        ("WAITROOM_TICK_MS", "200"),
        ("WAITROOM_LEASE_TTL_MS", "1500"),
        ("WAITROOM_RATE_LIMITS__ENABLED", "false"),
    ])
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct Fan {
    token: String,
    joined: u64,
    admitted: Option<u64>,
}

async fn join(http: &reqwest::Client, node: &Node, event: &str, token: Option<&str>) -> Fan {
    let mut req = http
        .post(node.url(&format!("/api/v1/queue/{event}/join")))
        .header("x-queue-token-in-body", "1");
    if let Some(t) = token {
        req = req.header("x-queue-token", t);
    }
    let joined = now_ms();
    let r = req.send().await.expect("join");
    assert_eq!(r.status(), 201, "a fresh place");
    let body: Value = r.json().await.expect("json");
    Fan {
        token: body["queue_token"].as_str().expect("token").to_owned(),
        joined,
        admitted: None,
    }
}

/// Polls `fan` (which also keeps their place) and notes their admission.
async fn poll(http: &reqwest::Client, node: &Node, event: &str, fan: &mut Fan) -> String {
    let body: Value = http
        .get(node.url(&format!("/api/v1/queue/{event}/status")))
        .header("x-queue-token", &fan.token)
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    let state = body["state"].as_str().unwrap_or_default().to_owned();
    if state == "admitted" && fan.admitted.is_none() {
        fan.admitted = Some(now_ms());
    }
    state
}

async fn admin_get(http: &reqwest::Client, url: String) -> reqwest::Response {
    http.get(url).bearer_auth(ADMIN).send().await.expect("get")
}

/// Nearest-rank percentile of whole seconds, like the report's.
fn percentile(sorted: &[u64], p: usize) -> u64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sale_on_two_processes_is_counted_once_and_outlives_them() {
    let redis = redis_url();
    let database = fresh_postgres().await;
    let keys = shared_keys("an");
    let (mut a, mut b) = (
        start(&redis, &database, &keys),
        start(&redis, &database, &keys),
    );
    let http = reqwest::Client::new();
    a.ready(&http).await;
    b.ready(&http).await;
    let event = unique("stats");
    // Places are not kept (`place_ttl_seconds` 0): a fan who comes back
    // takes a new one, which the figures count as a join and a return.
    let settings = json!({"admit_per_minute": 0, "max_active": 100, "captcha": "off",
        "departure_grace_seconds": 5, "place_ttl_seconds": 0});
    assert!(a
        .put_queue(&http, ADMIN, &event, &settings)
        .await
        .is_success());

    // Six fans join on alternating processes, 400 ms apart, so their waits
    // differ; the last two stop polling (their places depart).
    let nodes = [&a, &b];
    let mut fans = Vec::new();
    for i in 0..6 {
        fans.push(join(&http, nodes[i % 2], &event, None).await);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let (quitter, mut returner) = (fans.remove(5), fans.remove(4));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for (i, fan) in fans.iter_mut().enumerate() {
            poll(&http, nodes[i % 2], &event, fan).await;
        }
        let info: Value = http
            .get(a.url(&format!("/api/v1/queue/{event}")))
            .send()
            .await
            .expect("info")
            .json()
            .await
            .expect("json");
        if info["waiting"] == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the two never departed: {info}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(quitter);
    // One comes back with their credential: a new place, counted as a return.
    returner = join(&http, &b, &event, Some(&returner.token)).await;
    fans.push(returner);

    let patch = http
        .patch(a.url(&format!("/api/v1/admin/events/{event}/queue")))
        .bearer_auth(ADMIN)
        .json(&json!({"admit_per_minute": 600}))
        .send()
        .await
        .expect("patch");
    assert!(patch.status().is_success(), "{}", patch.status());
    let deadline = Instant::now() + Duration::from_secs(20);
    while fans.iter().any(|f| f.admitted.is_none()) {
        for (i, fan) in fans.iter_mut().enumerate() {
            if fan.admitted.is_none() {
                poll(&http, nodes[i % 2], &event, fan).await;
            }
        }
        assert!(Instant::now() < deadline, "not everyone was admitted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut waits: Vec<u64> = fans
        .iter()
        .map(|f| (f.admitted.unwrap_or_default() - f.joined) / 1_000)
        .collect();
    waits.sort_unstable();

    // Both processes saw every tick; each figure must be counted once.
    let path = format!("/api/v1/admin/events/{event}/analytics");
    let deadline = Instant::now() + Duration::from_secs(40);
    let report = loop {
        let r: Value = admin_get(&http, b.url(&path))
            .await
            .json()
            .await
            .expect("json");
        let s = &r["summary"];
        if s["admitted"] == 5 && s["joins"] == 7 && s["departed"] == 2 {
            break r;
        }
        assert!(Instant::now() < deadline, "figures never arrived: {r}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let s = &report["summary"];
    assert_eq!(
        (s["returned"].as_i64(), s["abandoned"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (s["holds"].as_i64(), s["orders"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(s["rate_limited"], 0);
    let minutes = report["minutes"].as_array().expect("minutes");
    assert!(!minutes.is_empty() && minutes.len() <= 2, "{minutes:?}");
    let sum = |k: &str| {
        minutes
            .iter()
            .map(|m| m[k].as_i64().unwrap_or(0))
            .sum::<i64>()
    };
    assert_eq!((sum("joins"), sum("admitted"), sum("departed")), (7, 5, 2));
    assert!(minutes
        .iter()
        .all(|m| m["t"].as_i64().unwrap_or(1) % 60_000 == 0));
    let last = minutes.last().expect("a minute");
    assert_eq!(
        (last["waiting"].as_i64(), last["active"].as_i64()),
        (Some(0), Some(5))
    );

    // The server measures from the tick that first showed each ticket to
    // the tick that admitted it; the fans from their request to their
    // poll: the same to within a second.
    let w = &report["waits"];
    assert_eq!(
        (w["count"].as_u64(), w["unknown"].as_u64()),
        (Some(5), Some(0))
    );
    for (field, p) in [("p50", 50), ("p90", 90), ("p99", 99)] {
        let server = w[field].as_u64().expect("percentile");
        let fans = percentile(&waits, p);
        assert!(
            server.abs_diff(fans) <= 1,
            "{field}: server {server} s, fans {fans} s ({waits:?})"
        );
    }

    let csv = admin_get(&http, b.url(&format!("{path}.csv"))).await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.expect("csv");
    let admitted: u64 = csv
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(2)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
    assert!(csv.starts_with("minute_utc,joins,admitted,"), "{csv}");
    assert_eq!(admitted, 5);

    // Both processes gone, a new one reads the same sale from the database.
    a.kill();
    b.kill();
    let c = start(&redis, &database, &keys);
    c.ready(&http).await;
    let again: Value = admin_get(&http, c.url(&path))
        .await
        .json()
        .await
        .expect("json");
    for k in ["joins", "admitted", "departed", "returned", "abandoned"] {
        assert_eq!(again["summary"][k], report["summary"][k], "{k}");
    }
    assert_eq!(again["waits"]["p90"], report["waits"]["p90"]);

    let bad = admin_get(&http, c.url(&format!("{path}?from=yesterday"))).await;
    assert_eq!(bad.status(), 422);
    let none = admin_get(&http, c.url("/api/v1/admin/events/no-such-sale/analytics")).await;
    assert_eq!(none.status(), 404);
}
