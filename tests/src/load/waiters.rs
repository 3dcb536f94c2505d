//! `loadgen waiters`: join N visitors, hold N WebSockets, and measure how
//! late each tick's position update arrives, plus server memory per socket.

use super::control;
use super::hist::{HistSnapshot, Summary};
use super::http::{parse_sources, Target};
use super::joins::{self, JoinPlan, JoinReport};
use super::ws::{now_ms, Pool, WorstOff};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Arguments of `loadgen waiters`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server base URLs, comma separated; visitor i uses URL i % count.
    #[arg(long)]
    pub url: String,
    /// Event id (must exist unless --admin-token creates it).
    #[arg(long)]
    pub event: String,
    /// Waiters to join and connect.
    #[arg(long)]
    pub count: usize,
    /// Local source addresses for the sockets, round-robin.
    #[arg(long)]
    pub sources: Option<String>,
    /// Seconds to read messages once every socket is connected.
    #[arg(long, default_value_t = 60)]
    pub duration_secs: u64,
    /// Server PIDs whose RSS to report (summed).
    #[arg(long)]
    pub server_pids: Option<String>,
    /// Concurrent join requests.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Concurrent connects/handshakes. Keep it under the server's accept
    /// backlog (128): beyond it SYNs are dropped and retried after 1-3 s.
    #[arg(long, default_value_t = 96)]
    pub connect_concurrency: usize,
    /// Create the event first (PUT) with this operator token.
    #[arg(long)]
    pub admin_token: Option<String>,
    /// The server's tick interval, ms (a page that heard the previous tick
    /// is told apart from one the cadence rule skipped).
    #[arg(long, default_value_t = 1000)]
    pub tick_ms: u64,
    /// Admission rate when creating the event (0 = idle waiters).
    #[arg(long, default_value_t = 600)]
    pub rate: u64,
    /// Before measuring, wait until this many processes are ready in
    /// --barrier-dir (so several client processes measure together).
    #[arg(long, default_value_t = 0)]
    pub barrier_count: usize,
    /// Directory for the readiness files of --barrier-count.
    #[arg(long)]
    pub barrier_dir: Option<PathBuf>,
    /// Give up connecting after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub connect_limit_secs: u64,
    /// The event waits in its pre-queue: open it (with this operator
    /// token, at --rate) as the window starts, so the window's delays
    /// include every waiter's first position, sent by the opening.
    #[arg(long)]
    pub open_with_token: Option<String>,
}

/// Server memory, KiB, summed over the given PIDs.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Rss {
    /// Before any join.
    pub before: u64,
    /// After the joins, before any socket.
    pub after_joins: u64,
    /// Once every socket is connected.
    pub after_connect: u64,
    /// At the end of the measuring window (after ticks and pings ran).
    #[serde(default)]
    pub at_end: u64,
}

/// The JSON summary of one process (`"mode":"waiters"`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WaitersSummary {
    /// Always "waiters".
    pub mode: String,
    /// Waiters asked for.
    pub count: u64,
    /// The joins.
    pub joins: JoinReport,
    /// Sockets that completed the handshake.
    pub connected: u64,
    /// Sockets that failed to connect, by reason.
    pub connect_failures: BTreeMap<String, u64>,
    /// Seconds from the first connect to the last.
    pub connect_secs: f64,
    /// Sockets still open at the end of the window.
    pub open_at_end: u64,
    /// Sockets that ended early, by reason.
    pub endings: BTreeMap<String, u64>,
    /// Messages by type over the whole run.
    pub messages: BTreeMap<String, u64>,
    /// Unexpected messages (e.g. `error`) by text, a few distinct ones.
    #[serde(default)]
    pub unexpected: BTreeMap<String, u64>,
    /// Length of the measuring window, seconds.
    pub window_secs: f64,
    /// Position messages in the window.
    pub window_positions: u64,
    /// Delay `arrival - at`, ms, in the window.
    pub delay_ms: Summary,
    /// The raw delay histogram (for merging).
    pub delay_hist: HistSnapshot,
    /// Age of the page's numbers when the message replacing them arrived
    /// (arrival − the replaced numbers' `at`), ms.
    #[serde(default)]
    pub age_ms: Summary,
    /// The raw age histogram (for merging).
    #[serde(default)]
    pub age_hist: HistSnapshot,
    /// How far off the page was before a message, basis points.
    #[serde(default)]
    pub off_bp: Summary,
    /// The raw histogram of `off_bp` (for merging).
    #[serde(default)]
    pub off_hist: HistSnapshot,
    /// One tick's move on pages that heard every tick, basis points.
    #[serde(default)]
    pub tick_move_bp: Summary,
    /// Its raw histogram (for merging).
    #[serde(default)]
    pub tick_move_hist: HistSnapshot,
    /// The largest jump and where it happened.
    #[serde(default)]
    pub worst_off: Option<WorstOff>,
    /// Age of a still-waiting page's numbers when the window ended, ms.
    #[serde(default)]
    pub age_end_ms: Summary,
    /// The raw histogram of `age_end_ms` (for merging).
    #[serde(default)]
    pub age_end_hist: HistSnapshot,
    /// Position messages per tick `at` in the window.
    pub per_tick: Vec<(u64, u64)>,
    /// Server RSS, when PIDs were given.
    pub server_rss_kib: Option<Rss>,
    /// This client's RSS after connecting, KiB.
    pub client_rss_kib: u64,
}

/// Runs the scenario and prints the figures and the JSON line.
pub async fn run(args: Args) -> Result<()> {
    let targets = Target::parse_list(&args.url)?;
    let sources = parse_sources(args.sources.as_deref())?;
    let pids = control::parse_pids(args.server_pids.as_deref())?;
    let http = control::client()?;
    if let Some(token) = &args.admin_token {
        control::open_waiters_event(&http, &targets[0], token, &args.event, args.rate).await?;
    }
    let rss_before = control::rss_total(&pids)?;

    let plan = JoinPlan {
        targets: targets.clone(),
        event: args.event.clone(),
        count: args.count,
        concurrency: args.concurrency,
        sources: Vec::new(),
        keep_tokens: true,
        time_limit: Duration::from_secs(600),
    };
    let (join_report, joined) = joins::run(&plan).await;
    join_report.print("joins");
    let rss_joins = control::rss_total(&pids)?;

    let mut pool = Pool::new(args.connect_concurrency);
    pool.stats.tick_ms.store(args.tick_ms, Ordering::Relaxed);
    let connect_started = Instant::now();
    for (n, (t, token)) in joined.into_iter().flatten().enumerate() {
        let source = (!sources.is_empty()).then(|| sources[n % sources.len()]);
        pool.spawn(&targets[t], &args.event, source, token);
    }
    let all = pool
        .settle(Duration::from_secs(args.connect_limit_secs))
        .await;
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let stats = pool.stats.clone();
    let connected = stats.connected.load(Ordering::Relaxed);
    println!(
        "sockets: {connected} connected, {} failed of {} in {connect_secs:.1} s{}",
        stats.failed.load(Ordering::Relaxed),
        pool.started(),
        if all { "" } else { " (gave up waiting)" }
    );
    let failures = stats.failures();
    if !failures.is_empty() {
        println!("connect failures: {failures:?}");
    }
    // Let the last hellos and the heartbeat settle before reading memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connect = control::rss_total(&pids)?;
    let client_rss = control::own_rss_kib();
    let server_rss = match (rss_before, rss_joins, rss_connect) {
        (Some(before), Some(after_joins), Some(after_connect)) => Some(Rss {
            before,
            after_joins,
            after_connect,
            at_end: 0,
        }),
        _ => None,
    };
    if let Some(r) = server_rss {
        let per = |kib: u64| kib as f64 / connected.max(1) as f64;
        println!(
            "server RSS: {} KiB before, {} KiB after joins, {} KiB with sockets: {:.1} KiB per waiter ({:.1} KiB per socket beyond the join)",
            r.before,
            r.after_joins,
            r.after_connect,
            per(r.after_connect.saturating_sub(r.before)),
            per(r.after_connect.saturating_sub(r.after_joins)),
        );
    }
    println!(
        "client RSS: {client_rss} KiB ({:.1} KiB per socket)",
        client_rss as f64 / connected.max(1) as f64
    );

    if args.barrier_count > 1 {
        barrier(args.barrier_dir.as_deref(), args.barrier_count).await?;
    }
    stats.measuring.store(true, Ordering::Relaxed);
    if let Some(token) = &args.open_with_token {
        control::open_waiters_event(&http, &targets[0], token, &args.event, args.rate).await?;
        // The opening tick follows within a tick; every socket's first
        // `position` comes from it.
        println!("opened the pre-queue at {} ms", now_ms());
    }
    let window_started = Instant::now();
    let window = Duration::from_secs(args.duration_secs);
    while window_started.elapsed() < window {
        tokio::time::sleep(Duration::from_secs(10).min(window - window_started.elapsed())).await;
        let d = stats.delay_ms.snapshot().summary();
        println!(
            "  {:>4.0} s: {} open, {} positions, delay p50 {} ms p99 {} ms max {} ms",
            window_started.elapsed().as_secs_f64(),
            pool.open(),
            stats.window_positions.load(Ordering::Relaxed),
            d.p50,
            d.p99,
            d.max
        );
    }
    stats.measuring.store(false, Ordering::Relaxed);
    stats.window_end_ms.store(now_ms(), Ordering::Relaxed);
    let window_secs = window_started.elapsed().as_secs_f64();
    let open_at_end = pool.open();
    let server_rss = match (server_rss, control::rss_total(&pids)?) {
        (Some(r), Some(at_end)) => {
            println!(
                "server RSS at the end: {at_end} KiB ({:.1} KiB per waiter)",
                at_end.saturating_sub(r.before) as f64 / connected.max(1) as f64
            );
            Some(Rss { at_end, ..r })
        }
        (r, _) => r,
    };
    pool.stop(Duration::from_secs(30)).await;

    let delay_hist = stats.delay_ms.snapshot();
    let (age_hist, off_hist) = (stats.age_ms.snapshot(), stats.off_bp.snapshot());
    let age_end_hist = stats.age_end_ms.snapshot();
    let tick_move_hist = stats.tick_move_bp.snapshot();
    let summary = WaitersSummary {
        age_end_ms: age_end_hist.summary(),
        age_end_hist,
        age_ms: age_hist.summary(),
        age_hist,
        off_bp: off_hist.summary(),
        off_hist,
        tick_move_bp: tick_move_hist.summary(),
        tick_move_hist,
        worst_off: stats.worst_off.lock().map_or(None, |w| *w),
        mode: "waiters".to_owned(),
        count: args.count as u64,
        joins: join_report,
        connected,
        connect_failures: failures,
        connect_secs,
        open_at_end,
        endings: stats.endings(),
        unexpected: stats.unexpected(),
        messages: [
            ("hello", &stats.hello),
            ("position", &stats.positions),
            ("admitted", &stats.admitted),
            ("state", &stats.states),
            ("reconnect", &stats.reconnects),
            ("other", &stats.other),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.load(Ordering::Relaxed)))
        .collect(),
        window_secs,
        window_positions: stats.window_positions.load(Ordering::Relaxed),
        delay_ms: delay_hist.summary(),
        delay_hist,
        per_tick: stats.per_tick(),
        server_rss_kib: server_rss,
        client_rss_kib: client_rss,
    };
    summary.print();
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

impl WaitersSummary {
    /// Human-readable figures.
    pub fn print(&self) {
        let d = &self.delay_ms;
        println!(
            "waiters: {} connected of {}, {} open at the end; messages {:?}",
            self.connected, self.count, self.open_at_end, self.messages
        );
        if !self.endings.is_empty() {
            println!("ended early: {:?}", self.endings);
        }
        if !self.unexpected.is_empty() {
            println!("unexpected messages: {:?}", self.unexpected);
        }
        println!(
            "position delay over {:.0} s ({} updates, {} ticks): p50 {} ms, p90 {} ms, p99 {} ms, p99.9 {} ms, max {} ms",
            self.window_secs,
            self.window_positions,
            self.per_tick.len(),
            d.p50,
            d.p90,
            d.p99,
            d.p999,
            d.max
        );
        let (a, o) = (&self.age_ms, &self.off_bp);
        println!(
            "client side, per socket: age of the page's numbers when the next message arrived p50 {} ms, p99 {} ms, max {} ms; page off before a message by p50 {} bp, p99 {} bp, max {} bp (100 bp = 1%)",
            a.p50, a.p99, a.max, o.p50, o.p99, o.max
        );
        let t = &self.tick_move_bp;
        println!(
            "pages behind the front that heard every tick moved by p50 {} bp, p99 {} bp, max {} bp in one tick ({} messages); the off above counts only pages that skipped a tick",
            t.p50, t.p99, t.max, t.count
        );
        if let Some(w) = &self.worst_off {
            println!(
                "largest jump: {} bp, from position {} (numbers of at={}) to {} (at={}, {} ms later)",
                w.bp,
                w.shown,
                w.shown_at,
                w.position,
                w.at,
                w.at.saturating_sub(w.shown_at)
            );
        }
        let e = &self.age_end_ms;
        println!(
            "client side, at the window's end: numbers on still-waiting pages {} ms old at p50, {} ms at p99, {} ms at most ({} pages)",
            e.p50, e.p99, e.max, e.count
        );
        let (full, ticks) = coverage(&self.per_tick, self.waiting_at_end());
        if ticks > 0 {
            println!(
                "ticks inside the window that reached every still-waiting socket ({}): {full} of {ticks} (with the cadence rule only the front hears every tick)",
                self.waiting_at_end()
            );
        }
    }
}

impl WaitersSummary {
    /// Sockets still open and not admitted at the end: every tick in the
    /// window should have reached at least this many (the server only sends
    /// a position when it changed, and admitted sockets get none).
    pub fn waiting_at_end(&self) -> u64 {
        let admitted = self.messages.get("admitted").copied().unwrap_or(0);
        self.open_at_end.saturating_sub(admitted)
    }
}

/// Of the ticks strictly inside the window (the first and last may be cut
/// by its edges), how many reached at least `expected` sockets.
pub fn coverage(per_tick: &[(u64, u64)], expected: u64) -> (usize, usize) {
    if per_tick.len() < 3 {
        return (0, 0);
    }
    let inner = &per_tick[1..per_tick.len() - 1];
    let full = inner.iter().filter(|(_, n)| *n >= expected).count();
    (full, inner.len())
}

/// Marks this process ready in `dir`, then waits (at most 15 minutes)
/// until `count` processes are.
async fn barrier(dir: Option<&Path>, count: usize) -> Result<()> {
    let Some(dir) = dir else {
        bail!("--barrier-count needs --barrier-dir");
    };
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("ready.{}", std::process::id())), b"")?;
    let until = Instant::now() + Duration::from_secs(900);
    loop {
        let ready = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("ready."))
            .count();
        if ready >= count {
            println!("barrier: {ready} processes ready, measuring");
            return Ok(());
        }
        if Instant::now() >= until {
            bail!("barrier: only {ready} of {count} processes ready after 15 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
