//! Two `waitroom` processes on a private Redis and a shared PostgreSQL:
//! the Redis loses everything (FLUSHALL) or comes back from an older
//! snapshot (a replica promoted after missing the last writes). Every
//! process notices and reports `recovering`, the settings come back from
//! the database without an operator, every fan who returns gets their
//! original ticket and order, new joiners land after every ticket issued
//! before the loss, no ticket is held twice and the cap holds across the
//! loss. Needs redis-server on PATH and PostgreSQL at WR_TEST_POSTGRES_URL;
//! fails without them. Prints the figures docs/benchmarks.md quotes.

#[path = "common.rs"]
mod common;

use common::own_redis::OwnRedis;
use common::{fresh_postgres, shared_keys, unique, Node};
use futures::{stream, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(node: &Node, event: &str, fan: &Fan) -> Ws {
    let mut req = node
        .ws_url(&format!("/api/v1/queue/{event}/ws"))
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("x-queue-token", fan.token.parse().expect("header"));
    tokio_tungstenite::connect_async(req).await.expect("ws").0
}

/// The next JSON message of `kind` (≤ 10 s).
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} message in time"))
            .expect("socket open")
            .expect("socket ok");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).expect("json");
            if v["type"] == kind {
                return v;
            }
        }
    }
}

const ADMIN: &str = "cluster-recovery-admin";

fn start(redis: &str, database: &str, keys: &str) -> Node {
    Node::start(&[
        ("REDIS_URL", redis),
        ("DATABASE_URL", database),
        ("WAITROOM_SIGNING_KEYS", keys),
        ("WAITROOM_ADMIN_TOKEN", ADMIN),
        ("WAITROOM_ADMIN_PASSWORD", "cluster-recovery-pw"),
        ("WAITROOM_TICK_MS", "100"),
        ("WAITROOM_LEASE_TTL_MS", "1000"),
        ("WAITROOM_RATE_LIMITS__ENABLED", "false"),
    ])
}

/// Two processes on a private Redis and a fresh PostgreSQL database.
struct Cluster {
    redis: OwnRedis,
    db: sqlx::PgPool,
    a: Node,
    b: Node,
    http: reqwest::Client,
}

async fn cluster(kid: &str) -> Cluster {
    let redis = OwnRedis::start();
    let database = fresh_postgres().await;
    let db = sqlx::PgPool::connect(&database)
        .await
        .expect("connect test database");
    let keys = shared_keys(kid);
    let (a, b) = (
        start(&redis.url(), &database, &keys),
        start(&redis.url(), &database, &keys),
    );
    let http = reqwest::Client::new();
    a.ready(&http).await;
    b.ready(&http).await;
    Cluster {
        redis,
        db,
        a,
        b,
        http,
    }
}

/// A fan: ticket and credential.
#[derive(Debug, Clone)]
struct Fan {
    ticket: u64,
    token: String,
}

async fn join(http: &reqwest::Client, node: &Node, event: &str) -> Fan {
    let r = http
        .post(node.url(&format!("/api/v1/queue/{event}/join")))
        .header("x-queue-token-in-body", "1")
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.expect("json");
    Fan {
        ticket: body["ticket"].as_u64().expect("ticket"),
        token: body["queue_token"].as_str().expect("token").to_owned(),
    }
}

async fn join_many(http: &reqwest::Client, nodes: [&Node; 2], event: &str, n: usize) -> Vec<Fan> {
    stream::iter(0..n)
        .map(|i| join(http, nodes[i % 2], event))
        .buffer_unordered(50)
        .collect()
        .await
}

async fn status(http: &reqwest::Client, node: &Node, event: &str, fan: &Fan) -> Value {
    let r = http
        .get(node.url(&format!("/api/v1/queue/{event}/status")))
        .header("x-queue-token", &fan.token)
        .send()
        .await
        .expect("status");
    assert_eq!(r.status(), 200, "ticket {} lost its place", fan.ticket);
    r.json().await.expect("json")
}

async fn get(http: &reqwest::Client, url: String) -> Value {
    let r = http.get(url).bearer_auth(ADMIN).send().await.expect("get");
    r.json().await.expect("json")
}

/// Waits (≤ 20 s) until `check` holds, polling every 50 ms.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn checkpointed(db: &sqlx::PgPool, event: &str) -> (i64, i64) {
    sqlx::query_as("select last_ticket, active from queue_checkpoint where event_id = $1")
        .bind(event)
        .fetch_optional(db)
        .await
        .expect("checkpoint")
        .unwrap_or((0, 0))
}

async fn recovering(http: &reqwest::Client, node: &Node, event: &str) -> bool {
    let body = get(http, node.url("/readyz")).await;
    body["checks"]["queue_store"]["recovering"]
        .as_array()
        .is_some_and(|events| events.iter().any(|e| e == event))
}

/// Every fan polls (alternating processes) and must get their own ticket
/// back; those still waiting must stand in ticket order. Returns how
/// many are waiting.
async fn everyone_returns(
    http: &reqwest::Client,
    nodes: [&Node; 2],
    event: &str,
    fans: &[Fan],
) -> usize {
    let mut places = Vec::new();
    for (i, fan) in fans.iter().enumerate() {
        let s = status(http, nodes[i % 2], event, fan).await;
        assert_eq!(s["ticket"].as_u64(), Some(fan.ticket), "same ticket: {s}");
        assert!(
            matches!(s["state"].as_str(), Some("waiting" | "admitted")),
            "{s}"
        );
        if let Some(p) = s["position"].as_u64() {
            places.push((fan.ticket, p));
        }
    }
    places.sort_unstable();
    // Fans whose ticket the head had passed (admitted before the loss)
    // are all "next" (position 1) and go first, in ticket order.
    for pair in places.windows(2) {
        assert!(
            pair[0].1 < pair[1].1 || pair[1].1 == 1,
            "order kept: {pair:?}"
        );
    }
    places.len()
}

fn distinct(fans: &[Fan]) {
    let tickets: BTreeSet<u64> = fans.iter().map(|f| f.ticket).collect();
    assert_eq!(tickets.len(), fans.len(), "no ticket is held twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flushed_store_is_restored_and_every_fan_keeps_their_place() {
    let Cluster {
        redis,
        db,
        a,
        b,
        http,
    } = cluster("rec1").await;
    let event = unique("flush");
    let settings = json!({"admit_per_minute": 0, "max_active": 30, "session_ttl_seconds": 600,
        "departure_grace_seconds": 600, "captcha": "off"});
    assert!(a
        .put_queue(&http, ADMIN, &event, &settings)
        .await
        .is_success());

    let mut fans = join_many(&http, [&a, &b], &event, 500).await;
    fans.sort_by_key(|f| f.ticket);
    assert_eq!(fans.last().map(|f| f.ticket), Some(500));
    // 30 are admitted (the cap) before the loss.
    let patch = http
        .patch(a.url(&format!("/api/v1/admin/events/{event}/queue")))
        .bearer_auth(ADMIN)
        .json(&json!({"admit_per_minute": 60000}))
        .send()
        .await
        .expect("patch");
    assert!(patch.status().is_success());
    until("30 admitted and checkpointed", || async {
        checkpointed(&db, &event).await == (500, 30)
    })
    .await;
    let settings_url = a.url(&format!("/api/v1/admin/events/{event}/queue"));
    let before = get(&http, settings_url.clone()).await;
    // Three fans hold sockets through the loss.
    let mut sockets = Vec::new();
    for (i, ticket) in [100usize, 250, 400].into_iter().enumerate() {
        let mut ws = socket([&a, &b][i % 2], &event, &fans[ticket - 1]).await;
        assert_eq!(next_of(&mut ws, "hello").await["ticket"], ticket);
        sockets.push(ws);
    }

    assert_eq!(redis.command(&["FLUSHALL"]), "+OK");
    let lost = Instant::now();
    until("both processes report recovering", || async {
        recovering(&http, &a, &event).await && recovering(&http, &b, &event).await
    })
    .await;
    let detected = lost.elapsed();
    assert!(
        detected < Duration::from_secs(5),
        "detected after {detected:?}"
    );
    // Settings are back without an operator, same version.
    let after = get(&http, b.url(&format!("/api/v1/admin/events/{event}/queue"))).await;
    assert_eq!(after, before);
    // Sockets hear "reconnecting", then get their places back without
    // doing anything: the room counts them before anyone polls.
    for ws in &mut sockets {
        assert_eq!(next_of(ws, "state").await["queue_state"], "reconnecting");
    }
    until("the sockets' places are back", || async {
        get(&http, a.url(&format!("/api/v1/queue/{event}"))).await["waiting"] == 3
    })
    .await;

    let waiting = everyone_returns(&http, [&a, &b], &event, &fans).await;
    let recovered = lost.elapsed();
    assert_eq!(
        waiting, 500,
        "the 30 admitted before wait at the front, first in line"
    );
    let newcomer = join(&http, &b, &event).await;
    assert!(
        newcomer.ticket > 500,
        "new joiners come after: {}",
        newcomer.ticket
    );
    fans.push(newcomer);
    distinct(&fans);
    // The 30 sessions admitted before the loss still count: nobody else
    // is admitted while they live.
    let info = get(&http, a.url(&format!("/api/v1/queue/{event}"))).await;
    assert!(info["active"].as_u64() <= Some(30), "{info}");
    let s = status(&http, &a, &event, &fans[30]).await;
    assert_eq!(
        (s["state"].clone(), s["ticket"].clone()),
        (json!("waiting"), json!(31))
    );
    println!(
        "FIGURES flush: 500 waiters (30 admitted), detected by both processes in {} ms, \
         all 500 places back in {} ms after the loss, places lost: 0, newcomer ticket {}",
        detected.as_millis(),
        recovered.as_millis(),
        fans[500].ticket
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_back_from_an_older_snapshot_issues_no_ticket_twice() {
    let Cluster {
        mut redis,
        db,
        a,
        b,
        http,
    } = cluster("rec2").await;
    let event = unique("rollback");
    let settings = json!({"admit_per_minute": 0, "max_active": 30, "departure_grace_seconds": 600,
        "captcha": "off"});
    assert!(a
        .put_queue(&http, ADMIN, &event, &settings)
        .await
        .is_success());

    let mut fans = join_many(&http, [&a, &b], &event, 200).await;
    until("200 checkpointed", || async {
        checkpointed(&db, &event).await.0 == 200
    })
    .await;
    assert_eq!(redis.command(&["SAVE"]), "+OK");
    // These writes never reach the snapshot the store comes back with.
    fans.extend(join_many(&http, [&a, &b], &event, 100).await);
    fans.sort_by_key(|f| f.ticket);
    until("300 checkpointed", || async {
        checkpointed(&db, &event).await.0 == 300
    })
    .await;

    redis.restart_from_snapshot();
    let lost = Instant::now();
    until("both processes report recovering", || async {
        recovering(&http, &a, &event).await && recovering(&http, &b, &event).await
    })
    .await;
    let detected = lost.elapsed();
    let waiting = everyone_returns(&http, [&a, &b], &event, &fans).await;
    let recovered = lost.elapsed();
    assert_eq!(waiting, 300);
    let newcomer = join(&http, &a, &event).await;
    assert!(
        newcomer.ticket > 300,
        "no ticket issued twice: {}",
        newcomer.ticket
    );
    fans.push(newcomer);
    distinct(&fans);
    println!(
        "FIGURES rollback: 300 waiters, 100 lost with the snapshot, detected by both processes \
         in {} ms, all 300 places back in {} ms, places lost: 0, newcomer ticket {}",
        detected.as_millis(),
        recovered.as_millis(),
        fans[300].ticket
    );
}
