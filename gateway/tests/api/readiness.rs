//! Readiness that means something: a Redis that answers PING but cannot be
//! the queue store through this URL (a read-only replica, a Cluster node
//! through a plain `redis://` URL) fails `/readyz` with the reason.

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tower::ServiceExt;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A throwaway redis-server on a free port, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts one on a free port. The port is free when chosen, but another
    /// test's outgoing connection may take it before redis-server binds it
    /// (both come from the ephemeral range): a server that exits at once is
    /// started again on another port.
    fn start(extra: &[&str]) -> Self {
        for _ in 0..5 {
            if let Some(redis) = Self::try_start(extra) {
                return redis;
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    fn try_start(extra: &[&str]) -> Option<Self> {
        let port = free_port();
        let dir = std::env::temp_dir();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--dir", dir.to_str().expect("tmp")])
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("this test needs redis-server on PATH (apt-get install redis-server)");
        // Owned at once, so the server is killed and reaped on every path.
        let mut redis = Self { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(redis);
            }
            if let Ok(Some(_)) = redis.child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on {port} did not accept connections within 10 s");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ =
            std::fs::remove_file(std::env::temp_dir().join(format!("nodes-{}.conf", self.port)));
    }
}

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
