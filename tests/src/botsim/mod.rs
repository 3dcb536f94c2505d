//! The pieces of the `bots` benchmark: what one proof of work costs
//! ([`costs`]) and the crowd of fans and bots ([`run`]).

mod crowd;

pub use crowd::run;

use crate::Args;
use gateway::config::{Secret, Settings};
use gateway::edge::captcha::pow::{solve, Pow, PowConfig};
use gateway::edge::places::{MemoryReplay, RedisReplay, ReplayGuard};
use queue::{EventId, SigningKeys};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The operator key of the benchmark's server.
const ADMIN: &str = "bots-bench-admin";
/// The benchmark's event.
const EVENT: &str = "botbench";

/// A waitroom in this process, trusting 127.0.0.1 as its proxy.
async fn start(
    args: &Args,
) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let mut settings = Settings {
        data_dir: dir.path().to_path_buf(),
        admin_token: Some(Secret::new(ADMIN)),
        tick_ms: 200,
        demo_event: false,
        shutdown_grace_seconds: 1,
        ..Settings::default()
    };
    settings.edge.trusted_proxies = "127.0.0.1".into();
    settings.edge.pow_difficulty = args.difficulty;
    // Fixed difficulty, so the figures do not depend on how hard the bots push.
    settings.edge.pow_max_difficulty = args.difficulty;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(gateway::launch_with_listener(
        settings,
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    Ok((base, stop, dir))
}

/// A mid-range phone runs JavaScript about this many times slower than one
/// core of the benchmark machine (Geekbench 6 single-core: about 900 for a
/// 2021 mid-range Android phone against 2,500-3,000 for a current server or
/// laptop core; JetStream shows a similar gap). An estimate, not a
/// measurement: say so wherever it is quoted.
const PHONE_FACTOR: f64 = 3.5;

/// Hashes per second of native SHA-256 (one thread), over a few solves.
fn native_rate() -> f64 {
    let started = Instant::now();
    let mut tries = 0u64;
    for i in 0..16 {
        tries += solve(&format!("wr1.bench.16.0.native{i:02}xxxxxxxxxxxxxxxxx"), 16).1;
    }
    tries as f64 / started.elapsed().as_secs_f64()
}

/// Hashes per second of web/pow-worker.js in Node (V8, as in Chromium).
fn js_rate(worker: &str) -> Option<f64> {
    const SCRIPT: &str = r#"
const fs = require('fs');
const src = fs.readFileSync(process.env.WORKER, 'utf8').replace("'use strict';", '');
const out = [];
globalThis.postMessage = (m) => out.push(m);
const run = new Function(src + '\nreturn onmessage;')();
let tries = 0;
const t = performance.now();
for (let i = 0; i < 16; i++) {
  out.length = 0;
  run({ data: { challenge: 'wr1.bench.16.0.js' + String(i).padStart(2, '0') + 'xxxxxxxxxxxxxxxxx', difficulty: 16 } });
  tries += out[out.length - 1].tries;
}
console.log(tries / ((performance.now() - t) / 1000));
"#;
    let out = std::process::Command::new("node")
        .args(["-e", SCRIPT])
        .env("WORKER", worker)
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

/// Mean time of `n` verifications through `replay`.
async fn verify_cost(
    replay: Arc<dyn ReplayGuard>,
    n: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let keys = SigningKeys::generate();
    let cfg = PowConfig {
        difficulty: 8,
        max_difficulty: 8,
        surge_per_second: 0,
        ttl: Duration::from_secs(300),
    };
    let pow = Pow::new(&keys, cfg, replay);
    let event = EventId::parse("bench")?;
    let good: Vec<_> = (0..n)
        .map(|_| {
            let c = pow.issue(&event);
            let (nonce, _) = solve(&c.challenge, c.difficulty);
            gateway::edge::captcha::pow::Solution {
                challenge: c.challenge,
                signature: c.signature,
                nonce,
            }
        })
        .collect();
    let started = Instant::now();
    for s in &good {
        pow.check(&event, s)
            .await
            .map_err(|e| anyhow::anyhow!("verification failed: {e}"))?;
    }
    let ok = started.elapsed() / n as u32;
    // Forged: refused before the replay guard, so no store round trip.
    let forged: Vec<_> = good
        .into_iter()
        .map(|mut s| {
            // Same length, one character changed: the MAC is computed and fails.
            let flip = if s.signature.starts_with('A') {
                "B"
            } else {
                "A"
            };
            s.signature.replace_range(0..1, flip);
            s
        })
        .collect();
    let started = Instant::now();
    for s in &forged {
        let _ = pow.check(&event, s).await;
    }
    Ok((ok, started.elapsed() / n as u32))
}

/// Prints the cost of one proof of work (native, JS, phone estimate) and
/// of verifying one (in process, over Redis).
pub async fn costs(args: &Args) -> anyhow::Result<()> {
    let expected = 2f64.powi(i32::from(args.difficulty));
    let native = native_rate();
    println!(
        "# proof of work at difficulty {} ({expected:.0} hashes expected)",
        args.difficulty
    );
    println!(
        "native SHA-256 (one thread):   {:>7.2} MH/s -> {:>7.1} ms per solution",
        native / 1e6,
        expected / native * 1e3
    );
    match js_rate(&args.worker) {
        Some(js) => {
            println!(
                "web/pow-worker.js in Node/V8:  {:>7.2} MH/s -> {:>7.1} ms per solution",
                js / 1e6,
                expected / js * 1e3
            );
            println!(
                "phone estimate (V8 / {PHONE_FACTOR}):      {:>7.2} MH/s -> {:>7.1} ms per solution",
                js / PHONE_FACTOR / 1e6,
                expected / js * PHONE_FACTOR * 1e3
            );
        }
        None => println!("web/pow-worker.js: node not found or failed; JS figure skipped"),
    }
    let (ok, forged) = verify_cost(Arc::new(MemoryReplay::default()), 20_000).await?;
    println!(
        "verify, in-process replay guard: {:>6.2} us valid, {:>5.2} us forged",
        us(ok),
        us(forged)
    );
    match redis_replay(&args.redis).await {
        Some(replay) => {
            let (ok, forged) = verify_cost(replay, 2_000).await?;
            println!(
                "verify, Redis replay guard:      {:>6.2} us valid, {:>5.2} us forged",
                us(ok),
                us(forged)
            );
        }
        None => println!(
            "verify, Redis replay guard: Redis at {} unreachable; skipped",
            args.redis
        ),
    }
    Ok(())
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn redis_replay(url: &str) -> Option<Arc<dyn ReplayGuard>> {
    use fred::interfaces::ClientLike;
    let config = fred::types::config::Config::from_url(url).ok()?;
    let client = queue::store::redis::fail_fast_builder(config)
        .build()
        .ok()?;
    // The connection task runs for the rest of the benchmark.
    let _task = client.init().await.ok()?;
    Some(Arc::new(RedisReplay::new(client)))
}
