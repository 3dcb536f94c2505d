//! Starts the real application on 127.0.0.1:0 with its own data directory.

use futures::StreamExt;
use gateway::config::Settings;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const ADMIN: &str = "test-admin-token";

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Settings for a test app: fast ticks, no demo event.
pub fn test_settings(dir: &std::path::Path) -> Settings {
    Settings {
        data_dir: dir.to_path_buf(),
        web_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../web").into(),
        admin_token: Some(gateway::config::Secret::new(ADMIN)),
        tick_ms: 100,
        lease_ttl_ms: 1_000,
        demo_event: false,
        shutdown_grace_seconds: 2,
        // Every test client is 127.0.0.1; only the bot tests want limits.
        edge: gateway::edge::EdgeSettings {
            rate_limits: gateway::edge::settings::RateLimitSettings {
                enabled: false,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        gateway::telemetry::init_tracing(gateway::config::LogFormat::Text);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(dir.path());
    tweak(&mut settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gateway::launch_with_listener(
        settings,
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let app = TestApp {
        addr,
        http,
        stop: Some(stop),
        server: Some(server),
        _dir: dir,
    };
    // Ready once /readyz answers.
    for _ in 0..100 {
        if let Ok(r) = app.http.get(app.url("/readyz")).send().await {
            if r.status().is_success() {
                return app;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("test app did not become ready");
}

impl TestApp {
    /// The app's `data_dir` (SQLite file, keys, mail files).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The Prometheus text of `/metrics` on the main listener.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates (or replaces) a queue.
    pub async fn create_queue(&self, event: &str, settings: Value) {
        let r = self
            .http
            .put(self.url(&format!("/api/v1/admin/events/{event}/queue")))
            .bearer_auth(ADMIN)
            .json(&settings)
            .send()
            .await
            .expect("put settings");
        assert!(r.status().is_success(), "create queue: {}", r.status());
    }

    pub async fn patch_queue(&self, event: &str, patch: Value) -> reqwest::Response {
        self.http
            .patch(self.url(&format!("/api/v1/admin/events/{event}/queue")))
            .bearer_auth(ADMIN)
            .json(&patch)
            .send()
            .await
            .expect("patch settings")
    }

    /// Joins as a new visitor; returns the body.
    pub async fn join(&self, event: &str) -> Value {
        let r = self
            .http
            .post(self.url(&format!("/api/v1/queue/{event}/join")))
            .header(queue::api::TOKEN_IN_BODY_HEADER, "1")
            .send()
            .await
            .expect("join");
        assert_eq!(r.status(), 201, "join status");
        r.json().await.expect("join body")
    }

    pub async fn status(&self, event: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/api/v1/queue/{event}/status")))
            .header("x-queue-token", token)
            .send()
            .await
            .expect("status")
    }

    pub async fn ws(&self, event: &str, token: &str) -> Ws {
        let mut req = format!("ws://{}/api/v1/queue/{event}/ws", self.addr)
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("x-queue-token", token.parse().expect("header"));
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("ws connect");
        ws
    }

    /// Stops the server as SIGTERM would.
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

/// Next JSON text message, failing after `secs`.
pub async fn next_json(ws: &mut Ws, secs: u64) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(secs), ws.next())
            .await
            .expect("timed out waiting for a message")
            .expect("socket ended")
            .expect("socket error");
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).expect("json message"),
            Message::Close(c) => panic!("socket closed: {c:?}"),
            _ => {}
        }
    }
}

/// Reads messages until one has `type == kind`.
pub async fn next_of(ws: &mut Ws, kind: &str, secs: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let v = next_json(ws, left.as_secs().max(1)).await;
        if v["type"] == kind {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {kind} message in time"
        );
    }
}

/// Queue settings for tests about other things than bots: no CAPTCHA.
pub fn queue(rate: u32, max_active: u32) -> Value {
    json!({"state":"open","admit_per_minute":rate,"max_active":max_active,"session_ttl_seconds":600,"departure_grace_seconds":60,"captcha":"off"})
}
