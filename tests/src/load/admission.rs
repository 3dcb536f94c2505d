//! `loadgen admission`: does the admitter keep the operator's rate and never
//! exceed the active cap?
//!
//! The queue is filled while paused (so the rate, not an empty line, limits
//! admissions), every waiter holds a WebSocket (so heartbeats keep them
//! from departing), then the queue opens. Two independent views are kept:
//! room info sampled every second (`active` as the server reports it), and
//! the admissions the sockets receive: each `admitted` message carries
//! `admission_expires_at = tick time + session TTL`, which gives the exact
//! tick of every admission and so the exact active set at every tick.

use super::control::{self, EventSettings};
use super::http::{parse_sources, Target};
use super::joins::{self, JoinPlan};
use super::ws::Pool;
use anyhow::{bail, Result};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Most sockets one client process opens (its open-file cap is 20,000).
const MAX_SOCKETS: u64 = 18_000;

/// Arguments of `loadgen admission`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server base URL.
    #[arg(long)]
    pub url: String,
    /// Event id to create (use a fresh one per run).
    #[arg(long)]
    pub event: String,
    /// Operator token (WAITROOM_ADMIN_TOKEN).
    #[arg(long)]
    pub token: String,
    /// Admission rate per minute.
    #[arg(long)]
    pub rate: u64,
    /// Active-session cap.
    #[arg(long)]
    pub max_active: u64,
    /// Minutes to run with the queue open.
    #[arg(long, default_value_t = 2.0)]
    pub minutes: f64,
    /// Admitted session lifetime, seconds.
    #[arg(long, default_value_t = 900)]
    pub session_ttl: u64,
    /// Departure grace, seconds.
    #[arg(long, default_value_t = 60)]
    pub grace: u64,
    /// Waiters to queue (default: rate × minutes + 10%, at least 200).
    #[arg(long)]
    pub waiters: Option<u64>,
    /// Local source addresses for the sockets.
    #[arg(long)]
    pub sources: Option<String>,
}

/// The JSON summary (`"mode":"admission"`).
#[derive(Debug, Serialize)]
struct AdmissionSummary {
    mode: &'static str,
    rate_setting: u64,
    max_active: u64,
    session_ttl: u64,
    waiters: u64,
    connected: u64,
    open_secs: f64,
    admitted: u64,
    admitted_metric: f64,
    ticks_with_admissions: usize,
    measured_per_minute: Option<f64>,
    rate_error_pct: Option<f64>,
    per_full_minute: Vec<u64>,
    max_active_reported: u64,
    max_active_reconstructed: u64,
    overshoot: u64,
    queue_ran_dry: bool,
}

/// Runs the scenario.
pub async fn run(args: Args) -> Result<()> {
    let target = Target::parse(&args.url)?;
    let sources = parse_sources(args.sources.as_deref())?;
    let http = control::client()?;
    let waiters = args
        .waiters
        .unwrap_or(((args.rate as f64 * args.minutes * 1.1) as u64).max(200));
    if waiters > MAX_SOCKETS {
        bail!("{waiters} waiters need more sockets than one process may open; lower --rate or --minutes");
    }
    let settings = EventSettings {
        state: "paused",
        admit_per_minute: args.rate,
        max_active: args.max_active,
        session_ttl_seconds: args.session_ttl,
        departure_grace_seconds: args.grace,
    };
    control::create_event(&http, &target, &args.token, &args.event, &settings).await?;
    let admitted_before = control::metric(&http, &target, "waitroom_admitted_total").await?;

    let plan = JoinPlan {
        targets: vec![target.clone()],
        event: args.event.clone(),
        count: waiters as usize,
        concurrency: 32,
        sources: Vec::new(),
        keep_tokens: true,
        time_limit: Duration::from_secs(300),
    };
    let (report, joined) = joins::run(&plan).await;
    report.print("joins");
    let mut pool = Pool::new(96);
    for (n, (_, token)) in joined.into_iter().flatten().enumerate() {
        let source = (!sources.is_empty()).then(|| sources[n % sources.len()]);
        pool.spawn(&target, &args.event, source, token);
    }
    pool.settle(Duration::from_secs(300)).await;
    let stats = pool.stats.clone();
    let connected = stats.connected.load(Ordering::Relaxed);
    println!("sockets: {connected} connected of {waiters}");

    control::patch_event(
        &http,
        &target,
        &args.token,
        &args.event,
        json!({"state": "open"}),
    )
    .await?;
    let opened = Instant::now();
    let run_for = Duration::from_secs_f64(args.minutes * 60.0);
    let mut max_reported = 0;
    let mut samples = 0u64;
    while opened.elapsed() < run_for {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match control::room_info(&http, &target, &args.event).await {
            Ok(info) => {
                samples += 1;
                max_reported = max_reported.max(info.active);
                if samples % 15 == 0 {
                    println!(
                        "  {:>4.0} s: active {} (cap {}), waiting {}, admitted so far {}, server-measured {:?}/min",
                        opened.elapsed().as_secs_f64(),
                        info.active,
                        info.max_active,
                        info.waiting,
                        stats.admitted.load(Ordering::Relaxed),
                        info.measured_admit_per_minute
                    );
                }
            }
            Err(e) => println!("  room info failed: {e:#}"),
        }
    }
    let open_secs = opened.elapsed().as_secs_f64();
    control::patch_event(
        &http,
        &target,
        &args.token,
        &args.event,
        json!({"state": "closed"}),
    )
    .await?;
    // Admissions of the last tick may still be on their way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let admitted_metric =
        control::metric(&http, &target, "waitroom_admitted_total").await? - admitted_before;
    pool.stop(Duration::from_secs(30)).await;

    let ttl_ms = args.session_ttl * 1_000;
    let ticks: BTreeMap<u64, u64> =
        stats
            .admissions()
            .iter()
            .fold(BTreeMap::new(), |mut m, exp| {
                *m.entry(exp - ttl_ms).or_default() += 1;
                m
            });
    let admitted: u64 = ticks.values().sum();
    let measured = measured_rate(&ticks);
    let reconstructed = max_concurrent(&ticks, ttl_ms);
    let summary = AdmissionSummary {
        mode: "admission",
        rate_setting: args.rate,
        max_active: args.max_active,
        session_ttl: args.session_ttl,
        waiters,
        connected,
        open_secs,
        admitted,
        admitted_metric,
        ticks_with_admissions: ticks.len(),
        measured_per_minute: measured,
        rate_error_pct: measured.map(|m| (m - args.rate as f64) / args.rate.max(1) as f64 * 100.0),
        per_full_minute: per_minute(&ticks),
        max_active_reported: max_reported,
        max_active_reconstructed: reconstructed,
        overshoot: max_reported
            .max(reconstructed)
            .saturating_sub(args.max_active),
        queue_ran_dry: admitted >= connected,
    };
    let cap_bound = reconstructed >= args.max_active;
    println!(
        "admission: {} admitted in {:.0} s over {} ticks (server counter {}); setting {}/min, measured {}/min (error {}{}); per full minute {:?}",
        summary.admitted,
        summary.open_secs,
        summary.ticks_with_admissions,
        summary.admitted_metric,
        summary.rate_setting,
        summary.measured_per_minute.map_or("n/a".to_owned(), |m| format!("{m:.2}")),
        summary.rate_error_pct.map_or("n/a".to_owned(), |e| format!("{e:+.3}%")),
        if cap_bound { "; the cap, not the rate, limited this run" } else { "" },
        summary.per_full_minute
    );
    println!(
        "cap: max active reported {}, reconstructed from admissions {}, cap {} → overshoot {}{}",
        summary.max_active_reported,
        summary.max_active_reconstructed,
        summary.max_active,
        summary.overshoot,
        if summary.queue_ran_dry {
            " (the queue ran dry: add waiters)"
        } else {
            ""
        }
    );
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// Admissions per minute between the first and last admitting tick. The
/// first tick's batch is excluded: it pays for the time before it, which is
/// not inside the interval.
fn measured_rate(ticks: &BTreeMap<u64, u64>) -> Option<f64> {
    let (&first, &first_n) = ticks.first_key_value()?;
    let (&last, _) = ticks.last_key_value()?;
    if last <= first {
        return None;
    }
    let after_first: u64 = ticks.values().sum::<u64>() - first_n;
    Some(after_first as f64 * 60_000.0 / (last - first) as f64)
}

/// Admissions in each complete minute after the first admitting tick,
/// windows `(t0 + m min, t0 + (m + 1) min]`: the first tick's batch pays for
/// time before `t0`, so it belongs to no window.
fn per_minute(ticks: &BTreeMap<u64, u64>) -> Vec<u64> {
    let (Some((&first, _)), Some((&last, _))) = (ticks.first_key_value(), ticks.last_key_value())
    else {
        return Vec::new();
    };
    let minutes = (last - first) / 60_000;
    (0..minutes)
        .map(|m| {
            let from = first + m * 60_000;
            ticks.range(from + 1..=from + 60_000).map(|(_, n)| n).sum()
        })
        .collect()
}

/// Largest number of sessions active right after any tick: a tick first
/// retires sessions with `expires <= now`, then admits.
fn max_concurrent(ticks: &BTreeMap<u64, u64>, ttl_ms: u64) -> u64 {
    let mut events: Vec<(u64, i64)> = Vec::with_capacity(ticks.len() * 2);
    for (&at, &n) in ticks {
        events.push((at, n as i64));
        events.push((at + ttl_ms, -(n as i64)));
    }
    // At equal times, expiries (negative) come first.
    events.sort_unstable();
    let (mut now, mut max) = (0i64, 0i64);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    max as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_concurrency_from_ticks() {
        // 10 per second for 61 ticks.
        let ticks: BTreeMap<u64, u64> = (0..=60).map(|i| (1_000_000 + i * 1_000, 10)).collect();
        assert_eq!(measured_rate(&ticks), Some(600.0));
        assert_eq!(per_minute(&ticks), vec![600]);
        // A catch-up batch at the first tick is not counted in any minute.
        let mut late = ticks.clone();
        late.insert(999_000, 10);
        assert_eq!(per_minute(&late), vec![600]);
        assert_eq!(max_concurrent(&ticks, 5_000), 50);
        assert_eq!(max_concurrent(&ticks, 1_000_000), 610);
    }
}
