//! Group commit for holds on PostgreSQL. A hold alone costs a round trip
//! and a commit (a WAL flush); concurrent holds that each commit alone queue
//! behind one another's. Here a few workers each take every hold waiting (up
//! to [`MAX_BATCH`]) and place them with one call of `place_holds`: one
//! round trip, one commit. The function places the whole batch at once
//! when it can, else each hold in its own subtransaction: a hold that finds
//! its seats taken (or its admission used) changes nothing, the others
//! commit together. Holds in one batch see each
//! other's seats, so one seat still has one winner; and nothing is answered
//! before the commit.
//!
//! The same call then commits and looks at what is left of the batch's
//! events (`place_holds_then_left`): the waitlist needs that after every
//! hold, from a query that started after the hold's commit, and asked on
//! its own it was one more round trip per batch that each hold waited for.
//!
//! A database error for a batch (a deadlock with a writer that locks seats
//! in another order, a failed commit) sends each of its holds through
//! [`PgStore::place_alone`], so the caller gets the outcome or error of its
//! own hold, never a neighbour's.

use super::super::postgres::PgStore;
use super::postgres::lock_key;
use crate::db::{Left, NewHold, PlaceOutcome};
use crate::error::{BookingError, Result};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Most holds in one call: enough to share a round trip and a flush among
/// a burst, few enough that the first of them does not wait long for the
/// last. A batch is one subtransaction when every hold is placed, else one
/// more per hold; PostgreSQL keeps 64 per transaction in shared memory and
/// makes every snapshot slower beyond that, so this stays below 64.
const MAX_BATCH: usize = 32;
/// Calls in flight at once, each on a connection of its own. Fewer workers
/// make larger batches, which cost PostgreSQL less per hold: since a whole
/// batch is placed at once, 2 workers of at most 32 used less PostgreSQL
/// CPU per hold and placed more holds per second than 4 of at most 16 on
/// the 2-core test machine (docs/benchmarks.md).
const WORKERS: usize = 2;
/// Holds waiting for a worker before callers wait to hand theirs in.
const QUEUE: usize = 1_024;
/// Events a worker remembers a free seat of, to look from next time.
const HINTS: usize = 1_024;

/// A hold's outcome, and what was left of its event after the commit.
type Placed = (PlaceOutcome, Option<Left>);

/// One caller's hold and where its outcome goes.
struct Job {
    hold: NewHold,
    reply: oneshot::Sender<Result<Placed>>,
}

/// Hands holds to the workers; dropping it stops them.
pub(in crate::db) struct HoldBatcher {
    queue: mpsc::Sender<Job>,
}

impl HoldBatcher {
    /// The pool the workers need: one connection each, and one more each
    /// for placing a failed batch's holds alone while keeping their own.
    pub(in crate::db) const CONNECTIONS: u32 = 2 * WORKERS as u32;

    /// Starts the workers on `pool`, which is theirs alone.
    pub(in crate::db) fn start(pool: PgPool) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..WORKERS {
            tokio::spawn(work(pool.clone(), jobs.clone()));
        }
        Self { queue }
    }

    /// Places `hold` in the next batch and waits for its commit.
    pub(in crate::db) async fn place(&self, hold: &NewHold) -> Result<Placed> {
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
    // Kept from one batch to the next while holds keep coming: taking a
    // connection from the pool goes through its queue (and a ping, for one
    // that sat idle: `PgStore::connect`).
    // A worker that waits, for the queue or for another worker to take its
    // batch from it, gives its connection back first.
    let mut conn: Option<PoolConnection<Postgres>> = None;
    // Per event, the free seat its last look found (see `CatalogRepo::left`).
    let mut hints: HashMap<String, i64> = HashMap::new();
    loop {
        let batch = {
            let mut jobs = match jobs.try_lock() {
                Ok(jobs) => jobs,
                Err(_) => {
                    conn = None;
                    jobs.lock().await
                }
            };
            let first = match jobs.try_recv() {
                Ok(job) => job,
                Err(TryRecvError::Empty) => {
                    conn = None;
                    match jobs.recv().await {
                        Some(job) => job,
                        None => return,
                    }
                }
                Err(TryRecvError::Disconnected) => return,
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
        let mut c = match conn.take() {
            Some(c) => c,
            None => match pool.acquire().await {
                Ok(c) => c,
                Err(e) => {
                    // Each caller gets the error its own hold meets.
                    tracing::warn!(error = %e, "no connection for a batch of holds");
                    for job in batch {
                        let _ = job.reply.send(alone(&pool, &job.hold).await);
                    }
                    continue;
                }
            },
        };
        if hints.len() > HINTS {
            hints.clear();
        }
        if run(&pool, &mut c, batch, &mut hints).await {
            conn = Some(c);
        }
    }
}

/// Places `batch` on `conn`; `false` when that failed, and the connection
/// may be broken: each hold was then placed alone on a pooled one.
async fn run(
    pool: &PgPool,
    conn: &mut PgConnection,
    mut batch: Vec<Job>,
    hints: &mut HashMap<String, i64>,
) -> bool {
    // Pools, then seats, lowest first: batches placed in this order lock
    // rows in one order and never wait on each other in a cycle.
    batch.sort_by_key(|j| lock_key(&j.hold));
    let holds: Vec<&NewHold> = batch.iter().map(|j| &j.hold).collect();
    let mut look: Vec<(String, i64)> = Vec::new();
    for h in &holds {
        if !look.iter().any(|l| l.0 == h.event_id) {
            let from = hints.get(&h.event_id).copied().unwrap_or(0);
            look.push((h.event_id.clone(), from));
        }
    }
    let placed = PgStore::place_batch_then_left(&mut *conn, &holds, &look).await;
    let ok = placed.is_ok();
    let outcomes: Vec<Option<Result<Placed>>> = match placed {
        Ok((outcomes, left)) => {
            let left = left.unwrap_or_default();
            for ((event, _), l) in look.iter().zip(&left) {
                if let Some(Left {
                    seat: Some(seat), ..
                }) = l
                {
                    hints.insert(event.clone(), *seat);
                }
            }
            let left_of = |event: &str| {
                let k = look.iter().position(|l| l.0 == event)?;
                left.get(k).copied().flatten()
            };
            holds
                .iter()
                .zip(outcomes)
                .map(|(h, o)| Some(Ok((o, left_of(&h.event_id)))))
                .collect()
        }
        Err(e) => {
            tracing::warn!(error = %e, holds = batch.len(), "a batch of holds failed; placing each alone");
            batch.iter().map(|_| None).collect()
        }
    };
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        let result = match outcome {
            Some(result) => result,
            None => alone(pool, &job.hold).await,
        };
        // The caller may have gone away; its hold stands (or not) anyway.
        let _ = job.reply.send(result);
    }
    ok
}

/// One hold in a call of its own; the caller looks at what is left.
async fn alone(pool: &PgPool, hold: &NewHold) -> Result<Placed> {
    Ok((PgStore::place_alone(pool, hold).await?, None))
}
