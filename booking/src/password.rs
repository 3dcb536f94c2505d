//! Password hashing (argon2id) for customer and operator accounts, behind
//! one process-wide bound on how many hashes run at once.
//!
//! Each argon2id run takes about 19 MiB and a core for tens of
//! milliseconds. Without a bound, a burst of logins runs them all in
//! parallel on the blocking pool (hundreds of threads): memory grew from
//! 194 MiB to 1.4 GB under 250 concurrent wrong logins. With it, excess
//! requests wait briefly for a slot and are then told to retry (429).

use crate::error::{BookingError, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request waits for a hashing slot before it is refused.
pub const MAX_WAIT: Duration = Duration::from_secs(3);
/// `Retry-After` of a request that found no slot.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// How many hashes may run at once: one per core, at least two, at most
/// sixteen (about 300 MiB of argon2 memory at the top).
pub fn max_concurrent() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 16)
}

fn slots() -> &'static Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS.get_or_init(|| Arc::new(Semaphore::new(max_concurrent())))
}

/// Runs `f` on the blocking pool once a slot is free. The permit moves
/// into the blocking task, so a request whose client went away keeps its
/// slot until the hash it started has finished: the bound is on work
/// actually running, not on requests still listening.
async fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit: OwnedSemaphorePermit =
        match tokio::time::timeout(MAX_WAIT, slots().clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(closed)) => return Err(BookingError::internal(closed)),
            Err(_) => {
                return Err(BookingError::RateLimited {
                    retry_after: RETRY_AFTER_SECONDS,
                })
            }
        };
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    .map_err(|e| BookingError::internal(format!("hashing task: {e}")))
}

/// A new argon2id PHC string for `password`. `RateLimited` when every
/// slot stayed busy for [`MAX_WAIT`].
pub async fn hash(password: String) -> Result<String> {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(BookingError::internal)
}

/// Whether `password` matches the PHC string `stored` (a malformed PHC
/// string matches nothing). `RateLimited` as for [`hash`].
pub async fn verify(stored: String, password: String) -> Result<bool> {
    bounded(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_busy_slots_refuse_with_retry() {
        let phc = hash("correct horse".to_owned()).await.expect("hash");
        assert!(verify(phc.clone(), "correct horse".to_owned())
            .await
            .expect("verify"));
        assert!(!verify(phc.clone(), "wrong horse".to_owned())
            .await
            .expect("verify"));
        assert!(!verify("not a phc".to_owned(), "x".to_owned())
            .await
            .expect("verify"));

        // Every slot taken: the next check waits MAX_WAIT, then 429.
        let n = u32::try_from(max_concurrent()).expect("small");
        let all = slots().clone().acquire_many_owned(n).await.expect("slots");
        let started = std::time::Instant::now();
        let busy = verify(phc.clone(), "correct horse".to_owned()).await;
        assert!(
            matches!(busy, Err(BookingError::RateLimited { retry_after: 1 })),
            "{busy:?}"
        );
        assert!(started.elapsed() >= MAX_WAIT);
        drop(all);
        assert!(verify(phc, "correct horse".to_owned())
            .await
            .expect("verify after release"));
    }
}
