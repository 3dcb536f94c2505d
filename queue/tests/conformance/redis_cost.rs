//! Redis only: a tick's cost must not grow with the number of waiters
//! (docs/architecture.md §5: O(admitted + departures), never O(waiters)),
//! joins that arrive together share calls, and a script the server forgot
//! costs one command more, once.

use crate::common::{forget_redis, open, plain_redis_client, redis, visitor, T0};
use fred::prelude::{ClientLike, LuaInterface};
use tokio::sync::Mutex;

/// Held by each check here: they count commands, and one of them makes
/// the server forget its scripts.
static COUNTING: Mutex<()> = Mutex::const_new(());

/// Redis commands one tick admitting 10 visitors sends, with `waiters` queued.
async fn commands_for_one_tick(waiters: usize) -> u64 {
    let h = redis().await;
    let store = h.redis.clone().expect("redis harness");
    h.setup(open(600, 100_000)).await;
    let joins = (0..waiters).map(|i| {
        let (store, event) = (h.store.clone(), h.event.clone());
        tokio::spawn(async move { store.join(&event, &visitor(i), T0).await })
    });
    for join in futures::future::join_all(joins).await {
        join.expect("task").expect("join");
    }
    h.tick(T0).await;
    let before = store.commands_sent();
    let tick = h.tick(T0 + 1_000).await;
    let sent = store.commands_sent() - before;
    assert_eq!(tick.admitted.len(), 10);
    assert_eq!(tick.waiting, waiters as u64 - 10);
    forget_redis(h.event.clone()).await;
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tick_commands_do_not_grow_with_queue_length() {
    let _counting = COUNTING.lock().await;
    let small = commands_for_one_tick(100).await;
    let large = commands_for_one_tick(10_000).await;
    assert_eq!(small, large);
    // One EVALSHA for the tick and one PUBLISH for the message.
    assert_eq!(small, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_after_the_server_forgot_its_scripts_loads_them_again() {
    let _counting = COUNTING.lock().await;
    let h = redis().await;
    let store = h.redis.clone().expect("redis harness");
    h.setup(open(600, 1_000)).await;
    // As after a restart or a failover: the server has no scripts.
    let admin = plain_redis_client().await;
    admin.script_flush(false).await.expect("SCRIPT FLUSH");
    admin.quit().await.expect("quit");

    let before = store.commands_sent();
    let first = h.join(0, T0).await;
    // EVALSHA answered NOSCRIPT, then EVAL ran it and cached it again.
    assert_eq!(store.commands_sent() - before, 2);
    assert_eq!((first.ticket, first.fresh), (1, true));
    let before = store.commands_sent();
    let second = h.join(1, T0).await;
    assert_eq!(store.commands_sent() - before, 1);
    assert_eq!((second.ticket, second.fresh), (2, true));
    forget_redis(h.event.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_that_arrive_together_share_calls() {
    let _counting = COUNTING.lock().await;
    let h = redis().await;
    let store = h.redis.clone().expect("redis harness");
    h.setup(open(600, 1_000)).await;
    let before = store.commands_sent();
    let joins: Vec<_> = (0..256).map(|i| (h.event.clone(), i)).collect();
    for (i, joined) in h.join_at_once(&joins).await.into_iter().enumerate() {
        assert_eq!(joined.expect("join").ticket, i as u64 + 1);
    }
    let sent = store.commands_sent() - before;
    // One call per join would be 256; together, at most 64 ride in one.
    assert!((4..=32).contains(&sent), "256 joins took {sent} calls");
    forget_redis(h.event.clone()).await;
}
