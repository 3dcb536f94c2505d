//! `loadgen redis-per-tick`: Redis commands per admission tick at two (or
//! more) queue sizes. It reads `INFO` over a plain RESP connection at the
//! start and end of a quiet window (no joins) and divides by the ticks the
//! servers report in `/metrics`. Commands a Lua script runs count
//! individually in `INFO` (Redis 7), so per-waiter work inside the tick
//! script would show.

use super::control::{self, EventSettings};
use super::http::{parse_sources, Target};
use super::joins::{self, JoinPlan, JoinReport};
use super::ws::Pool;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A RESP2 connection, just enough for `INFO`.
pub struct Resp {
    stream: BufReader<TcpStream>,
}

impl Resp {
    /// Connects to `redis://IP:PORT` (loopback only).
    pub async fn connect(url: &str) -> Result<Self> {
        let hostport = url
            .strip_prefix("redis://")
            .context("expected redis://IP:PORT")?
            .trim_end_matches('/');
        let hostport = hostport.split('/').next().unwrap_or(hostport);
        let addr: SocketAddr = hostport.parse().context("expected redis://IP:PORT")?;
        if !addr.ip().is_loopback() {
            bail!("refusing a non-loopback Redis");
        }
        Ok(Self {
            stream: BufReader::new(TcpStream::connect(addr).await?),
        })
    }

    /// Sends a command and returns a bulk or simple string reply.
    pub async fn command(&mut self, args: &[&str]) -> Result<String> {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.stream.get_mut().write_all(out.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let line = line.trim_end();
        match line.split_at_checked(1) {
            Some(("+", s)) | Some((":", s)) => Ok(s.to_owned()),
            Some(("-", e)) => bail!("redis error: {e}"),
            Some(("$", len)) => {
                let len: usize = len.parse()?;
                let mut buf = vec![0u8; len + 2];
                self.stream.read_exact(&mut buf).await?;
                buf.truncate(len);
                Ok(String::from_utf8(buf)?)
            }
            _ => bail!("unexpected reply {line:?}"),
        }
    }
}

/// Redis counters at one moment.
#[derive(Debug, Clone, Default)]
struct Counters {
    total: u64,
    /// `used_cpu_sys + used_cpu_user`, seconds.
    cpu: f64,
    /// command → (calls, usec)
    by_command: BTreeMap<String, (u64, u64)>,
}

async fn counters(redis: &mut Resp) -> Result<Counters> {
    let stats = redis.command(&["INFO", "stats"]).await?;
    let total = stats
        .lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .context("no total_commands_processed")?
        .trim()
        .parse()?;
    let cpu_text = redis.command(&["INFO", "cpu"]).await?;
    let cpu = ["used_cpu_sys:", "used_cpu_user:"]
        .iter()
        .filter_map(|k| {
            cpu_text
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .sum();
    let text = redis.command(&["INFO", "commandstats"]).await?;
    Ok(Counters {
        total,
        cpu,
        by_command: parse_commandstats(&text),
    })
}

/// `cmdstat_get:calls=3,usec=12,...` → {"get": (3, 12)}.
fn parse_commandstats(text: &str) -> BTreeMap<String, (u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let field = |key: &str| {
                rest.split(',')
                    .find_map(|kv| kv.strip_prefix(key))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            Some((name.to_owned(), (field("calls=")?, field("usec=")?)))
        })
        .collect()
}

/// Arguments of `loadgen redis-per-tick`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server base URLs sharing the Redis, comma separated.
    #[arg(long)]
    pub url: String,
    /// The Redis they share.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Event id to create (a fresh one per run).
    #[arg(long)]
    pub event: String,
    /// Operator token.
    #[arg(long)]
    pub token: String,
    /// Queue sizes to measure at, ascending, comma separated.
    #[arg(long, default_value = "1000,50000")]
    pub waiters: String,
    /// Length of each quiet window, seconds.
    #[arg(long, default_value_t = 30)]
    pub window_secs: u64,
    /// Admission rate during the windows (per minute).
    #[arg(long, default_value_t = 60)]
    pub rate: u64,
    /// Departure grace, seconds. Waiters without a socket depart after it,
    /// so keep it longer than the run unless --connect.
    #[arg(long, default_value_t = 3_600)]
    pub grace: u64,
    /// Also hold a WebSocket for every waiter (at most ~19,000 per
    /// process), so heartbeats and fan-out run during the windows.
    #[arg(long)]
    pub connect: bool,
    /// Local source addresses for the sockets.
    #[arg(long)]
    pub sources: Option<String>,
    /// Concurrent join requests.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

/// One window's figures.
#[derive(Debug, Serialize)]
struct Window {
    waiters_queued: u64,
    sockets: u64,
    joins: JoinReport,
    secs: u64,
    ticks: f64,
    commands: u64,
    commands_per_tick: f64,
    /// Redis process CPU (user + sys) per tick, µs.
    redis_cpu_us_per_tick: f64,
    /// command → calls per tick
    by_command_per_tick: BTreeMap<String, f64>,
}

/// Runs the scenario.
pub async fn run(args: Args) -> Result<()> {
    let targets = Target::parse_list(&args.url)?;
    let sources = parse_sources(args.sources.as_deref())?;
    let sizes: Vec<usize> = args
        .waiters
        .split(',')
        .map(|s| s.trim().parse::<usize>().context("--waiters"))
        .collect::<Result<_>>()?;
    let http = control::client()?;
    let mut redis = Resp::connect(&args.redis_url).await?;
    let settings = EventSettings {
        state: "open",
        admit_per_minute: args.rate,
        max_active: 1_000_000,
        session_ttl_seconds: 86_400,
        departure_grace_seconds: args.grace,
    };
    control::create_event(&http, &targets[0], &args.token, &args.event, &settings).await?;
    let mut pool = Pool::new(96);
    let mut queued = 0usize;
    let mut windows = Vec::new();
    for size in sizes {
        let plan = JoinPlan {
            targets: targets.clone(),
            event: args.event.clone(),
            count: size.saturating_sub(queued),
            concurrency: args.concurrency,
            sources: Vec::new(),
            keep_tokens: args.connect,
            time_limit: Duration::from_secs(600),
        };
        let (joins, joined) = joins::run(&plan).await;
        joins.print(&format!("joins up to {size}"));
        queued = size;
        for (t, token) in joined.into_iter().flatten() {
            let n = pool.started();
            let source = (!sources.is_empty()).then(|| sources[n % sources.len()]);
            pool.spawn(&targets[t], &args.event, source, token);
        }
        pool.settle(Duration::from_secs(600)).await;
        // Let the join burst drain and the first heartbeat of new sockets run.
        tokio::time::sleep(Duration::from_secs(5)).await;

        let ticks_before = control::metric_all(&http, &targets, "waitroom_ticks_run_total").await?;
        let before = counters(&mut redis).await?;
        tokio::time::sleep(Duration::from_secs(args.window_secs)).await;
        let after = counters(&mut redis).await?;
        let ticks =
            control::metric_all(&http, &targets, "waitroom_ticks_run_total").await? - ticks_before;
        let info = control::room_info(&http, &targets[0], &args.event).await?;
        windows.push(window(
            &before,
            &after,
            ticks,
            info.waiting,
            pool.open(),
            joins,
            args.window_secs,
        ));
    }
    pool.stop(Duration::from_secs(30)).await;
    control::patch_event(
        &http,
        &targets[0],
        &args.token,
        &args.event,
        serde_json::json!({"state": "closed"}),
    )
    .await?;
    for w in &windows {
        println!(
            "{} waiters queued ({} sockets): {:.0} ticks in {} s, {} commands = {:.1} commands/tick, {:.0} µs of Redis CPU per tick",
            w.waiters_queued, w.sockets, w.ticks, w.secs, w.commands, w.commands_per_tick, w.redis_cpu_us_per_tick
        );
        let mut by: Vec<_> = w.by_command_per_tick.iter().collect();
        by.sort_by(|a, b| b.1.total_cmp(a.1));
        let shown: Vec<String> = by.iter().map(|(c, n)| format!("{c} {n:.2}")).collect();
        println!("  per tick: {}", shown.join(", "));
    }
    println!(
        "{}",
        serde_json::json!({"mode": "redis-per-tick", "windows": windows})
    );
    Ok(())
}

/// Deltas of one window. `INFO` calls made by this tool are left out.
fn window(
    before: &Counters,
    after: &Counters,
    ticks: f64,
    waiters_queued: u64,
    sockets: u64,
    joins: JoinReport,
    secs: u64,
) -> Window {
    let mut by_command_per_tick = BTreeMap::new();
    let mut own = 0u64;
    for (cmd, &(calls, _)) in &after.by_command {
        let calls = calls - before.by_command.get(cmd).map_or(0, |c| c.0);
        if cmd == "info" {
            own = calls;
        } else if calls > 0 {
            by_command_per_tick.insert(cmd.clone(), calls as f64 / ticks.max(1.0));
        }
    }
    let commands = (after.total - before.total).saturating_sub(own);
    Window {
        waiters_queued,
        sockets,
        joins,
        secs,
        ticks,
        commands,
        commands_per_tick: commands as f64 / ticks.max(1.0),
        redis_cpu_us_per_tick: (after.cpu - before.cpu) * 1e6 / ticks.max(1.0),
        by_command_per_tick,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commandstats() {
        let text = "# Commandstats\r\ncmdstat_evalsha:calls=10,usec=500,usec_per_call=50.00,rejected_calls=0,failed_calls=0\r\ncmdstat_get:calls=3,usec=1,usec_per_call=0.33\r\n";
        let m = parse_commandstats(text);
        assert_eq!(m.get("evalsha"), Some(&(10, 500)));
        assert_eq!(m.get("get"), Some(&(3, 1)));
    }
}
