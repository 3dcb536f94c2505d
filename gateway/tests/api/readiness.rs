//! Readiness that means something: a Redis that answers PING but cannot be
//! the queue store through this URL (a read-only replica, a Cluster node
//! through a plain `redis://` URL) fails `/readyz` with the reason.

use crate::own_redis::Redis;
use axum::body::Body;
use axum::http::Request;
use serde_json::Value;
use tower::ServiceExt;

/// `/readyz` of an app on `redis_url` (built, not served: the router is
/// asked directly, so no listener has to become ready first).
async fn readyz(redis_url: String) -> (u16, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = gateway::config::Settings {
        redis_url: Some(gateway::config::Secret::new(redis_url)),
        data_dir: dir.path().to_owned(),
        demo_event: false,
        ..Default::default()
    };
    let app = gateway::build(&settings)
        .await
        .expect("the process starts (and logs why it is not ready)");
    let resp = app
        .router
        .clone()
        .oneshot(
            Request::get("/readyz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("readyz");
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .expect("body");
    (status, serde_json::from_slice(&bytes).expect("json"))
}

#[tokio::test]
async fn a_read_only_replica_is_not_ready() {
    let primary = Redis::start(&[]);
    let replica = Redis::start(&["--replicaof", "127.0.0.1", &primary.port.to_string()]);
    let (status, body) = readyz(format!("redis://127.0.0.1:{}", replica.port)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    let reason = body["checks"]["queue_store"]["status"]
        .as_str()
        .unwrap_or("");
    assert!(reason.contains("READONLY"), "{body}");

    let (status, body) = readyz(format!("redis://127.0.0.1:{}", primary.port)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ready")),
        "{body}"
    );
}

#[tokio::test]
async fn a_cluster_node_through_a_plain_url_is_not_ready() {
    let node = Redis::start(&["--cluster-enabled", "yes"]);
    let (status, body) = readyz(format!("redis://127.0.0.1:{}", node.port)).await;
    assert_eq!(status, 503, "{body}");
    let reason = body["checks"]["queue_store"]["status"]
        .as_str()
        .unwrap_or("");
    assert!(reason.contains("redis-cluster://"), "{body}");
}
