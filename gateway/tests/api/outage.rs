//! Redis going away: readiness reports it (degraded, still 200), joins
//! answer 503 with Retry-After,
//! nobody is admitted, and everything resumes when Redis returns.
//! Runs its own redis-server so it can stop it. Joins queued behind a
//! call that timed out fail with it.

use crate::helpers::*;
use crate::own_redis::Redis;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

/// Waits until `/readyz` reports `want` (`ready`, `degraded`). An
/// unreachable store is the same for every process, so readiness reports it
/// without failing (200): taking every process out of the load balancer
/// would cut off the waiters being told "reconnecting".
async fn wait_ready(app: &TestApp, want: &str) -> Value {
    for _ in 0..100 {
        if let Ok(r) = app.http.get(app.url("/readyz")).send().await {
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            if body["status"] == want {
                assert_eq!(status, 200, "{body}");
                return body;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never said {want}");
}

#[tokio::test]
async fn a_redis_outage_pauses_everything_and_loses_nothing() {
    let redis = Redis::start(&[]);
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let app = spawn_with(|s| s.redis_url = Some(gateway::config::Secret::new(url.clone()))).await;
    app.create_queue("o1", queue(0, 10)).await;
    let me = app.join("o1").await;
    let cred = me["queue_token"].as_str().expect("credential").to_owned();
    let mut ws = app.ws("o1", &cred).await;
    next_of(&mut ws, "hello", 5).await;

    // Redis dies, with its data (no persistence in this test), so restart
    // it from a saved copy: DEBUG RELOAD is not available either; instead
    // we pause it with SIGSTOP, which is what a network partition looks like.
    let pid = redis.pid().to_string();
    Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .expect("kill -STOP");
    let body = wait_ready(&app, "degraded").await;
    let reason = body["checks"]["queue_store"]["status"]
        .as_str()
        .unwrap_or("");
    assert!(
        reason.starts_with("unreachable"),
        "the reason is in the body: {body}"
    );
    let r = app
        .http
        .post(app.url("/api/v1/queue/o1/join"))
        .header("x-queue-token-in-body", "1")
        .send()
        .await
        .expect("join");
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "service_unavailable");
    let m = next_of(&mut ws, "state", 10).await;
    assert_eq!(m["queue_state"], "reconnecting");

    Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .expect("kill -CONT");
    wait_ready(&app, "ready").await;
    let m = next_of(&mut ws, "state", 10).await;
    assert_eq!(m["queue_state"], "open");
    let s: Value = app.status("o1", &cred).await.json().await.expect("status");
    assert_eq!(s["ticket"], 1, "the place survived");
    assert_eq!(s["state"], "waiting", "nobody was admitted at rate 0");
}

/// Joins go to Redis one call at a time (`queue/src/store/redis/joins.rs`):
/// while Redis does not answer, those that queued behind a timed-out call
/// must fail with it, not wait out a timeout of their own, call after call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_queued_behind_a_timed_out_call_fail_with_it() {
    use queue::store::redis::{RedisStore, COMMAND_TIMEOUT};
    use queue::store::QueueStore;
    let redis = Redis::start(&[]);
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let store = RedisStore::connect(&url).await.expect("connect");
    let event = queue::EventId::parse("outage-joins").expect("event id");
    let open = queue::QueueSettings {
        state: queue::QueueState::Open,
        admit_per_minute: 0,
        max_active: 10,
        session_ttl_seconds: 600,
        departure_grace_seconds: 3_600,
        policy: Default::default(),
    };
    store.put_settings(&event, &open).await.expect("settings");
    let pid = redis.pid().to_string();
    Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .expect("kill -STOP");

    let started = std::time::Instant::now();
    let visitors: Vec<_> = (0..300)
        .map(|i| queue::VisitorId::parse(&format!("v{i}")).expect("visitor id"))
        .collect();
    let joins = visitors.iter().map(|v| store.join(&event, v, 1_000));
    for joined in futures::future::join_all(joins).await {
        assert!(
            matches!(joined, Err(queue::QueueError::Unavailable(_))),
            "{joined:?}"
        );
    }
    // One call after another, each waiting out the timeout, would take
    // at least four (300 joins, at most 64 a call).
    let took = started.elapsed();
    assert!(took < COMMAND_TIMEOUT * 2, "300 joins took {took:?}");
    Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .expect("kill -CONT");
}
