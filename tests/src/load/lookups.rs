//! `loadgen store-lookups`: what settling a tick's unsure waiters costs,
//! one `lookup` each against one `lookup_many` for all of them, on Redis
//! or (without `--redis-url`) the in-process store. At an opening every
//! pre-queue waiter connected to a node is unsure (the shuffle gave it its
//! ticket), so this is the wait between the opening tick and the last of
//! them hearing its position.

use queue::store::memory::MemoryStore;
use queue::store::redis::RedisStore;
use queue::store::QueueStore;
use queue::{EventId, QueueSettings, QueueState, VisitorId};
use std::time::Instant;

/// `loadgen store-lookups`
#[derive(clap::Args)]
pub struct Args {
    /// The Redis to use (an event of its own is made and removed); the
    /// in-process store without it.
    #[arg(long)]
    redis_url: Option<String>,
    /// Waiters to join, then look up.
    #[arg(long, default_value_t = 20_000)]
    count: usize,
    /// Rounds of both ways, alternating.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let store: Box<dyn QueueStore> = match &args.redis_url {
        Some(url) => Box::new(RedisStore::connect(url).await?),
        None => Box::new(MemoryStore::new()),
    };
    let event = EventId::parse(&format!("store-lookups-{}", std::process::id()))?;
    let settings = QueueSettings {
        state: QueueState::Open,
        ..QueueSettings::default()
    };
    store.put_settings(&event, &settings).await?;
    let visitors: Vec<VisitorId> = (0..args.count).map(|_| VisitorId::random()).collect();
    let now = queue::engine::now_ms();
    for v in &visitors {
        store.join(&event, v, now).await?;
    }
    for round in 1..=args.rounds {
        let t = Instant::now();
        for v in &visitors {
            store.lookup(&event, v, now).await?;
        }
        let one_by_one = t.elapsed();
        let t = Instant::now();
        let records = store.lookup_many(&event, &visitors, now).await?;
        let together = t.elapsed();
        anyhow::ensure!(records.len() == visitors.len(), "short answer");
        println!(
            "round {round}: {} waiters ({}) looked up one by one in {:.1} ms, together in {:.1} ms",
            args.count,
            store.backend(),
            one_by_one.as_secs_f64() * 1e3,
            together.as_secs_f64() * 1e3
        );
    }
    store.remove_event(&event).await?;
    Ok(())
}
