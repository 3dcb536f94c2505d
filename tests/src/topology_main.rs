//! `topology`: drives the production topology started by
//! scripts/topology-test.sh, through the load balancer only: 1,000 fans
//! join and hold WebSockets, admission runs, a fan books and pays, one
//! process is killed, Redis is restarted, every process is restarted in
//! turn. Prints figures; exits non-zero on a lost place, a double
//! admission, or a 5xx outside the restart windows.

mod topology;

use anyhow::{Context, Result};
use clap::Parser;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use topology::checks;
use topology::fans::{self, Totals};
use topology::ledger::Ledger;
use topology::procs::{self, Redis, Spec, Waitroom};
use topology::sale;

#[derive(Parser)]
#[command(name = "topology")]
struct Args {
    /// The waitroom release binary.
    #[arg(long)]
    bin: PathBuf,
    /// Environment of every process (KEY=value lines).
    #[arg(long)]
    env_file: PathBuf,
    /// Process logs go here.
    #[arg(long)]
    log_dir: PathBuf,
    /// Public ports of the three processes (nginx's upstreams).
    #[arg(long, value_delimiter = ',')]
    ports: Vec<u16>,
    /// Their metrics ports.
    #[arg(long, value_delimiter = ',')]
    metrics_ports: Vec<u16>,
    /// nginx's port.
    #[arg(long)]
    lb_port: u16,
    /// Redis: its config file, pid file and port (restarted by the run).
    #[arg(long)]
    redis_conf: PathBuf,
    #[arg(long)]
    redis_pid_file: PathBuf,
    #[arg(long)]
    redis_port: u16,
    /// Run the processes as this uid:gid.
    #[arg(long)]
    user: String,
    /// Fans.
    #[arg(long, default_value_t = 1000)]
    fans: usize,
    /// Admission rate while the queue is open.
    #[arg(long, default_value_t = 120)]
    admit_per_minute: u32,
}

#[tokio::main]
async fn main() {
    match run(Args::parse()).await {
        Ok(true) => println!("topology: PASS"),
        Ok(false) => {
            println!("topology: FAIL");
            std::process::exit(1);
        }
        Err(e) => {
            println!("topology: ERROR {e:#}");
            std::process::exit(2);
        }
    }
}

struct Topology {
    spec: Spec,
    procs: Vec<Waitroom>,
    http: reqwest::Client,
}

impl Topology {
    async fn ready(&self, i: usize) -> Result<Duration> {
        let url = format!("http://127.0.0.1:{}/readyz", self.procs[i].port);
        procs::wait_ok(&self.http, &url, Duration::from_secs(60)).await
    }
}

async fn run(args: Args) -> Result<bool> {
    let ledger = Arc::new(Ledger::default());
    let (uid, gid) = args.user.split_once(':').context("--user uid:gid")?;
    let mut env = procs::read_env_file(&args.env_file)?;
    let (stripe_base, intents) = topology::stripe::serve().await?;
    let (smtp_url, inbox) = topology::smtp::serve().await?;
    env.insert("STRIPE_API_BASE".into(), stripe_base);
    env.insert("SMTP_URL".into(), smtp_url);
    let admin_token = env
        .get("WAITROOM_ADMIN_TOKEN")
        .context("no admin token")?
        .clone();
    let webhook_secret = env
        .get("STRIPE_WEBHOOK_SECRET")
        .context("no webhook secret")?
        .clone();
    let spec = Spec {
        bin: args.bin.clone(),
        env,
        uid: uid.parse()?,
        gid: gid.parse()?,
        log_dir: args.log_dir.clone(),
    };
    let procs = (0..args.ports.len())
        .map(|i| Waitroom::new(i + 1, args.ports[i], args.metrics_ports[i]))
        .collect();
    let mut topo = Topology {
        spec,
        procs,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()?,
    };
    let redis = Redis {
        conf: args.redis_conf.clone(),
        pid_file: args.redis_pid_file.clone(),
        port: args.redis_port,
    };
    let lb = format!("http://127.0.0.1:{}", args.lb_port);
    let lb_addr = format!("127.0.0.1:{}", args.lb_port).parse()?;

    // Start: three processes in production mode, as the unprivileged user.
    let started = Instant::now();
    for i in 0..topo.procs.len() {
        topo.procs[i].start(&topo.spec)?;
    }
    for i in 0..topo.procs.len() {
        topo.ready(i).await?;
    }
    println!(
        "start: {} processes ready in {:.1}s",
        topo.procs.len(),
        started.elapsed().as_secs_f64()
    );
    procs::wait_ok(
        &topo.http,
        &format!("{lb}/healthz"),
        Duration::from_secs(30),
    )
    .await?;
    checks::edge_checks(&topo.http, topo.procs[0].metrics_port, &lb, &ledger).await?;

    let event = "topology";
    sale::create(
        &topo.http,
        &lb,
        &admin_token,
        event,
        args.admit_per_minute,
        &ledger,
    )
    .await?;

    // 1,000 fans join through nginx, four per source address.
    let started = Instant::now();
    let fans = checks::join_all(&lb, event, args.fans, &ledger).await?;
    let join_secs = started.elapsed().as_secs_f64();
    println!(
        "joins: {} in {join_secs:.1}s ({:.0}/s)",
        fans.len(),
        fans.len() as f64 / join_secs
    );
    let tickets: std::collections::BTreeSet<u64> = fans.iter().map(|f| f.ticket).collect();
    if tickets.len() != fans.len() {
        ledger.fail("two fans got the same ticket");
    }

    let totals = Arc::new(Totals::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for fan in &fans {
        tasks.push(tokio::spawn(fans::hold(
            fan.clone(),
            lb_addr,
            event.to_owned(),
            totals.clone(),
            ledger.clone(),
            stop_rx.clone(),
        )));
    }
    let t = checks::settle(&fans, Duration::from_secs(60)).await?;
    println!("sockets: {} attached in {t:.1}s", fans.len());

    // Admission runs; the first admitted fan buys a ticket.
    sale::set_state(&topo.http, &lb, &admin_token, event, "open", &ledger).await?;
    let opened = Instant::now();
    let buyer = checks::first_admitted(&fans, Duration::from_secs(30)).await?;
    let order = sale::buy(
        &topo.http,
        &lb,
        event,
        &buyer,
        &intents,
        &webhook_secret,
        &ledger,
    )
    .await?;
    buyer.seen().done = true;
    // The email leaves before the kill: the process that confirmed the
    // order may hold the email's lease, and a lease outlives this run.
    if !inbox.first(Duration::from_secs(30)).await {
        ledger.fail("the order email did not reach the SMTP sink within 30 s");
    }
    println!(
        "sale: fan {} admitted after {:.1}s bought order {order} through Stripe",
        buyer.n,
        opened.elapsed().as_secs_f64()
    );

    // One process is killed: its fans reconnect through nginx elsewhere.
    let w = ledger.window_start();
    topo.procs[1].kill()?;
    let t = checks::settle(&fans, Duration::from_secs(60)).await?;
    println!("kill: waitroom-2 killed; every waiting fan attached again in {t:.1}s");
    topo.procs[1].start(&topo.spec)?;
    topo.ready(1).await?;
    ledger.window_end(w, 3.0, "kill");
    checks::audit(&lb, event, &fans, &ledger, "after the kill").await;

    // Redis restarts (AOF): nobody loses a place.
    let w = ledger.window_start();
    let down = redis.restart().await?;
    for i in 0..topo.procs.len() {
        topo.ready(i).await?;
    }
    let t = checks::settle(&fans, Duration::from_secs(60)).await?;
    ledger.window_end(w, 3.0, "redis restart");
    println!(
        "redis: down {:.2}s; all ready and every waiting fan attached {t:.1}s after",
        down.as_secs_f64()
    );
    checks::audit(&lb, event, &fans, &ledger, "after the Redis restart").await;

    // Rolling restart: SIGTERM, wait for the drain, start, wait ready, next.
    let w = ledger.window_start();
    let rolling = Instant::now();
    for i in 0..topo.procs.len() {
        topo.procs[i].stop(Duration::from_secs(30)).await?;
        topo.procs[i].start(&topo.spec)?;
        topo.ready(i).await?;
    }
    let t = checks::settle(&fans, Duration::from_secs(60)).await?;
    ledger.window_end(w, 3.0, "rolling restart");
    println!("rolling: 3 processes restarted in {:.1}s; every waiting fan attached {t:.1}s after the last", rolling.elapsed().as_secs_f64());
    checks::audit(&lb, event, &fans, &ledger, "after the rolling restart").await;

    // Stop admitting and check who was admitted.
    sale::set_state(&topo.http, &lb, &admin_token, event, "paused", &ledger).await?;
    let open_secs = opened.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    checks::audit(&lb, event, &fans, &ledger, "at the end").await;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    checks::admission_checks(
        &topo.http,
        &lb,
        event,
        &fans,
        args.admit_per_minute,
        open_secs,
        &ledger,
    )
    .await?;
    let mail = inbox.len();
    for p in &mut topo.procs {
        if !p.running() {
            ledger.fail(format!("waitroom-{} exited by itself", p.n));
        }
    }

    let (inside, outside) = ledger.server_errors();
    println!(
        "sockets: {} hellos, {} drops, {} failed connects, {} reconnect messages, {} store-reconnecting states",
        totals.hellos.load(Ordering::Relaxed), totals.drops.load(Ordering::Relaxed),
        totals.connect_failures.load(Ordering::Relaxed), totals.reconnect_messages.load(Ordering::Relaxed),
        totals.store_reconnecting.load(Ordering::Relaxed)
    );
    println!("mail: {mail} message(s) through SMTP");
    for (s, e, name) in ledger.windows() {
        println!("window: {name} {s:.1}s–{e:.1}s");
    }
    println!(
        "5xx: {inside} inside restart windows, {} outside",
        outside.len()
    );
    for o in outside.iter().take(10) {
        ledger.fail(format!("5xx outside a restart window: {o}"));
    }
    let failures = ledger.failures();
    for f in failures.iter().take(30) {
        println!("failure: {f}");
    }
    Ok(failures.is_empty())
}
