//! Joining and returning to a place: both run `join.lua`, which keeps the
//! rules for kept places in one script.
//!
//! Joins go to Redis together: each is handed to one task per store
//! ([`JoinQueue`]), which sends everything waiting as one call per event
//! and, while that call is out, gathers the next. Under load a call carries
//! dozens of joins, so each costs Redis a share of one script run and the
//! process a share of one write, instead of one each; alone, a join waits
//! for no one. Joins keep their order: no call goes out before the ones
//! before it have answered, each lists its visitors in the order they
//! arrived, and the script hands out tickets in that order.

use super::codec::{status, to_array, to_u64};
use super::keys::EventKeys;
use super::scripts::LuaScript;
use crate::error::{QueueError, Result};
use crate::ids::{EventId, VisitorId};
use crate::settings::QueueState;
use crate::store::{JoinOutcome, Millis};
use fred::clients::Client;
use fred::types::Value;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Most joins one call carries: a call holds Redis for about 11 µs per
/// join, so at most about 0.7 ms here, which ticks and other events'
/// commands wait behind.
const MAX_BATCH: usize = 64;

/// What `join.lua` is asked to do.
#[derive(Clone, Copy)]
pub(super) enum Mode {
    /// Return any place the visitor has, else issue one.
    Join,
    /// Only give back a place kept after an absence.
    Reinstate,
}

/// One visitor's answer: `None` when `Mode::Reinstate` found no kept place.
type Answer = Result<Option<JoinOutcome>>;

/// Runs `join.lua`: what a call needs, shared by the store and its
/// [`JoinQueue`].
#[derive(Clone)]
pub(super) struct Placer {
    pub(super) client: Client,
    pub(super) script: LuaScript,
    pub(super) commands: Arc<AtomicU64>,
    /// The joinable states, as `join.lua` takes them.
    pub(super) joinable: Arc<str>,
}

impl Placer {
    /// Places `visitors` of one event, in order, with one call: one answer
    /// each, or one error when the call as a whole failed (Redis
    /// unavailable, an unknown event).
    pub(super) async fn place(
        &self,
        event: &EventId,
        visitors: &[&VisitorId],
        now: Millis,
        mode: Mode,
    ) -> Result<Vec<Answer>> {
        let k = EventKeys::new(event);
        let mode_arg = match mode {
            Mode::Join => "join",
            Mode::Reinstate => "reinstate",
        };
        let call = || {
            let keys = vec![
                k.seq(),
                k.fifo(),
                k.visitors(),
                k.seen(),
                k.settings(),
                k.prequeue(),
                k.pending_reinstated(),
            ];
            let mut args = Vec::with_capacity(3 + visitors.len());
            args.extend([
                now.to_string(),
                self.joinable.to_string(),
                mode_arg.to_owned(),
            ]);
            args.extend(visitors.iter().map(|v| v.to_string()));
            (keys, args)
        };
        let reply = self.script.run_with(&self.client, &self.commands, call);
        let mut items = to_array(reply.await?, "join reply")?.into_iter();
        match items.next().as_ref().and_then(Value::as_i64) {
            Some(1) if items.len() == visitors.len() => Ok(items.map(answer).collect()),
            Some(-1) => Err(QueueError::UnknownEvent(event.to_string())),
            _ => Err(QueueError::Corrupt(
                "join reply: not one answer per visitor".into(),
            )),
        }
    }
}

/// One visitor's answer in `join.lua`'s reply.
fn answer(item: Value) -> Answer {
    let items = to_array(item, "join answer")?;
    match (status(&items, "join answer")?, items.get(1), items.get(2)) {
        (-2, Some(state), _) => {
            let state = state.as_str().and_then(|s| QueueState::parse(&s));
            let state = state.ok_or_else(|| QueueError::Corrupt("queue state".into()))?;
            Err(QueueError::NotJoinable(state))
        }
        (-3, _, _) => Ok(None),
        (ticket, Some(fresh), Some(reinstated)) if ticket >= 0 => Ok(Some(JoinOutcome {
            ticket: ticket.unsigned_abs(),
            fresh: to_u64(fresh, "fresh")? == 1,
            reinstated: to_u64(reinstated, "reinstated")? == 1,
        })),
        _ => Err(QueueError::Corrupt(format!("join answer {items:?}"))),
    }
}

/// A join handed to the [`JoinQueue`]'s task.
struct Waiting {
    event: EventId,
    visitor: VisitorId,
    now: Millis,
    answer: oneshot::Sender<Answer>,
}

/// The task that sends joins to Redis together; stopped when dropped.
pub(super) struct JoinQueue {
    waiting: mpsc::UnboundedSender<Waiting>,
    task: JoinHandle<()>,
}

impl JoinQueue {
    pub(super) fn start(placer: Placer) -> JoinQueue {
        let (waiting, arrived) = mpsc::unbounded_channel();
        let task = tokio::spawn(serve(placer, arrived));
        JoinQueue { waiting, task }
    }

    /// Joins `visitor` with whoever else is joining now. Unbounded: each
    /// waiting join is a request awaiting its answer, so the connection
    /// caps bound them.
    pub(super) async fn join(
        &self,
        event: &EventId,
        visitor: &VisitorId,
        now: Millis,
    ) -> Result<JoinOutcome> {
        let stopped = || QueueError::Unavailable("the Redis join queue stopped".into());
        let (answer, answered) = oneshot::channel();
        let waiting = Waiting {
            event: event.clone(),
            visitor: visitor.clone(),
            now,
            answer,
        };
        self.waiting.send(waiting).map_err(|_| stopped())?;
        answered
            .await
            .map_err(|_| stopped())??
            .ok_or_else(|| QueueError::Corrupt("join reply without a place".into()))
    }
}

impl Drop for JoinQueue {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sends everything waiting, one call per event (all out before any is
/// awaited), then what arrived meanwhile.
async fn serve(placer: Placer, mut arrived: mpsc::UnboundedReceiver<Waiting>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while arrived.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut calls = Vec::new();
        while !batch.is_empty() {
            let event = batch[0].event.clone();
            let (group, rest): (Vec<_>, Vec<_>) = batch.drain(..).partition(|w| w.event == event);
            batch = rest;
            calls.push(send(&placer, event, group));
        }
        let outage = futures::future::join_all(calls)
            .await
            .into_iter()
            .flatten()
            .next();
        // Calls go one at a time, so while Redis does not answer each
        // waits out the command timeout: joins that queued up meanwhile
        // fail now, as each would have alone, instead of a timeout apiece.
        if let Some(outage) = outage {
            while let Ok(waiting) = arrived.try_recv() {
                let _ = waiting.answer.send(Err(again(&outage)));
            }
        }
    }
}

/// One call for one event's waiting joins; every join gets its answer.
/// Returns the error if Redis was unavailable.
async fn send(placer: &Placer, event: EventId, group: Vec<Waiting>) -> Option<QueueError> {
    let now = group.iter().map(|w| w.now).max().unwrap_or_default();
    let visitors: Vec<&VisitorId> = group.iter().map(|w| &w.visitor).collect();
    match placer.place(&event, &visitors, now, Mode::Join).await {
        Ok(answers) => {
            for (waiting, answer) in group.into_iter().zip(answers) {
                // A join whose request went away has its place all the same.
                let _ = waiting.answer.send(answer);
            }
            None
        }
        Err(e) => {
            for waiting in group {
                let _ = waiting.answer.send(Err(again(&e)));
            }
            matches!(e, QueueError::Unavailable(_)).then_some(e)
        }
    }
}

/// The error of a call that failed as a whole, for each join it carried.
fn again(e: &QueueError) -> QueueError {
    match e {
        QueueError::UnknownEvent(event) => QueueError::UnknownEvent(event.clone()),
        QueueError::Corrupt(what) => QueueError::Corrupt(what.clone()),
        QueueError::Unavailable(why) => QueueError::Unavailable(why.clone()),
        // `Placer::place` fails with nothing else.
        other => QueueError::Unavailable(other.to_string()),
    }
}
