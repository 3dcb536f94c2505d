//! Abuse floods and whether the server stays up: `loadgen flood`.
//!
//! `half-open`: keeps N sockets that send half a request header (each
//! reconnects when the server cuts it, as a slowloris client would).
//! `logins`: fires N concurrent wrong operator logins. Meanwhile a monitor
//! asks `/healthz` on a fresh connection every few milliseconds, and the
//! server's RSS is sampled; both are reported with what the flood saw.

use super::control::rss_kib;
use super::hist::{Histogram, Summary};
use super::http::{connect, parse_sources, Target};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the monitor waits for one `/healthz` before counting a failure.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which flood.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    /// Sockets that send half a request header and wait.
    HalfOpen,
    /// Concurrent wrong operator logins.
    Logins,
}

/// Arguments of `loadgen flood`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which flood.
    #[arg(value_enum)]
    pub kind: Kind,
    /// Server base URL.
    #[arg(long)]
    pub url: String,
    /// Sockets held (half-open) or logins fired at once (logins).
    #[arg(long, default_value_t = 2_000)]
    pub count: usize,
    /// Seconds the half-open flood lasts (logins: until all answered).
    #[arg(long, default_value_t = 30)]
    pub secs: u64,
    /// Local source addresses of the flood, round-robin (loopback only).
    #[arg(long)]
    pub sources: Option<String>,
    /// The server's pid, for its RSS.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Milliseconds between two monitor probes.
    #[arg(long, default_value_t = 50)]
    pub probe_ms: u64,
    /// Operator email the wrong logins name.
    #[arg(long, default_value = "admin@localhost")]
    pub email: String,
}

/// What one flood saw.
#[derive(Debug, Serialize, Default)]
struct Report {
    kind: String,
    count: usize,
    secs: f64,
    /// Flood connections opened (half-open: including reconnects).
    attempts: u64,
    /// Answers the flood got, by status ("closed" = cut without one).
    answers: BTreeMap<String, u64>,
    /// How long the server kept a half-open socket, ms.
    held_ms: Summary,
    /// Latency of the logins, ms.
    login_ms: Summary,
    /// `/healthz` on a fresh connection during the flood, ms.
    healthz_ms: Summary,
    healthz_failures: u64,
    rss_before_kib: Option<u64>,
    rss_max_kib: Option<u64>,
    rss_after_kib: Option<u64>,
}

/// `loadgen flood`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::parse(&args.url)?;
    let sources = parse_sources(args.sources.as_deref())?;
    let stop = Arc::new(AtomicBool::new(false));
    let rss_max = Arc::new(AtomicU64::new(0));
    let rss_before = args.server_pid.and_then(|p| rss_kib(p).ok());
    let sampler = args.server_pid.map(|pid| {
        let (stop, max) = (stop.clone(), rss_max.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(kib) = rss_kib(pid) {
                    max.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let healthz = Arc::new(Histogram::default());
    let failures = Arc::new(AtomicU64::new(0));
    let monitor = {
        let (stop, healthz, failures) = (stop.clone(), healthz.clone(), failures.clone());
        let every = Duration::from_millis(args.probe_ms.max(1));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                match tokio::time::timeout(PROBE_TIMEOUT, probe(target.addr)).await {
                    Ok(Some(200)) => healthz.record(started.elapsed().as_micros() as u64),
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(every.saturating_sub(started.elapsed())).await;
            }
        })
    };
    let started = Instant::now();
    let mut report = match args.kind {
        Kind::HalfOpen => half_open(&args, target.addr, &sources).await,
        Kind::Logins => logins(&args, target.addr, &sources).await,
    };
    stop.store(true, Ordering::Relaxed);
    let _ = monitor.await;
    if let Some(s) = sampler {
        let _ = s.await;
    }
    report.secs = started.elapsed().as_secs_f64();
    report.healthz_ms = ms(healthz.snapshot().summary());
    report.healthz_failures = failures.load(Ordering::Relaxed);
    report.rss_before_kib = rss_before;
    report.rss_max_kib = args.server_pid.map(|_| rss_max.load(Ordering::Relaxed));
    report.rss_after_kib = args.server_pid.and_then(|p| rss_kib(p).ok());
    print(&report);
    println!("{}", serde_json::json!({"mode": "flood", "report": report}));
    Ok(())
}

/// A summary in microseconds, in milliseconds.
fn ms(mut s: Summary) -> Summary {
    for v in [&mut s.p50, &mut s.p90, &mut s.p99, &mut s.p999, &mut s.max] {
        *v /= 1_000;
    }
    s.mean /= 1_000.0;
    s
}

fn print(r: &Report) {
    println!(
        "flood {}: {} at once for {:.1} s, {} connections opened",
        r.kind, r.count, r.secs, r.attempts
    );
    println!("  answers to the flood: {:?}", r.answers);
    if r.held_ms.count > 0 {
        let h = &r.held_ms;
        println!(
            "  half-open sockets held by the server: p50 {} ms, max {} ms",
            h.p50, h.max
        );
    }
    if r.login_ms.count > 0 {
        let l = &r.login_ms;
        println!(
            "  login latency: p50 {} ms, p99 {} ms, max {} ms",
            l.p50, l.p99, l.max
        );
    }
    let h = &r.healthz_ms;
    println!(
        "  /healthz (fresh connection): {} ok, {} failed; p50 {} ms, p99 {} ms, max {} ms",
        h.count, r.healthz_failures, h.p50, h.p99, h.max
    );
    if let (Some(b), Some(m), Some(a)) = (r.rss_before_kib, r.rss_max_kib, r.rss_after_kib) {
        println!(
            "  server RSS: {:.1} MiB before, {:.1} MiB max, {:.1} MiB after",
            b as f64 / 1024.0,
            m as f64 / 1024.0,
            a as f64 / 1024.0
        );
    }
}

/// One `/healthz` on a fresh connection; the status, if one came.
async fn probe(addr: SocketAddr) -> Option<u16> {
    let mut s = connect(addr, None).await.ok()?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: monitor\r\nconnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    status_of(&buf)
}

fn status_of(buf: &[u8]) -> Option<u16> {
    let line = buf.split(|b| *b == b'\n').next()?;
    std::str::from_utf8(line)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

fn tally(answers: &Mutex<BTreeMap<String, u64>>, key: String) {
    let mut a = answers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *a.entry(key).or_insert(0) += 1;
}

/// `count` slots, each holding a socket with half a header until the
/// server cuts it, then opening the next, for `secs`.
async fn half_open(args: &Args, addr: SocketAddr, sources: &[IpAddr]) -> Report {
    let deadline = Instant::now() + Duration::from_secs(args.secs);
    let held = Arc::new(Histogram::default());
    let answers = Arc::new(Mutex::new(BTreeMap::new()));
    let attempts = Arc::new(AtomicU64::new(0));
    let mut slots = Vec::with_capacity(args.count);
    for i in 0..args.count {
        let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
        let (held, answers, attempts) = (held.clone(), answers.clone(), attempts.clone());
        slots.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                attempts.fetch_add(1, Ordering::Relaxed);
                let Ok(mut s) = connect(addr, source).await else {
                    tally(&answers, "connect_error".into());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let opened = Instant::now();
                if s.write_all(b"GET /healthz HTTP/1.1\r\nhost: slow\r\nx-slow: ")
                    .await
                    .is_err()
                {
                    tally(&answers, "write_error".into());
                    continue;
                }
                let mut buf = Vec::new();
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, s.read_to_end(&mut buf)).await {
                    // The flood is over; the server still held it.
                    Err(_) => return,
                    Ok(_) => {
                        let key = status_of(&buf).map_or("closed".into(), |s| s.to_string());
                        if key == "closed" {
                            held.record(opened.elapsed().as_micros() as u64);
                        } else {
                            // Refused: wait a little, as a client told
                            // `Retry-After` would not, but a bot might.
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        tally(&answers, key);
                    }
                }
            }
        }));
    }
    for s in slots {
        let _ = s.await;
    }
    let answers = answers.lock().map(|a| a.clone()).unwrap_or_default();
    Report {
        kind: "half-open".into(),
        count: args.count,
        attempts: attempts.load(Ordering::Relaxed),
        answers,
        held_ms: ms(held.snapshot().summary()),
        ..Report::default()
    }
}

/// `count` wrong logins, all started at once, each on its own connection.
async fn logins(args: &Args, addr: SocketAddr, sources: &[IpAddr]) -> Report {
    let latency = Arc::new(Histogram::default());
    let answers = Arc::new(Mutex::new(BTreeMap::new()));
    let body = serde_json::json!({"email": args.email, "password": "wrong-password"}).to_string();
    let barrier = Arc::new(tokio::sync::Barrier::new(args.count));
    let mut tasks = Vec::with_capacity(args.count);
    for i in 0..args.count {
        let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
        let (latency, answers, barrier) = (latency.clone(), answers.clone(), barrier.clone());
        let request = format!(
            "POST /api/v1/admin/login HTTP/1.1\r\nhost: flood\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tasks.push(tokio::spawn(async move {
            let conn = connect(addr, source).await;
            barrier.wait().await;
            let Ok(mut s) = conn else {
                tally(&answers, "connect_error".into());
                return;
            };
            let started = Instant::now();
            let mut buf = Vec::new();
            let sent = s.write_all(request.as_bytes()).await;
            let read =
                tokio::time::timeout(Duration::from_secs(120), s.read_to_end(&mut buf)).await;
            let key = match (sent, read) {
                (Ok(()), Ok(Ok(_))) => status_of(&buf).map_or("closed".into(), |s| s.to_string()),
                (_, Err(_)) => "timeout".into(),
                _ => "io_error".into(),
            };
            latency.record(started.elapsed().as_micros() as u64);
            tally(&answers, key);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let answers = answers.lock().map(|a| a.clone()).unwrap_or_default();
    Report {
        kind: "logins".into(),
        count: args.count,
        attempts: args.count as u64,
        answers,
        login_ms: ms(latency.snapshot().summary()),
        ..Report::default()
    }
}
