//! `sqlx::migrate!` embeds the migration folders at compile time; rebuild
//! when a migration is added so a new table is never missing at run time.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
