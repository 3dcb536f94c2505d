//! Applying `migrations/` (shared by booking and admin, whichever starts
//! first). A newer process may have applied migrations this binary does not
//! know yet (rolling deploy); they only add, so they are tolerated.

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{PgPool, SqlitePool};

/// Applied migrations whose text later changed in comments only, with the
/// SHA-384 sqlx recorded for the old text. sqlx refuses to start on a
/// database whose recorded checksum differs from the file's; since no
/// statement changed, the record is moved to the new text instead.
const REWORDED: &[(i64, &str)] = &[
    // 20250101000001_booking.sql: the header stopped citing an outside document.
    (
        20250101000001,
        "55d5e65f90b417f90c687a8d8996b3d5a0fac0505150ec94bc0c8f5ebbc256d07325b122e08e2e2bdedb64089befb519",
    ),
    (
        20250101000001,
        "9d117be314c662af98570175d440fb411d1e81acd50216ff6a9e6041a806c9cad18f9987b31dcaa62eee6747304bfecc",
    ),
];

const ACCEPT_REWORDED: &str =
    "update _sqlx_migrations set checksum = $1 where version = $2 and checksum = $3";

/// Moves the recorded checksum of each reworded migration to the current
/// text, on either pool type (the query is the same on both).
macro_rules! accept_reworded {
    ($pool:expr, $migrator:expr) => {
        for (version, old, new) in rewrites($migrator) {
            sqlx::query(ACCEPT_REWORDED)
                .bind(new)
                .bind(version)
                .bind(old)
                .execute($pool)
                .await?;
        }
    };
}

/// The (version, old checksum, new checksum) rewrites for `migrator`.
fn rewrites(migrator: &Migrator) -> Vec<(i64, Vec<u8>, Vec<u8>)> {
    REWORDED
        .iter()
        .filter_map(|(version, old)| {
            let new = migrator.iter().find(|m| m.version == *version)?;
            Some((*version, hex::decode(old).ok()?, new.checksum.to_vec()))
        })
        .collect()
}

/// Brings a PostgreSQL database up to date.
pub async fn postgres(pool: &PgPool) -> Result<(), MigrateError> {
    let mut migrator = sqlx::migrate!("../migrations/postgres");
    migrator.set_ignore_missing(true);
    let known: Option<String> = sqlx::query_scalar("select to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await?;
    if known.is_some() {
        accept_reworded!(pool, &migrator);
    }
    migrator.run(pool).await
}

/// Brings a SQLite database up to date.
pub async fn sqlite(pool: &SqlitePool) -> Result<(), MigrateError> {
    let mut migrator = sqlx::migrate!("../migrations/sqlite");
    migrator.set_ignore_missing(true);
    let known: Option<String> = sqlx::query_scalar(
        "select name from sqlite_master where type = 'table' and name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if known.is_some() {
        accept_reworded!(pool, &migrator);
    }
    migrator.run(pool).await
}
