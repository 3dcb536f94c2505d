//! Per-seat Redis locks (`SET key token NX PX ttl`) taken before the
//! database on hot seats, so 10,000 fans clicking one seat cost Redis
//! round trips instead of database transactions. They only shed load: the
//! database's conditional update stays the authority, and a Redis failure
//! lets the request through to the database.

use fred::prelude::*;
use fred::types::{Expiration, SetOptions};

/// Deletes the key only if we still own it.
const UNLOCK: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// How long a lock lives if the process dies holding it.
const LOCK_TTL_MS: i64 = 5_000;

/// Keys this attempt locked; give them back with [`SeatLocks::release`].
#[derive(Debug)]
pub struct LockGuard {
    keys: Vec<String>,
}

/// Redis seat locks.
pub struct SeatLocks {
    client: Client,
}

impl SeatLocks {
    /// Connects to Redis.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let client = queue::store::redis::fail_fast_builder(Config::from_url(url)?).build()?;
        client.init().await?;
        Ok(Self { client })
    }

    fn key(event: &str, seat: i64) -> String {
        // Hash-tagged per event, like the queue's keys (one Cluster slot).
        format!("wr:{{evt:{event}}}:seatlock:{seat}")
    }

    /// Locks every seat (in the given, sorted order) or none. `Err` lists
    /// the seats someone else is placing right now.
    pub async fn acquire(
        &self,
        event: &str,
        seats: &[i64],
        owner: &str,
    ) -> Result<LockGuard, Vec<i64>> {
        let mut guard = LockGuard { keys: Vec::new() };
        let mut contended = Vec::new();
        for &seat in seats {
            let key = Self::key(event, seat);
            let set: Result<Option<String>, Error> = self
                .client
                .set(
                    key.as_str(),
                    owner,
                    Some(Expiration::PX(LOCK_TTL_MS)),
                    Some(SetOptions::NX),
                    false,
                )
                .await;
            match set {
                Ok(Some(_)) => guard.keys.push(key),
                Ok(None) => contended.push(seat),
                Err(e) => {
                    // Shedding only: without Redis the database decides.
                    tracing::warn!(error = %e, "redis seat lock failed; continuing without it");
                }
            }
        }
        if contended.is_empty() {
            Ok(guard)
        } else {
            self.release(guard, owner).await;
            Err(contended)
        }
    }

    /// Gives the locks back.
    pub async fn release(&self, guard: LockGuard, owner: &str) {
        for key in guard.keys {
            let r: Result<i64, Error> = self.client.eval(UNLOCK, key, owner).await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "redis seat unlock failed; the lock will expire");
            }
        }
    }

    /// Readiness.
    pub async fn ping(&self) -> Result<(), Error> {
        self.client.ping::<String>(None).await.map(|_| ())
    }
}
