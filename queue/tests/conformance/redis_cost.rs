//! Redis only: a tick's cost must not grow with the number of waiters
//! (docs/architecture.md §5: O(admitted + departures), never O(waiters)).

use crate::common::{forget_redis, open, redis, visitor, T0};

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
    let small = commands_for_one_tick(100).await;
    let large = commands_for_one_tick(10_000).await;
    assert_eq!(small, large);
    // One EVALSHA for the tick and one PUBLISH for the message.
    assert_eq!(small, 2);
}
