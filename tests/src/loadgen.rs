//! `loadgen`: the waiting room's load generator (figures in docs/benchmarks.md).
//!
//! Every scenario prints human-readable figures and, as its last line, one
//! JSON summary, so a script can run several client processes at once (each
//! process may hold at most 20,000 open files) and combine them with
//! `loadgen aggregate`. It only ever talks to loopback addresses.

mod load;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "loadgen", about = "Load generator for the waitroom server")]
struct Cli {
    /// Runtime threads (default: one per core). With several client
    /// processes on a small machine, 1 avoids needless context switches.
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Join as fast as possible: joins/s, latency, errors by status.
    Joins(load::joins::Args),
    /// Hold many WebSocket waiters: position-update delay, server memory.
    Waiters(load::waiters::Args),
    /// Admission accuracy: admitted per minute vs the setting, cap overshoot.
    Admission(load::admission::Args),
    /// Redis commands per tick at several queue sizes.
    RedisPerTick(load::redis::Args),
    /// Half-open sockets or concurrent wrong logins, while timing /healthz
    /// and sampling server RSS.
    Flood(load::flood::Args),
    /// Joins straight into the in-process store: what a join waits while
    /// the store grows.
    StoreJoins(load::store::Args),
    /// Settling unsure waiters on Redis: a look-up each against one bulk
    /// look-up.
    StoreLookups(load::lookups::Args),
    /// Serve the bare join peer that embedded joins are compared with.
    Peer(load::peer::Args),
    /// Combine the JSON summaries of several `waiters` or `joins` processes.
    Aggregate(load::aggregate::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = match cli.threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
        None => tokio::runtime::Runtime::new()?,
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Joins(args) => load::joins::bench(args).await,
            Command::Waiters(args) => load::waiters::run(args).await,
            Command::Admission(args) => load::admission::run(args).await,
            Command::RedisPerTick(args) => load::redis::run(args).await,
            Command::Flood(args) => load::flood::run(args).await,
            Command::Peer(args) => load::peer::run(args).await,
            Command::StoreJoins(args) => load::store::run(args).await,
            Command::StoreLookups(args) => load::lookups::run(args).await,
            Command::Aggregate(args) => load::aggregate::run(args),
        }
    })
}
