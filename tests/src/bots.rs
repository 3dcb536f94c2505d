//! `bots`: the bot-simulation benchmark (docs/benchmarks.md, "Bots").
//!
//! Runs a waitroom in this process behind a pretend proxy (127.0.0.1 is a
//! trusted proxy, so each simulated client has its own address in
//! `X-Forwarded-For`), then lets 1,000 browser-like fans (each on its own
//! address; fetch a challenge, solve the proof of work, join) and 1,000
//! scripted bots (20 datacenter addresses; join without a solution, retry,
//! replay a solution one of them bought, forge one, spoof the forwarding
//! header) arrive together. Admission then opens and everyone with a place
//! polls until admitted. It reports the share of places and admissions the
//! bots got, per scenario, and the cost of one proof of work and of
//! verifying one.

mod botsim;

use clap::Parser;

/// What to run.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "bots",
    about = "Bot-simulation benchmark for the waitroom edge"
)]
pub struct Args {
    /// Browser-like fans.
    #[arg(long, default_value_t = 1_000)]
    fans: usize,
    /// Scripted bots.
    #[arg(long, default_value_t = 1_000)]
    bots: usize,
    /// Distinct addresses the bots come from.
    #[arg(long, default_value_t = 20)]
    bot_ips: usize,
    /// Proof-of-work difficulty (leading zero bits).
    #[arg(long, default_value_t = 18)]
    difficulty: u8,
    /// Places per IP (the event's `max_places_per_ip`).
    #[arg(long, default_value_t = 4)]
    max_places_per_ip: u32,
    /// Scenarios: refuse, infinite, solving (comma-separated; empty = only
    /// the cost figures).
    #[arg(long, default_value = "refuse,infinite,solving")]
    scenarios: String,
    /// Redis for the verification-cost figure (skipped when unreachable).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Path of web/pow-worker.js, timed in Node when `node` is on PATH.
    #[arg(long, default_value = "web/pow-worker.js")]
    worker: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        botsim::costs(&args).await?;
        for scenario in args
            .scenarios
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            botsim::run(&args, scenario).await?;
        }
        Ok(())
    })
}
