//! Upgrading a database that an earlier release migrated: a migration whose
//! text changed in comments only must not stop the service from starting,
//! and any other difference is still refused.

use crate::common::*;
use crate::per_backend;

/// What sqlx recorded for 20250101000001 before its header was reworded
/// (PostgreSQL, SQLite).
const OLD_CHECKSUM: [&str; 2] = [
    "55d5e65f90b417f90c687a8d8996b3d5a0fac0505150ec94bc0c8f5ebbc256d07325b122e08e2e2bdedb64089befb519",
    "9d117be314c662af98570175d440fb411d1e81acd50216ff6a9e6041a806c9cad18f9987b31dcaa62eee6747304bfecc",
];

const AGE: &str = "update _sqlx_migrations set checksum = $1 where version = 20250101000001";
const RECORD: &str = "select checksum from _sqlx_migrations where version = 20250101000001";

/// Migrates, records `checksum` as if an earlier release had applied the
/// first migration, migrates again; returns that run's result and the
/// checksum recorded afterwards.
macro_rules! upgrade {
    ($pool:expr, $migrate:path, $checksum:expr) => {{
        let pool = $pool;
        $migrate(&pool).await.expect("first run");
        sqlx::query(AGE)
            .bind($checksum)
            .execute(&pool)
            .await
            .expect("age the record");
        let result = $migrate(&pool).await;
        let recorded: Vec<u8> = sqlx::query_scalar(RECORD)
            .fetch_one(&pool)
            .await
            .expect("record");
        (result.map_err(|e| e.to_string()), recorded)
    }};
}

async fn upgrade_with(backend: Backend, checksum: Vec<u8>) -> (Result<(), String>, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, pg_db) = config_for(backend, &dir).await;
    let outcome = match &config.database_url {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url.expose()).await.expect("connect");
            upgrade!(pool, booking::db::migrate::postgres, checksum)
        }
        None => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.path().join("old.db"))
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(opts).await.expect("connect");
            upgrade!(pool, booking::db::migrate::sqlite, checksum)
        }
    };
    if let Some(name) = pg_db {
        drop_pg_db(&name).await;
    }
    outcome
}

async fn a_database_migrated_before_a_comment_edit_still_starts(backend: Backend) {
    let old = hex::decode(OLD_CHECKSUM[usize::from(backend == Backend::Sqlite)]).expect("hex");
    let (result, recorded) = upgrade_with(backend, old.clone()).await;
    assert_eq!(
        result,
        Ok(()),
        "an upgraded binary starts on the old database"
    );
    assert_ne!(recorded, old, "the record moved to the current text");

    let unknown = vec![7_u8; 48];
    let (result, recorded) = upgrade_with(backend, unknown.clone()).await;
    assert!(
        result.is_err(),
        "a migration that really changed is refused"
    );
    assert_eq!(recorded, unknown);
}

per_backend!(a_database_migrated_before_a_comment_edit_still_starts);
