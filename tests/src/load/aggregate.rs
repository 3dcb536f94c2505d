//! `loadgen aggregate`: combines the JSON summaries of several client
//! processes that ran at the same time (exact merged percentiles).

use super::hist::HistSnapshot;
use super::joins::JoinReport;
use super::waiters::{coverage, Rss, WaitersSummary};
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `loadgen aggregate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output files of `loadgen waiters` or `loadgen joins` runs; the JSON
    /// summary line of each is used.
    pub files: Vec<PathBuf>,
}

/// Reads the summary lines and prints the combined figures.
pub fn run(args: Args) -> Result<()> {
    let mut waiters: Vec<WaitersSummary> = Vec::new();
    let mut joins: Vec<JoinReport> = Vec::new();
    for file in &args.files {
        let text = std::fs::read_to_string(file)?;
        let Some(line) = text.lines().rev().find(|l| l.starts_with('{')) else {
            println!("{}: no summary line (the process failed?)", file.display());
            continue;
        };
        let v: Value = serde_json::from_str(line)?;
        match v.get("mode").and_then(Value::as_str) {
            Some("waiters") => waiters.push(serde_json::from_value(v)?),
            Some("joins") => joins.push(serde_json::from_value(v["report"].clone())?),
            other => bail!("{}: unknown summary mode {other:?}", file.display()),
        }
    }
    if !waiters.is_empty() {
        waiters_total(&waiters)?;
    }
    if !joins.is_empty() {
        joins_total(&joins)?;
    }
    Ok(())
}

fn waiters_total(all: &[WaitersSummary]) -> Result<()> {
    let mut total = WaitersSummary {
        mode: "waiters".to_owned(),
        ..WaitersSummary::default()
    };
    let mut delay = HistSnapshot::default();
    let (mut age, mut off) = (HistSnapshot::default(), HistSnapshot::default());
    let mut age_end = HistSnapshot::default();
    let mut tick_move = HistSnapshot::default();
    let mut join_latency = HistSnapshot::default();
    let mut per_tick: BTreeMap<u64, u64> = BTreeMap::new();
    let mut rss = Rss::default();
    let mut have_rss = false;
    for w in all {
        total.count += w.count;
        total.connected += w.connected;
        total.open_at_end += w.open_at_end;
        total.connect_secs = total.connect_secs.max(w.connect_secs);
        total.window_secs = total.window_secs.max(w.window_secs);
        total.window_positions += w.window_positions;
        total.client_rss_kib += w.client_rss_kib;
        total.joins.ok += w.joins.ok;
        total.joins.elapsed_secs = total.joins.elapsed_secs.max(w.joins.elapsed_secs);
        join_latency.merge(&w.joins.latency_hist);
        for (maps, from) in [
            (&mut total.connect_failures, &w.connect_failures),
            (&mut total.endings, &w.endings),
            (&mut total.messages, &w.messages),
            (&mut total.unexpected, &w.unexpected),
            (&mut total.joins.errors, &w.joins.errors),
        ] {
            for (k, n) in from {
                *maps.entry(k.clone()).or_default() += n;
            }
        }
        delay.merge(&w.delay_hist);
        age.merge(&w.age_hist);
        off.merge(&w.off_hist);
        tick_move.merge(&w.tick_move_hist);
        age_end.merge(&w.age_end_hist);
        if w.worst_off
            .is_some_and(|o| total.worst_off.is_none_or(|t| o.bp > t.bp))
        {
            total.worst_off = w.worst_off;
        }
        for &(at, n) in &w.per_tick {
            *per_tick.entry(at).or_default() += n;
        }
        if let Some(r) = w.server_rss_kib {
            have_rss = true;
            rss.before += r.before;
            rss.after_joins += r.after_joins;
            rss.after_connect += r.after_connect;
            rss.at_end += r.at_end;
        }
    }
    total.joins.per_sec = total.joins.ok as f64 / total.joins.elapsed_secs.max(1e-9);
    total.joins.latency_us = join_latency.summary();
    total.delay_ms = delay.summary();
    total.age_ms = age.summary();
    total.off_bp = off.summary();
    total.tick_move_bp = tick_move.summary();
    total.age_end_ms = age_end.summary();
    total.per_tick = per_tick.into_iter().collect();
    total.server_rss_kib = have_rss.then_some(rss);
    println!("== {} client processes combined ==", all.len());
    total.joins.print("joins");
    total.print();
    // A tick that ran late moves the line by more than one tick's
    // admissions at once (see the largest jump).
    let gaps = total
        .per_tick
        .windows(2)
        .map(|w| w[1].0.saturating_sub(w[0].0));
    if let (Some(min), Some(max)) = (gaps.clone().min(), gaps.max()) {
        println!("ticks heard in the window: {} ms to {} ms apart", min, max);
    }
    if let Some(r) = total.server_rss_kib {
        println!(
            "server RSS (all servers): {} KiB before, {} KiB after joins, {} KiB with sockets, {} KiB at the end: {:.1} KiB per waiter connected, {:.1} at the end",
            r.before,
            r.after_joins,
            r.after_connect,
            r.at_end,
            r.after_connect.saturating_sub(r.before) as f64 / total.connected.max(1) as f64,
            r.at_end.saturating_sub(r.before) as f64 / total.connected.max(1) as f64
        );
    }
    // The window starts in each process after its own sockets connect;
    // with a barrier they coincide.
    let (full, ticks) = coverage(&total.per_tick, total.waiting_at_end());
    let d = total.delay_ms;
    println!(
        "{}",
        json!({
            "mode": "waiters-total",
            "processes": all.len(),
            "count": total.count,
            "connected": total.connected,
            "open_at_end": total.open_at_end,
            "connect_failures": total.connect_failures,
            "endings": total.endings,
            "messages": total.messages,
            "window_positions": total.window_positions,
            "delay_ms": d,
            "age_ms": total.age_ms,
            "off_bp": total.off_bp,
            "tick_move_bp": total.tick_move_bp,
            "age_end_ms": total.age_end_ms,
            "ticks_full": full,
            "ticks_inner": ticks,
            "server_rss_kib": total.server_rss_kib,
            "client_rss_kib": total.client_rss_kib,
            "joins_per_sec": total.joins.per_sec,
        })
    );
    Ok(())
}

fn joins_total(all: &[JoinReport]) -> Result<()> {
    let mut total = JoinReport::default();
    for j in all {
        total.ok += j.ok;
        total.elapsed_secs = total.elapsed_secs.max(j.elapsed_secs);
        total.latency_hist.merge(&j.latency_hist);
        for (k, n) in &j.errors {
            *total.errors.entry(k.clone()).or_default() += n;
        }
    }
    total.per_sec = total.ok as f64 / total.elapsed_secs.max(1e-9);
    total.latency_us = total.latency_hist.summary();
    println!("== {} client processes combined ==", all.len());
    total.print("joins");
    println!(
        "{}",
        json!({
            "mode": "joins-total",
            "processes": all.len(),
            "ok": total.ok,
            "errors": total.errors,
            "elapsed_secs": total.elapsed_secs,
            "per_sec": total.per_sec,
            "latency_us": total.latency_us,
        })
    );
    Ok(())
}
