//! A private `redis-server` for tests that flush, kill or roll back Redis,
//! which must never happen to the Redis other tests share.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child without persistence of its own (only an
/// explicit `SAVE` writes a snapshot, into its own directory); killed
/// when dropped.
pub struct OwnRedis {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A redis-server on `port`, accepting connections; `None` when it exited
/// first (the port was taken).
fn spawn(port: u16, dir: &Path) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("this test needs redis-server on PATH (apt-get install redis-server): {e}")
        });
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("redis-server did not listen on {port} within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child)
}

impl OwnRedis {
    /// Starts one on a free port. The port is free when chosen, but another
    /// test's outgoing connection may take it before redis-server binds it
    /// (both come from the ephemeral range): a server that exits at once is
    /// started again on another port.
    pub fn start() -> OwnRedis {
        let dir = tempfile::tempdir().expect("temp dir");
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = spawn(port, dir.path()) {
                return OwnRedis { child, port, dir };
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Sends one command and returns the raw reply's first line.
    pub fn command(&self, args: &[&str]) -> String {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        conn.write_all(req.as_bytes()).expect("write");
        let mut buf = [0u8; 512];
        let n = conn.read(&mut buf).expect("read");
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// Kills the server without saving and starts it again on the same
    /// port: it comes back with the last `SAVE`d snapshot, like a replica
    /// promoted after missing the latest writes.
    pub fn restart_from_snapshot(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.port, self.dir.path()).unwrap_or_else(|| {
            panic!(
                "redis-server could not listen on {} again (taken meanwhile)",
                self.port
            )
        });
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
