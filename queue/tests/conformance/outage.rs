//! TEMPORARY experiment: Redis outage and recovery (private redis-server).
use crate::common::{open, visitor, T0};
use queue::store::redis::RedisStore;
use queue::store::QueueStore;
use queue::{EventId, QueueError};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn start() -> Child {
    Command::new("redis-server")
        .args(["--port", "6391", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_and_recovery() {
    let mut server = start();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let store = RedisStore::connect("redis://127.0.0.1:6391").await.expect("connect");
    let event = EventId::parse("outage").expect("id");
    store.put_settings(&event, &open(60_000, 100)).await.expect("put");
    store.join(&event, &visitor(1), T0).await.expect("join");
    let mut rx = store.subscribe();

    server.kill().expect("kill");
    server.wait().expect("wait");
    for _ in 0..3 {
        let started = Instant::now();
        let err = store.join(&event, &visitor(2), T0).await.expect_err("down");
        println!("down: {:?} after {:?}", err, started.elapsed());
        assert!(matches!(err, QueueError::Unavailable(_)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    let started = Instant::now();
    println!("ping while down: {:?} after {:?}", store.ping().await, started.elapsed());

    let mut server = start();
    let started = Instant::now();
    while store.ping().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(15), "never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("recovered after {:?}", started.elapsed());
    // Fresh server: data and script cache are gone (NOSCRIPT path).
    store.put_settings(&event, &open(60_000, 100)).await.expect("put");
    assert_eq!(store.join(&event, &visitor(1), T0).await.expect("join").ticket, 1);
    assert!(store.acquire_lease(&event, "a", 10_000).await.expect("lease"));
    let before = store.commands_sent();
    store.tick(&event, "a", T0).await.expect("tick").expect("leader");
    println!("commands for first tick after restart: {}", store.commands_sent() - before);
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    println!("feed after restart: {:?}", got.map(|r| r.map(|t| t.seq)));
    server.kill().expect("kill");
    server.wait().expect("wait");
}
