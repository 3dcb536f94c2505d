//! Shared by the multi-process system tests: real `waitroom` children
//! sharing one Redis (and sometimes one PostgreSQL).

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

pub mod own_redis;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Redis for these tests; panics with a clear message when none answers.
pub fn redis_url() -> String {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let hostport = url.trim_start_matches("redis://").to_owned();
    assert!(
        std::net::TcpStream::connect(&hostport).is_ok(),
        "these tests need Redis at {url} (set REDIS_URL); none is reachable"
    );
    url
}

/// A new, empty PostgreSQL database (at WR_TEST_POSTGRES_URL's server)
/// for one test; panics with a clear message when PostgreSQL is absent.
pub async fn fresh_postgres() -> String {
    let admin = std::env::var("WR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("wr_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin}: {e}"));
    sqlx::query(&format!("create database {name}"))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.clone(), |(b, _)| b.to_owned());
    format!("{base}/{name}")
}

/// A fresh event id, so tests can share one Redis.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())[..24].to_owned()
}

/// One random signing key, given to every process of a test.
pub fn shared_keys(kid: &str) -> String {
    use base64::Engine;
    let seed: [u8; 32] = rand::random();
    format!(
        "{kid}:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seed)
    )
}

/// The `waitroom` binary these tests start: `WAITROOM_BIN`, else the one
/// built beside this test (`cargo test --workspace` builds it, since the
/// gateway's own tests need it).
pub fn waitroom_bin() -> std::path::PathBuf {
    if let Some(bin) = std::env::var_os("WAITROOM_BIN") {
        return bin.into();
    }
    // target/<profile>/deps/<this test> → target/<profile>/waitroom
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("waitroom")));
    match beside {
        Some(bin) if bin.is_file() => bin,
        _ => panic!(
            "the waitroom binary is not built next to this test ({beside:?}): \
             run `cargo build -p gateway` (or `cargo test --workspace`), or set WAITROOM_BIN"
        ),
    }
}

/// A `waitroom` child process, killed when dropped.
pub struct Node {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts `waitroom serve` on a free port with its own data directory
    /// and the given environment; returns once it is listening.
    // The child is killed and reaped in `Drop`.
    #[allow(clippy::zombie_processes)]
    pub fn start(env: &[(&str, &str)]) -> Node {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(waitroom_bin())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("WAITROOM_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start waitroom");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader.read_line(&mut line).expect("read stdout");
            assert!(n > 0, "waitroom exited before listening");
            if let Some(addr) = line.trim().strip_prefix("listening on ") {
                let base = addr.to_owned();
                // Keep draining stdout so the child never blocks on a full pipe.
                std::thread::spawn(move || for _ in reader.lines() {});
                return Node {
                    child,
                    base,
                    _dir: dir,
                };
            }
        }
    }

    /// `http://…` URL of `path` on this node.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `ws://…` URL of `path` on this node.
    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{}", self.base.replace("http://", "ws://"), path)
    }

    /// Creates or replaces `event`'s queue with `settings` as the operator
    /// key `admin`; returns the status.
    pub async fn put_queue(
        &self,
        http: &reqwest::Client,
        admin: &str,
        event: &str,
        settings: &serde_json::Value,
    ) -> reqwest::StatusCode {
        http.put(self.url(&format!("/api/v1/admin/events/{event}/queue")))
            .bearer_auth(admin)
            .json(settings)
            .send()
            .await
            .expect("put queue settings")
            .status()
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&self, http: &reqwest::Client) {
        for _ in 0..100 {
            if let Ok(r) = http.get(self.url("/readyz")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("node never became ready");
    }

    /// Kills the process now (as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
