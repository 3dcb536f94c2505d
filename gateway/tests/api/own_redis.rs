//! A throwaway redis-server for tests that stop, reconfigure or break
//! Redis, which must never happen to the Redis other tests share.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A throwaway redis-server on a free port, killed on drop.
pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    /// Starts one on a free port. The port is free when chosen, but another
    /// test's outgoing connection may take it before redis-server binds it
    /// (both come from the ephemeral range): a server that exits at once is
    /// started again on another port.
    pub fn start(extra: &[&str]) -> Self {
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

impl Redis {
    /// The server's process id (to stop and continue it).
    pub fn pid(&self) -> u32 {
        self.child.id()
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
