//! The processes of the topology the driver owns: the waitroom processes
//! (started as an unprivileged user, killed, stopped gracefully, started
//! again) and the Redis server it restarts.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to start one waitroom process.
pub struct Spec {
    /// The release binary.
    pub bin: PathBuf,
    /// Environment shared by every process (the ConfigMap and Secret).
    pub env: BTreeMap<String, String>,
    /// Unprivileged uid and gid to run as (the image's user).
    pub uid: u32,
    /// Group of that user.
    pub gid: u32,
    /// Where each process's output goes.
    pub log_dir: PathBuf,
}

/// One waitroom process and its ports.
pub struct Waitroom {
    /// 1-based, for reports.
    pub n: usize,
    /// Public port (behind nginx).
    pub port: u16,
    /// Internal metrics port.
    pub metrics_port: u16,
    child: Option<Child>,
    starts: usize,
}

impl Waitroom {
    /// A process that is not running yet.
    pub fn new(n: usize, port: u16, metrics_port: u16) -> Self {
        Self {
            n,
            port,
            metrics_port,
            child: None,
            starts: 0,
        }
    }

    /// Starts it (as the unprivileged user) without waiting for readiness.
    pub fn start(&mut self, spec: &Spec) -> Result<()> {
        self.starts += 1;
        let log_path = spec
            .log_dir
            .join(format!("waitroom-{}.{}.log", self.n, self.starts));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut cmd = Command::new(&spec.bin);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .envs(&spec.env)
            .env("WAITROOM_LISTEN", format!("127.0.0.1:{}", self.port))
            .env(
                "WAITROOM_METRICS_LISTEN",
                format!("127.0.0.1:{}", self.metrics_port),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        std::os::unix::process::CommandExt::uid(&mut cmd, spec.uid);
        std::os::unix::process::CommandExt::gid(&mut cmd, spec.gid);
        self.child = Some(
            cmd.spawn()
                .with_context(|| format!("starting {}", spec.bin.display()))?,
        );
        Ok(())
    }

    /// SIGKILL, as a crashed node or an OOM kill.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM, as an orchestrator's rolling update, and waits for the exit
    /// (the process drains for its grace period at most).
    pub async fn stop(&mut self, limit: Duration) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        signal(child.id(), "TERM")?;
        let started = Instant::now();
        loop {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            if started.elapsed() > limit {
                child.kill()?;
                child.wait()?;
                bail!("waitroom-{} ignored SIGTERM for {limit:?}", self.n);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the process is still alive (it may have exited by itself).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Waitroom {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

fn signal(pid: u32, sig: &str) -> Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()?;
    if !status.success() {
        bail!("kill -{sig} {pid} failed");
    }
    Ok(())
}

/// Polls `url` until it answers 200.
pub async fn wait_ok(http: &reqwest::Client, url: &str, limit: Duration) -> Result<Duration> {
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(url).send().await {
            if r.status() == reqwest::StatusCode::OK {
                return Ok(started.elapsed());
            }
        }
        if started.elapsed() > limit {
            bail!("{url} did not answer 200 within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Redis server started by the script from `conf` (daemonized, with
/// its pid file named in the config), restarted as `docker restart` would.
pub struct Redis {
    /// The config file the script started it with.
    pub conf: PathBuf,
    /// Its pid file.
    pub pid_file: PathBuf,
    /// Its port.
    pub port: u16,
}

impl Redis {
    /// SIGTERM (Redis fsyncs the AOF and exits), then the same command
    /// again; returns how long Redis was down.
    pub async fn restart(&self) -> Result<Duration> {
        let pid = read_pid(&self.pid_file)?;
        let down_at = Instant::now();
        signal(pid, "TERM")?;
        while Path::new(&format!("/proc/{pid}")).exists() {
            if down_at.elapsed() > Duration::from_secs(30) {
                bail!("redis {pid} did not stop");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let status = Command::new("redis-server").arg(&self.conf).status()?;
        if !status.success() {
            bail!("redis-server {} failed", self.conf.display());
        }
        loop {
            let pong = Command::new("redis-cli")
                .args(["-p", &self.port.to_string(), "ping"])
                .output()?;
            if String::from_utf8_lossy(&pong.stdout).trim() == "PONG" {
                return Ok(down_at.elapsed());
            }
            if down_at.elapsed() > Duration::from_secs(60) {
                bail!("redis did not come back");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn read_pid(path: &Path) -> Result<u32> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.trim()
        .parse()
        .with_context(|| format!("pid file {}", path.display()))
}

/// Reads a dotenv-style file: `KEY=value` lines, `#` comments, blanks.
pub fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            bail!("{}:{}: not KEY=value", path.display(), i + 1);
        };
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}
