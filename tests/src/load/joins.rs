//! Joining visitors as fast as the server takes them: the `joins`
//! benchmark, and the first step of every other scenario (which keep the
//! returned `queue_token`s).

use super::hist::{HistSnapshot, Histogram, Summary};
use super::http::{str_after, HttpConn, Target};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest one join may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// What to run.
#[derive(Debug, Clone)]
pub struct JoinPlan {
    /// Servers; visitor `i` joins at `targets[i % len]`.
    pub targets: Vec<Target>,
    /// Event id.
    pub event: String,
    /// Joins to make.
    pub count: usize,
    /// Connections (each runs one request at a time).
    pub concurrency: usize,
    /// Source addresses for the connections, round-robin (empty: default).
    pub sources: Vec<IpAddr>,
    /// Keep every `queue_token` (for scenarios that connect afterwards).
    pub keep_tokens: bool,
    /// Stop starting new joins after this long.
    pub time_limit: Duration,
}

/// Outcome of a batch of joins.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JoinReport {
    /// Successful joins (HTTP 200/201 with a token).
    pub ok: u64,
    /// Failures by HTTP status or error kind.
    pub errors: BTreeMap<String, u64>,
    /// Wall time of the whole batch, seconds.
    pub elapsed_secs: f64,
    /// Successful joins per second.
    pub per_sec: f64,
    /// Latency of successful joins, microseconds.
    pub latency_us: Summary,
    /// Raw latency histogram, for merging across processes.
    pub latency_hist: HistSnapshot,
}

/// A joined visitor: which target it joined at and its credential.
pub type Joined = (usize, String);

/// Runs the plan. Returns the report and, with `keep_tokens`, one entry per
/// visitor index (`None` when that join failed).
pub async fn run(plan: &JoinPlan) -> (JoinReport, Vec<Option<Joined>>) {
    let targets = plan.targets.len();
    let concurrency = plan.concurrency.max(targets).max(1);
    let latency = Arc::new(Histogram::default());
    // One counter per target: target `t` serves indices t, t+T, t+2T, ...
    let next: Arc<Vec<AtomicUsize>> = Arc::new((0..targets).map(|_| AtomicUsize::new(0)).collect());
    let path = format!("/api/v1/queue/{}/join", plan.event);
    let started = Instant::now();
    let deadline = started + plan.time_limit;
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let t = w % targets;
        let source = (!plan.sources.is_empty()).then(|| plan.sources[w % plan.sources.len()]);
        let mut conn = HttpConn::new(plan.targets[t].addr, source);
        let (next, latency, path) = (next.clone(), latency.clone(), path.clone());
        let (count, keep) = (plan.count, plan.keep_tokens);
        workers.push(tokio::spawn(async move {
            let mut ok = 0u64;
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            let mut tokens: Vec<(usize, String)> = Vec::new();
            while Instant::now() < deadline {
                let i = t + next[t].fetch_add(1, Ordering::Relaxed) * targets;
                if i >= count {
                    break;
                }
                let sent = Instant::now();
                let outcome = tokio::time::timeout(
                    REQUEST_TIMEOUT,
                    conn.request("POST", &path, &[("x-queue-token-in-body", "1")], b""),
                )
                .await;
                let error = match outcome {
                    Err(_) => "timeout".to_owned(),
                    Ok(Err(e)) => format!("io: {}", root_cause(&e)),
                    Ok(Ok(resp)) if resp.status == 200 || resp.status == 201 => {
                        match str_after(resp.body, br#""queue_token":""#) {
                            Some(token) => {
                                latency.record(sent.elapsed().as_micros() as u64);
                                ok += 1;
                                if keep {
                                    tokens.push((i, token.to_owned()));
                                }
                                continue;
                            }
                            None => "no queue_token in reply".to_owned(),
                        }
                    }
                    Ok(Ok(resp)) => resp.status.to_string(),
                };
                *errors.entry(error).or_default() += 1;
            }
            (ok, errors, tokens)
        }));
    }
    let mut report = JoinReport::default();
    let mut joined: Vec<Option<Joined>> = if plan.keep_tokens {
        vec![None; plan.count]
    } else {
        Vec::new()
    };
    for (w, worker) in workers.into_iter().enumerate() {
        match worker.await {
            Ok((ok, errors, tokens)) => {
                report.ok += ok;
                for (k, n) in errors {
                    *report.errors.entry(k).or_default() += n;
                }
                for (i, token) in tokens {
                    joined[i] = Some((w % targets, token));
                }
            }
            Err(e) => *report.errors.entry(format!("worker: {e}")).or_default() += 1,
        }
    }
    report.elapsed_secs = started.elapsed().as_secs_f64();
    report.per_sec = report.ok as f64 / report.elapsed_secs.max(1e-9);
    report.latency_hist = latency.snapshot();
    report.latency_us = report.latency_hist.summary();
    (report, joined)
}

/// The innermost error message (e.g. "Connection refused (os error 111)").
pub fn root_cause(e: &anyhow::Error) -> String {
    e.root_cause().to_string()
}

impl JoinReport {
    /// Human-readable lines.
    pub fn print(&self, label: &str) {
        let l = &self.latency_us;
        println!(
            "{label}: {} ok in {:.2} s = {:.0} joins/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.ok,
            self.elapsed_secs,
            self.per_sec,
            l.p50 as f64 / 1e3,
            l.p99 as f64 / 1e3,
            l.max as f64 / 1e3
        );
        if !self.errors.is_empty() {
            println!("{label}: errors {:?}", self.errors);
        }
    }
}

/// Arguments of `loadgen joins`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server base URL(s), comma separated.
    #[arg(long)]
    pub url: String,
    /// Event id (must exist unless --admin-token creates it).
    #[arg(long)]
    pub event: String,
    /// Joins to make.
    #[arg(long)]
    pub count: usize,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Local source addresses for the connections, round-robin.
    #[arg(long)]
    pub sources: Option<String>,
    /// Create the event first (PUT, admitting nobody) with this operator token.
    #[arg(long)]
    pub admin_token: Option<String>,
    /// Stop after this many seconds even if not all joins were made.
    #[arg(long, default_value_t = 300)]
    pub time_limit_secs: u64,
}

/// `loadgen joins`.
pub async fn bench(args: Args) -> anyhow::Result<()> {
    let targets = Target::parse_list(&args.url)?;
    if let Some(token) = &args.admin_token {
        let settings = super::control::EventSettings {
            state: "open",
            admit_per_minute: 0,
            max_active: 1_000,
            session_ttl_seconds: 900,
            departure_grace_seconds: 86_400,
        };
        let http = super::control::client()?;
        super::control::create_event(&http, &targets[0], token, &args.event, &settings).await?;
    }
    let plan = JoinPlan {
        targets,
        event: args.event,
        count: args.count,
        concurrency: args.concurrency,
        sources: super::http::parse_sources(args.sources.as_deref())?,
        keep_tokens: false,
        time_limit: Duration::from_secs(args.time_limit_secs),
    };
    let (report, _) = run(&plan).await;
    report.print("joins");
    println!(
        "{}",
        serde_json::json!({"mode": "joins", "concurrency": plan.concurrency, "report": report})
    );
    Ok(())
}
