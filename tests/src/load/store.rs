//! Joins straight into the in-process store, one at a time, each timed:
//! what a join waits while the store grows, without HTTP or a second
//! thread around it. A table that doubles inside one join shows as that
//! join's time; the last line counts the joins over a millisecond and
//! adds up their time.

use crate::load::hist::{HistSnapshot, Histogram};
use queue::store::memory::MemoryStore;
use queue::store::QueueStore;
use queue::{EventId, QueueSettings, VisitorId};
use std::time::{Duration, Instant};

/// Where the run's clock starts: 1 December 2026, in Unix milliseconds.
const EPOCH_MS: u64 = 1_796_083_200_000;

/// `loadgen store-joins`
#[derive(clap::Args)]
pub struct Args {
    /// Visitors to join.
    #[arg(long, default_value_t = 2_000_000)]
    count: u64,
    /// Report every this many joins (0: only at the end).
    #[arg(long, default_value_t = 500_000)]
    every: u64,
}

/// Joins `count` visitors into an empty event and prints, per stretch and
/// for the whole run, join latency in microseconds.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let store = MemoryStore::new();
    let event = EventId::parse("store-joins")?;
    store
        .put_settings(&event, &QueueSettings::default())
        .await?;
    // Each join is recorded once, in its stretch; a stretch joins the
    // whole run when it is reported (the last one always is).
    let (mut stretch, mut whole) = (Histogram::default(), HistSnapshot::default());
    let (mut slow, mut slow_time) = (0_u64, Duration::ZERO);
    let started = Instant::now();
    for n in 1..=args.count {
        let visitor = VisitorId::random();
        let t = Instant::now();
        // The wall clock, as the server passes it: the store orders
        // waiters by when they were last seen.
        let now = u64::try_from(t.duration_since(started).as_millis())? + EPOCH_MS;
        store.join(&event, &visitor, now).await?;
        let took = t.elapsed();
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        stretch.record(us);
        if took > Duration::from_millis(1) {
            slow += 1;
            slow_time += took;
        }
        if n == args.count || (args.every > 0 && n % args.every == 0) {
            let done = stretch.snapshot();
            let s = done.summary();
            whole.merge(&done);
            println!(
                "to {n}: p50 {} us, p99 {} us, p99.9 {} us, max {} us",
                s.p50, s.p99, s.p999, s.max
            );
            stretch = Histogram::default();
        }
    }
    let s = whole.summary();
    println!(
        "{} joins in {:.2} s: p99 {} us, max {} us; {slow} over 1 ms, {} ms in them",
        args.count,
        started.elapsed().as_secs_f64(),
        s.p99,
        s.max,
        slow_time.as_millis()
    );
    Ok(())
}
