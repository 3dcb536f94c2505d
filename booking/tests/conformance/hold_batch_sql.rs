//! The PostgreSQL function `place_holds` called directly with batches
//! chosen here (the service forms its batches from whatever arrives at
//! once). A batch where every hold can be placed is placed in one
//! subtransaction (the fast path of
//! `migrations/postgres/20261204090000_hold_batch_fast_path.sql`); a batch
//! where one cannot falls back to one subtransaction per hold, which places
//! the others and refuses that one. Rows written in one subtransaction
//! share their `xmin`, which tells the two paths apart. SQLite has no such
//! function (it places one hold per transaction).
//!
//! `place_holds_then_left` places a batch the same way, commits, and only
//! then looks at what is left of its events.

use crate::common::{Backend, TestApp};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};

/// Seat ids of the demo event, ascending.
async fn seat_ids(app: &TestApp) -> Vec<i64> {
    let mut ids: Vec<i64> = app.seats().await.into_iter().map(|s| s.0).collect();
    ids.sort_unstable();
    ids
}

/// One one-seat hold per `(hold id, seat)` of `event`, each with an
/// admission of its own, as `place_holds`' first twelve distinct
/// parameters (the SQL repeats `$8` and `$9` where columns share a value).
fn bind_batch<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    event: &str,
    holds: &[(&str, i64)],
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    let n = holds.len();
    let ids: Vec<String> = holds.iter().map(|h| h.0.to_owned()).collect();
    let jtis: Vec<String> = holds.iter().map(|h| format!("jti_{}", h.0)).collect();
    let seats: Vec<i64> = holds.iter().map(|h| h.1).collect();
    let text = |v: &str| vec![v.to_owned(); n];
    let none: Vec<Option<i64>> = vec![None; n];
    q.bind(ids)
        .bind(text(event))
        .bind(text("visitor"))
        .bind(text("session"))
        .bind(jtis)
        .bind(vec![100_i64; n])
        .bind(text("usd"))
        .bind(vec![chrono::Utc::now(); n])
        .bind(none)
        .bind(vec![1_i32; n])
        .bind(seats)
        .bind(vec![100_i64; n])
}

/// Calls `place_holds` with `holds` (see [`bind_batch`]); answers
/// `(outcome, taken)` per hold.
async fn place(pool: &PgPool, holds: &[(&str, i64)]) -> Vec<(i16, Vec<i64>)> {
    place_on(pool, "demo", holds).await
}

/// [`place`] on `event`, through `conn`.
async fn place_on<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    event: &str,
    holds: &[(&str, i64)],
) -> Vec<(i16, Vec<i64>)> {
    let q = sqlx::query_as(
        "select hold_index, outcome, taken from place_holds(
            $1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9, $9, $10, $11, $12, false)
        order by hold_index",
    );
    let rows: Vec<(i32, i16, Vec<i64>)> = bind_batch(q, event, holds)
        .fetch_all(conn)
        .await
        .expect("place_holds");
    rows.into_iter().map(|r| (r.1, r.2)).collect()
}

/// How many subtransactions wrote these hold rows.
async fn writers(pool: &PgPool, holds: &[&str]) -> i64 {
    sqlx::query_scalar("select count(distinct xmin::text) from hold where id = any ($1)")
        .bind(holds)
        .fetch_one(pool)
        .await
        .expect("hold rows")
}

/// A test app on PostgreSQL, and its database's URL, for connections of
/// the test's own.
async fn on_postgres() -> (TestApp, String) {
    let app = TestApp::new(Backend::Postgres).await;
    let url = app.config.database_url.as_ref().expect("a database url");
    let url = url.expose().to_owned();
    (app, url)
}

async fn holder(pool: &PgPool, seat: i64) -> Option<String> {
    sqlx::query_scalar("select hold_id from seat where id = $1")
        .bind(seat)
        .fetch_one(pool)
        .await
        .expect("seat")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_places_all_at_once_or_each_hold_alone() {
    let (app, url) = on_postgres().await;
    let pool = PgPool::connect(&url).await.expect("connect");
    let ids = seat_ids(&app).await;

    let all_free = [
        ("hold_a1", ids[0]),
        ("hold_a2", ids[1]),
        ("hold_a3", ids[2]),
    ];
    let outcomes = place(&pool, &all_free).await;
    assert_eq!(outcomes, vec![(0, vec![]); 3], "all placed");
    assert_eq!(
        writers(&pool, &["hold_a1", "hold_a2", "hold_a3"]).await,
        1,
        "in one subtransaction"
    );

    // In seat order (the order the service sends a batch in); the first
    // hold's seat is `hold_a2`'s.
    let batch = [
        ("hold_b2", ids[1]),
        ("hold_b1", ids[3]),
        ("hold_b3", ids[4]),
    ];
    let outcomes = place(&pool, &batch).await;
    assert_eq!(
        outcomes,
        vec![(2, vec![ids[1]]), (0, vec![]), (0, vec![])],
        "only the taken seat's hold is refused"
    );
    assert_eq!(holder(&pool, ids[1]).await.as_deref(), Some("hold_a2"));
    assert_eq!(holder(&pool, ids[3]).await.as_deref(), Some("hold_b1"));
    assert_eq!(holder(&pool, ids[4]).await.as_deref(), Some("hold_b3"));
    assert_eq!(
        writers(&pool, &["hold_b1", "hold_b3"]).await,
        2,
        "each placed alone"
    );
    let refused: i64 = sqlx::query_scalar(
        "select (select count(*) from hold where id = 'hold_b2')
            + (select count(*) from consumed_admission where jti = 'jti_hold_b2')",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(refused, 0, "the refused hold left nothing behind");
    pool.close().await;
    app.cleanup().await;
}

type Look = (
    Vec<i16>,
    Vec<i32>,
    Vec<i64>,
    Option<Vec<Option<i64>>>,
    Option<Vec<Option<bool>>>,
);

/// Calls `place_holds_then_left` with `holds` (see [`bind_batch`]),
/// looking at `look` (event, seat to look from).
async fn place_then_look(pool: &PgPool, holds: &[(&str, i64)], look: &[(&str, i64)]) -> Look {
    let events: Vec<String> = look.iter().map(|l| l.0.to_owned()).collect();
    let from: Vec<i64> = look.iter().map(|l| l.1).collect();
    let q = sqlx::query_as(
        "call place_holds_then_left(
            $1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9, $9, $10, $11, $12, false,
            $13, $14, null, null, null, null, null)",
    );
    bind_batch(q, "demo", holds)
        .bind(events)
        .bind(from)
        .fetch_one(pool)
        .await
        .expect("place_holds_then_left")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_committed_before_what_is_left_is_looked_at() {
    let (app, url) = on_postgres().await;
    let pool = PgPool::connect(&url).await.expect("connect");
    let ids = seat_ids(&app).await;

    let first = [("hold_c1", ids[0]), ("hold_c2", ids[1])];
    let (outcomes, counts, taken, seat, places) =
        place_then_look(&pool, &first, &[("demo", ids[0])]).await;
    assert_eq!((outcomes, counts, taken), (vec![0, 0], vec![0, 0], vec![]));
    assert_eq!(
        seat,
        Some(vec![Some(ids[2])]),
        "the batch's seats are taken"
    );
    assert_eq!(places, Some(vec![Some(true)]));

    // Two holds refused, each with its seat; the look starts past the
    // free seats and wraps to the first one; an unknown event has nothing.
    let second = [
        ("hold_d1", ids[0]),
        ("hold_d2", ids[1]),
        ("hold_d3", ids[5]),
    ];
    let look = [("demo", ids[ids.len() - 1] + 1), ("no_such_event", 0)];
    let (outcomes, counts, taken, seat, places) = place_then_look(&pool, &second, &look).await;
    assert_eq!(outcomes, vec![2, 2, 0]);
    assert_eq!((counts, taken), (vec![1, 1, 0], vec![ids[0], ids[1]]));
    assert_eq!(seat, Some(vec![Some(ids[2]), None]));
    assert_eq!(places, Some(vec![Some(true), Some(false)]));
    assert_eq!(holder(&pool, ids[5]).await.as_deref(), Some("hold_d3"));
    pool.close().await;

    // One session, many calls: PostgreSQL switches the look's statements
    // to generic plans after the fifth, and the answers stay the same.
    // Each batch takes the seat the last look found; the next look finds
    // the next free one, wrapping to the first when asked from past the
    // last seat.
    let one = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("connect");
    let free: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| ![ids[0], ids[1], ids[5]].contains(id))
        .collect();
    for k in 0..12 {
        let hold = format!("hold_e{k}");
        let from = if k % 4 == 3 { i64::MAX } else { free[k] };
        let (outcomes, _, _, seat, _) =
            place_then_look(&one, &[(hold.as_str(), free[k])], &[("demo", from)]).await;
        assert_eq!(outcomes, vec![0], "call {k}");
        assert_eq!(seat, Some(vec![Some(free[k + 1])]), "call {k}");
    }
    one.close().await;
    app.cleanup().await;
}

/// Seat rows read so far by every session, through indexes and scans
/// (`conn`'s own counts are flushed first, so its reads are in).
async fn seats_fetched(conn: &mut sqlx::PgConnection) -> i64 {
    sqlx::query("select pg_stat_force_next_flush()")
        .execute(&mut *conn)
        .await
        .expect("flush stats");
    sqlx::query_scalar(
        "select coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0)
        from pg_stat_user_tables where relname = 'seat'",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("seat stats")
}

/// The hold workers plan `place_holds` once per connection, from whatever
/// statistics the seat table has. Planned with none (a database whose
/// seats were all just added, before autovacuum came round), the seat
/// update read every available seat for each batch; creating an event now
/// analyzes its tables, so a batch on a large new event reads the seats
/// it takes. (On a small table a plan that reads it all is the cheap one.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_on_a_new_event_reads_only_its_seats() {
    let (app, url) = on_postgres().await;
    let mut seed = booking::db::seed::demo_catalog(booking::state::now());
    seed.event_id = "big".to_owned();
    seed.sections = vec![booking::db::SeedSection {
        name: "Floor".into(),
        rows: (0..50).map(|r| (format!("R{r}"), 100, 0)).collect(),
        general: None,
    }];
    assert!(app.state.sales().create_event(&seed).await.expect("create"));
    let map = app.db.catalog().seat_map("big").await.expect("seat map");
    let ids: Vec<i64> = map.seats.iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), 5_000);
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let before = seats_fetched(&mut conn).await;
    let outcomes = place_on(
        &mut conn,
        "big",
        &[("hold_s1", ids[0]), ("hold_s2", ids[1])],
    )
    .await;
    assert_eq!(outcomes, vec![(0, vec![]); 2], "both placed");
    // Each seat is read to take it and again by `hold_seat`'s foreign key;
    // the margin is for whatever else the test app reads meanwhile.
    let read = seats_fetched(&mut conn).await - before;
    assert!(read <= 50, "a batch of two holds read {read} seat rows");
    drop(conn);
    app.cleanup().await;
}
