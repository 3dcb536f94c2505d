//! The `sale_minute` repository on both backends: each batch is added once
//! (the watermark's compare-and-set), histograms merge, gauges take the
//! newest batch and cumulative counts keep the larger value.
//! PostgreSQL at WR_TEST_POSTGRES_URL (default the local server); the
//! test fails with a clear message when it is absent.

use super::db::{Totals, Watermark};
use super::fold::Minute;
use crate::store::AdminDb;
use std::collections::BTreeMap;

async fn postgres() -> AdminDb {
    let server = std::env::var("WR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let pool = sqlx::PgPool::connect(&server).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required at {server} (WR_TEST_POSTGRES_URL): {e}")
    });
    let name = format!("wr_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("create database {name}"))
        .execute(&pool)
        .await
        .expect("create test database");
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    AdminDb::connect(&format!("{base}/{name}"))
        .await
        .expect("connect")
}

fn minute(start: u64, admitted: u64, waits: &[(u64, u64)], waiting: u64) -> Minute {
    Minute {
        start,
        ticks: 5,
        joins: 3,
        admitted,
        departed: 1,
        waiting,
        active: admitted,
        waits: waits.iter().copied().collect(),
        waits_known: waits.iter().map(|w| w.1).sum(),
    }
}

async fn conformance(db: AdminDb) {
    let store = db.sale_minutes();
    let ev = "conf";
    assert_eq!(store.watermark(ev).await.expect("watermark"), None);
    let w1 = Watermark {
        seq: 5,
        last_ticket: 3,
        at: 65_000,
    };
    let totals = |holds| Totals {
        holds,
        revenue: holds * 100,
        ..Totals::default()
    };
    let first = [minute(60_000, 2, &[(4, 2)], 7)];
    assert!(store
        .add(ev, None, w1, &first, &totals(2))
        .await
        .expect("add"));
    // A second process that read no watermark either loses the race.
    assert!(!store
        .add(ev, None, w1, &first, &totals(2))
        .await
        .expect("add"));
    let w2 = Watermark {
        seq: 10,
        last_ticket: 6,
        at: 125_000,
    };
    let second = [
        minute(60_000, 1, &[(4, 1), (9, 1)], 2),
        minute(120_000, 1, &[], 1),
    ];
    assert!(store
        .add(ev, Some(w1), w2, &second, &totals(1))
        .await
        .expect("add"));
    assert!(!store
        .add(ev, Some(w1), w2, &second, &totals(9))
        .await
        .expect("add"));
    assert_eq!(store.watermark(ev).await.expect("watermark"), Some(w2));

    let (base, rows) = store.range(ev, 0, 120_000).await.expect("range");
    assert!(base.is_none());
    assert_eq!(rows.len(), 2);
    let m = &rows[0];
    assert_eq!(
        (m.minute, m.joins, m.admitted, m.departed),
        (60_000, 6, 3, 2)
    );
    assert_eq!(
        (m.waiting, m.waits_known),
        (2, 4),
        "the newest gauge, summed waits"
    );
    let waits = super::report::histogram(&m.waits);
    assert_eq!(waits, BTreeMap::from([(4, 3), (9, 1)]));
    assert_eq!(m.totals.holds, 2, "the earlier, larger count is kept");
    assert_eq!(rows[1].totals.holds, 1);
    let (base, rows) = store.range(ev, 120_000, 180_000).await.expect("range");
    assert_eq!((base.map(|b| b.minute), rows.len()), (Some(60_000), 1));
    assert_eq!(store.span(ev).await.expect("span"), Some((60_000, 120_000)));
    assert_eq!(store.span("other").await.expect("span"), None);
    let sales = store.sales_totals(ev).await.expect("sales");
    assert_eq!(sales, Totals::default());
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("records.db").display());
    conformance(AdminDb::connect(&url).await.expect("connect")).await;
}

#[tokio::test]
async fn postgresql() {
    conformance(postgres().await).await;
}
