//! One upgraded waiter socket, served by one task: the engine's bounded
//! queue going out, the peer's frames coming in, and the keep-alive.
//!
//! One task rather than a reader and a writer: at 100,000 sockets every
//! wake-up and every lock between two halves of a socket is paid 100,000
//! times. A due ping waits a little for a message to travel with, because
//! a frame written together with another costs no send of its own.

use crate::engine::mailbox;
use crate::engine::waiters::Outgoing;
use axum::extract::ws::{CloseFrame, Message};
use futures::task::AtomicWaker;
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;
use tokio::time::Instant;

/// Keep-alive: a ping falls due this often.
pub const PING_EVERY: Duration = Duration::from_secs(25);
/// A peer that sent nothing (not even a pong) for this long is gone; it is
/// noticed when its next ping leaves (with a message, or alone after the
/// grace).
pub const IDLE_LIMIT: Duration = Duration::from_secs(75);
/// How long a due ping waits for a message to ride with. The cadence rule
/// refreshes every waiter whose numbers changed at least every 10 s, so
/// while the line moves no ping needs a send of its own.
pub const PING_GRACE: Duration = Duration::from_secs(10);
/// Pings fall due on this grid, shared by the process's sockets: timers at
/// each socket's own instant would wake the process thousands of times a
/// second at scale; on a grid it wakes once per step for all that are due.
const PING_GRID: Duration = Duration::from_secs(1);
/// Time a close frame gets to leave before the socket is dropped anyway.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The first grid point at least `PING_EVERY` from now.
pub fn first_ping() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    let due = Instant::now() + PING_EVERY;
    let past = due.saturating_duration_since(origin).as_nanos();
    let grid = PING_GRID.as_nanos();
    let wait = u64::try_from((grid - past % grid) % grid).unwrap_or(0);
    due + Duration::from_nanos(wait)
}

/// Serves `socket` until either side ends it: what arrives on `rx` goes
/// out in order; the peer's frames count as signs of life (their content
/// is ignored); binary frames close with 1003, oversized or malformed ones
/// with 1009, silence past [`IDLE_LIMIT`] with 1001. A write that cannot
/// finish before the peer's silence reaches the limit (a client that never
/// reads) drops the socket; meanwhile the engine finds its queue full.
pub async fn serve<S>(mut socket: S, mut rx: mailbox::Receiver)
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    let mut heard = Instant::now();
    let mut reads = ReadGate::new();
    // When the current ping falls due. The timer wakes the task only when
    // the ping's grace is over: until then a message takes it along.
    let mut due = first_ping();
    let timer = tokio::time::sleep_until(due + PING_GRACE);
    tokio::pin!(timer);
    loop {
        // What this write carries besides a due ping: the next message, or
        // nothing when the ping's grace ran out.
        let msg = tokio::select! {
            biased;
            out = rx.recv() => match out {
                Some(Outgoing::Text(text)) => Some(Message::Text(text)),
                Some(Outgoing::Close(code, reason)) => return close(socket, code, reason).await,
                None => return,
            },
            incoming = reads.next(&mut socket) => match incoming {
                Some(Ok(Message::Close(_))) | None => {
                    // The close reply is queued; send it on the way out.
                    let _ = tokio::time::timeout(CLOSE_WAIT, socket.flush()).await;
                    return;
                }
                Some(Ok(Message::Binary(_))) => {
                    // Unsupported data: policy violation. The place is kept.
                    return close(socket, 1003, "binary not supported").await;
                }
                Some(Ok(_)) => {
                    heard = Instant::now();
                    continue;
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "websocket read error");
                    return close(socket, 1009, "message too big or malformed").await;
                }
            },
            () = &mut timer => None,
        };
        let ping = msg.is_none() || Instant::now() >= due;
        if ping {
            if heard.elapsed() >= IDLE_LIMIT {
                return close(socket, 1001, "idle").await;
            }
            due += PING_EVERY;
            timer.as_mut().reset(due + PING_GRACE);
        }
        if !write(&mut socket, ping, msg, heard + IDLE_LIMIT).await {
            return;
        }
    }
}

/// Polls the socket's read side only after it has woken the task. A task
/// woken for a message would otherwise ask the socket for a frame after
/// every message it sends: a readiness check, two waker registrations and
/// the frame buffer cleared, for nothing, since peers rarely speak.
struct ReadGate {
    flag: Arc<ReadFlag>,
    waker: Waker,
}

struct ReadFlag {
    /// The read side woke since it last said it had nothing (or was never
    /// asked).
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for ReadFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl ReadGate {
    fn new() -> Self {
        let flag = Arc::new(ReadFlag {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Self {
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    /// The socket's next frame, asked for only when there may be one.
    /// Cancel-safe as the socket's own `next` is.
    fn next<'a, S>(
        &'a mut self,
        socket: &'a mut S,
    ) -> impl std::future::Future<Output = Option<Result<Message, axum::Error>>> + 'a
    where
        S: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        std::future::poll_fn(move |cx| {
            self.flag.task.register(cx.waker());
            if !self.flag.woken.swap(false, Ordering::Acquire) {
                return Poll::Pending;
            }
            let polled = socket.poll_next_unpin(&mut Context::from_waker(&self.waker));
            if polled.is_ready() {
                // More frames may be buffered behind this one.
                self.flag.woken.store(true, Ordering::Release);
            }
            polled
        })
    }
}

/// Writes a ping if one is due and then `msg`, with one flush; whether it
/// all left before `deadline`.
async fn write<S>(socket: &mut S, ping: bool, msg: Option<Message>, deadline: Instant) -> bool
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    let frames = async {
        if ping {
            socket.feed(Message::Ping(Default::default())).await?;
        }
        if let Some(msg) = msg {
            socket.feed(msg).await?;
        }
        socket.flush().await
    };
    matches!(tokio::time::timeout_at(deadline, frames).await, Ok(Ok(())))
}

async fn close<S>(mut socket: S, code: u16, reason: &'static str)
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, socket.send(Message::Close(Some(frame)))).await;
}

#[cfg(test)]
#[path = "socket_tests.rs"]
mod tests;
