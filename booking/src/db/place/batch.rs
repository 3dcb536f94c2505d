//! Group commit for holds on PostgreSQL. A commit waits for the WAL to
//! reach the disk; concurrent holds that each commit alone queue behind one
//! another's flushes. Here a few workers each take every hold waiting (up to
//! [`MAX_BATCH`]) and place them in one transaction, each hold inside its
//! own savepoint: a hold that finds its seats taken (or its admission used)
//! rolls back to its savepoint and changes nothing, the others commit
//! together. Holds in one transaction see each other's seats, so one seat
//! still has one winner; and nothing is answered before the commit.
//!
//! Any database error inside a batch (a deadlock between two batches whose
//! holds lock seats in different orders, a failed commit) sends the holds
//! it concerns through [`PgStore::place_alone`], so the caller gets the
//! outcome or error of its own hold, never a neighbour's.

use super::super::postgres::PgStore;
use crate::db::{NewHold, PlaceOutcome};
use crate::error::{BookingError, Result};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Most holds in one transaction: enough to share a flush among a burst,
/// few enough that the first of them does not wait long for the last.
const MAX_BATCH: usize = 8;
/// Transactions being built at once; each holds a pooled connection.
const WORKERS: usize = 8;
/// Holds waiting for a worker before callers wait to hand theirs in.
const QUEUE: usize = 1_024;

/// One caller's hold and where its outcome goes.
struct Job {
    hold: NewHold,
    reply: oneshot::Sender<Result<PlaceOutcome>>,
}

/// Hands holds to the workers; dropping it stops them.
pub(in crate::db) struct HoldBatcher {
    queue: mpsc::Sender<Job>,
}

impl HoldBatcher {
    /// Starts the workers on `pool`.
    pub(in crate::db) fn start(pool: PgPool) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..WORKERS {
            tokio::spawn(work(pool.clone(), jobs.clone()));
        }
        Self { queue }
    }

    /// Places `hold` in the next batch and waits for its commit.
    pub(in crate::db) async fn place(&self, hold: &NewHold) -> Result<PlaceOutcome> {
        let (reply, outcome) = oneshot::channel();
        let job = Job {
            hold: hold.clone(),
            reply,
        };
        let stopped = || BookingError::internal("the hold workers have stopped");
        self.queue.send(job).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

async fn work(pool: PgPool, jobs: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let batch = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        run(&pool, batch).await;
    }
}

async fn run(pool: &PgPool, mut batch: Vec<Job>) {
    if batch.len() == 1 {
        // Nothing to share: savepoints would only add round trips.
        if let Some(job) = batch.pop() {
            let _ = job.reply.send(PgStore::place_alone(pool, &job.hold).await);
        }
        return;
    }
    // Lowest seat first across the batch, as within a hold, so batches
    // rarely lock seats in opposite orders.
    batch.sort_by_key(|j| j.hold.seats.first().map(|s| s.seat_id));
    let mut outcomes = vec![None; batch.len()];
    let committed = match together(pool, &batch, &mut outcomes).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, holds = batch.len(), "a batch of holds failed; placing each alone");
            false
        }
    };
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        let result = match outcome {
            Some(outcome) if committed => Ok(outcome),
            _ => PgStore::place_alone(pool, &job.hold).await,
        };
        // The caller may have gone away; its hold stands (or not) anyway.
        let _ = job.reply.send(result);
    }
}

/// Places every hold of `batch` in one transaction; `outcomes[i]` stays
/// `None` for a hold whose statements failed (rolled back to its savepoint).
/// Each event is checked once: its share lock lasts until the commit.
async fn together(
    pool: &PgPool,
    batch: &[Job],
    outcomes: &mut [Option<PlaceOutcome>],
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let mut open: HashMap<String, bool> = HashMap::new();
    sqlx::query("savepoint hold").execute(&mut *tx).await?;
    for (job, outcome) in batch.iter().zip(outcomes.iter_mut()) {
        let h = &job.hold;
        let placed = match open.get(h.event_id.as_str()) {
            Some(true) => PgStore::place_in_open_event(&mut tx, h).await,
            Some(false) => Ok(PlaceOutcome::EventClosed),
            None => match PgStore::event_open(&mut tx, &h.event_id).await {
                Ok(is_open) => {
                    open.insert(h.event_id.clone(), is_open);
                    match is_open {
                        true => PgStore::place_in_open_event(&mut tx, h).await,
                        false => Ok(PlaceOutcome::EventClosed),
                    }
                }
                Err(e) => Err(e),
            },
        };
        // Rolling back to a savepoint keeps it; releasing ends it, so a
        // kept hold starts the next one's in the same round trip.
        let end = if matches!(placed, Ok(PlaceOutcome::Placed)) {
            "release savepoint hold; savepoint hold"
        } else {
            "rollback to savepoint hold"
        };
        sqlx::Executor::execute(&mut *tx, end).await?;
        *outcome = placed.ok();
    }
    tx.commit().await?;
    Ok(())
}
