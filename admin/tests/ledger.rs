//! The queue ledger in the records database, held to one behaviour on
//! SQLite (the embedded default) and PostgreSQL: settings only move to
//! newer versions, checkpoints' high-water marks never go down, and a
//! removed event is forgotten. PostgreSQL comes from WR_TEST_POSTGRES_URL
//! (default postgres://postgres@127.0.0.1:5432/postgres); the test fails,
//! never skips, without it.

use admin::store::AdminDb;
use queue::ledger::{Checkpoint, QueueLedger};
use queue::{EventId, QueueSettings, QueueState};

async fn sqlite() -> (AdminDb, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("records.db").display());
    (AdminDb::connect(&url).await.expect("sqlite"), dir)
}

async fn postgres() -> AdminDb {
    let admin = std::env::var("WR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("wr_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required at {admin} (WR_TEST_POSTGRES_URL): {e}")
    });
    sqlx::query(&format!("create database {name}"))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.clone(), |(b, _)| b.to_owned());
    AdminDb::connect(&format!("{base}/{name}"))
        .await
        .expect("postgres")
}

fn settings(version: u64, state: QueueState) -> QueueSettings {
    let mut s = QueueSettings {
        state,
        ..QueueSettings::default()
    };
    s.policy.version = version;
    s.policy.place_ttl_seconds = Some(900);
    s
}

fn checkpoint(epoch: &str, last_ticket: u64, head: u64, active: u32, margin: u64) -> Checkpoint {
    Checkpoint {
        epoch: epoch.to_owned(),
        last_ticket,
        head,
        active,
        active_until: 5_000 + u64::from(active),
        ticket_margin: margin,
        at: 1_000 + last_ticket,
    }
}

async fn conformance(db: &dyn QueueLedger) {
    let event = EventId::parse("ledger-1").expect("id");
    let other = EventId::parse("ledger-2").expect("id");
    assert_eq!(db.load_settings(&event).await.expect("load"), None);
    assert!(db.events().await.expect("events").is_empty());

    db.save_settings(&event, &settings(2, QueueState::Open))
        .await
        .expect("save");
    // An older version arriving late does not win.
    db.save_settings(&event, &settings(1, QueueState::Closed))
        .await
        .expect("save");
    assert_eq!(
        db.load_settings(&event).await.expect("load"),
        Some(settings(2, QueueState::Open))
    );
    db.save_settings(&event, &settings(3, QueueState::Paused))
        .await
        .expect("save");
    assert_eq!(
        db.load_settings(&event).await.expect("load"),
        Some(settings(3, QueueState::Paused))
    );
    db.save_settings(&other, &settings(1, QueueState::Open))
        .await
        .expect("save");
    assert_eq!(
        db.events().await.expect("events"),
        vec![event.clone(), other.clone()]
    );

    assert_eq!(db.load_checkpoint(&event).await.expect("load"), None);
    db.checkpoint(&event, &checkpoint("e1", 40, 10, 5, 7))
        .await
        .expect("checkpoint");
    assert_eq!(
        db.load_checkpoint(&event).await.expect("load"),
        Some(checkpoint("e1", 40, 10, 5, 7))
    );
    // After a restore the store may report lower numbers for a moment:
    // the high-water marks stay, the rest follows.
    db.checkpoint(&event, &checkpoint("e2", 30, 8, 2, 3))
        .await
        .expect("checkpoint");
    let mut want = checkpoint("e2", 30, 8, 2, 3);
    (want.last_ticket, want.head, want.ticket_margin) = (40, 10, 7);
    assert_eq!(db.load_checkpoint(&event).await.expect("load"), Some(want));

    db.forget(&event).await.expect("forget");
    assert_eq!(db.load_settings(&event).await.expect("load"), None);
    assert_eq!(db.load_checkpoint(&event).await.expect("load"), None);
    assert_eq!(db.events().await.expect("events"), vec![other]);
}

#[tokio::test]
async fn sqlite_ledger() {
    let (db, _dir) = sqlite().await;
    conformance(&db).await;
}

#[tokio::test]
async fn postgres_ledger() {
    conformance(&postgres().await).await;
}

#[tokio::test]
async fn memory_ledger_behaves_the_same() {
    conformance(&queue::ledger::MemoryLedger::default()).await;
}
