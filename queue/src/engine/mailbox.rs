//! A socket's outgoing queue: bounded, fed by the engine (ticks,
//! announcements, admissions), drained by the socket's one task.
//!
//! Not tokio's `mpsc`: a bounded channel spreads one message over its
//! padded tail, a block of slots, a semaphore and the receiver's waker,
//! and at 100,000 sockets, each sent to every few seconds, every one of
//! those lines is cold; pushing and popping were a tenth of a server's
//! samples. Here a message touches one lock, one small deque and a waker,
//! all in one allocation but the deque's buffer.

use super::waiters::Outgoing;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue holds its capacity: the socket is not keeping up.
    Full,
    /// The socket's task has ended.
    Closed,
}

#[derive(Debug)]
struct Inner {
    queue: VecDeque<Outgoing>,
    capacity: usize,
    senders: usize,
    receiving: bool,
    waker: Option<Waker>,
}

#[derive(Debug)]
struct Shared(Mutex<Inner>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing here panics while holding the lock; a poisoned one still
        // holds a consistent queue.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The engine's end; cloned wherever the socket is reachable from.
#[derive(Debug)]
pub struct Sender(Arc<Shared>);

/// The socket task's end.
#[derive(Debug)]
pub struct Receiver(Arc<Shared>);

/// A queue holding at most `capacity` messages.
pub fn channel(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared(Mutex::new(Inner {
        // Grown on the first message: most sockets hold one at a time.
        queue: VecDeque::new(),
        capacity: capacity.max(1),
        senders: 1,
        receiving: true,
        waker: None,
    })));
    (Sender(shared.clone()), Receiver(shared))
}

impl Sender {
    /// Queues `msg` unless the queue is full or the socket gone.
    pub fn try_send(&self, msg: Outgoing) -> Result<(), Refused> {
        let waker = {
            let mut inner = self.0.lock();
            if !inner.receiving {
                return Err(Refused::Closed);
            }
            if inner.queue.len() >= inner.capacity {
                return Err(Refused::Full);
            }
            inner.queue.push_back(msg);
            inner.waker.take()
        };
        // Woken outside the lock: the task may run on another thread at once.
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Whether the socket's task has ended.
    pub fn is_closed(&self) -> bool {
        !self.0.lock().receiving
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.0.lock().senders += 1;
        Self(self.0.clone())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let waker = {
            let mut inner = self.0.lock();
            inner.senders -= 1;
            if inner.senders > 0 {
                return;
            }
            inner.waker.take()
        };
        // The last sender gone: the receiver sees the end.
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Receiver {
    /// The next message, or `None` once every sender is gone and the queue
    /// is empty. Cancel-safe: a message is taken only when returned.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Outgoing>> {
        let mut inner = self.0.lock();
        if let Some(msg) = inner.queue.pop_front() {
            return Poll::Ready(Some(msg));
        }
        if inner.senders == 0 {
            return Poll::Ready(None);
        }
        match &inner.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next message if one is queued (tests drain a socket with it).
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Option<Outgoing> {
        self.0.lock().queue.pop_front()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // The queued messages are freed after the lock is let go.
        let dropped = {
            let mut inner = self.0.lock();
            inner.receiving = false;
            inner.waker = None;
            std::mem::take(&mut inner.queue)
        };
        drop(dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Outgoing {
        Outgoing::Text(s.into())
    }

    fn as_text(m: Option<Outgoing>) -> Option<String> {
        match m {
            Some(Outgoing::Text(t)) => Some(t.as_str().to_owned()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn messages_arrive_in_order_up_to_the_capacity() {
        let (tx, mut rx) = channel(2);
        assert_eq!(tx.try_send(text("a")), Ok(()));
        assert_eq!(tx.try_send(text("b")), Ok(()));
        assert_eq!(tx.try_send(text("c")), Err(Refused::Full));
        assert_eq!(as_text(rx.recv().await).as_deref(), Some("a"));
        assert_eq!(tx.try_send(text("d")), Ok(()));
        assert_eq!(as_text(rx.recv().await).as_deref(), Some("b"));
        assert_eq!(as_text(rx.try_recv()).as_deref(), Some("d"));
        assert!(rx.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_message_and_by_the_last_sender() {
        let (tx, mut rx) = channel(4);
        let other = tx.clone();
        let task = tokio::spawn(async move {
            let first = as_text(rx.recv().await);
            let end = rx.recv().await.is_none();
            (first, end)
        });
        tokio::task::yield_now().await;
        assert_eq!(tx.try_send(text("hi")), Ok(()));
        drop(tx);
        tokio::task::yield_now().await;
        // One sender left: the receiver still waits.
        assert!(!task.is_finished());
        drop(other);
        let (first, end) = task.await.expect("the receiver ends");
        assert_eq!(first.as_deref(), Some("hi"));
        assert!(end, "no senders and nothing queued is the end");
    }

    #[test]
    fn a_gone_receiver_refuses_and_frees_what_was_queued() {
        let (tx, rx) = channel(4);
        assert_eq!(tx.try_send(text("held")), Ok(()));
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.try_send(text("late")), Err(Refused::Closed));
        assert_eq!(tx.0.lock().queue.len(), 0, "the queued message was dropped");
    }
}
