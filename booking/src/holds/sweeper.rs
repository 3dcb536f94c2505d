//! Releases expired holds. Safe on several nodes: PostgreSQL hands each
//! expired hold to one sweeper (`for update skip locked`); SQLite has one
//! writer. Every release tells the queue the admitted session ended.

use super::Holds;
use crate::state::now;
use std::time::Duration;

/// Holds expired per transaction.
const BATCH: i64 = 200;

impl Holds {
    /// Expires every due hold now; returns how many.
    pub async fn sweep_expired_holds(&self) -> crate::error::Result<usize> {
        let mut total = 0;
        loop {
            let released = self.db.holds().expire_due(now(), BATCH).await?;
            total += released.len();
            for r in &released {
                self.after_release(r).await;
            }
            if (released.len() as i64) < BATCH {
                return Ok(total);
            }
        }
    }
}

/// The sweeper loop; runs until its task is aborted.
pub async fn run(state: Holds) {
    let period = Duration::from_millis(state.config.sweep_interval_ms.max(50));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.sweep_expired_holds().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "released expired holds"),
            Err(e) => tracing::warn!(error = %e, "hold sweep failed"),
        }
    }
}
