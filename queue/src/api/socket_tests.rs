use super::*;
use axum::extract::ws::Utf8Bytes;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A socket whose peer is the test: frames the test pushes come in, and
/// every flush goes to the test as the frames it carried (one flush is one
/// write on a real socket). A stuck socket never finishes a write, like
/// one whose peer stopped reading.
struct Fake {
    incoming: UnboundedReceiver<Result<Message, axum::Error>>,
    buffered: Vec<Message>,
    flushed: UnboundedSender<Vec<Message>>,
    stuck: bool,
    /// Times the read side was asked for a frame.
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

struct Peer {
    send: UnboundedSender<Result<Message, axum::Error>>,
    flushes: UnboundedReceiver<Vec<Message>>,
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

fn pair(stuck: bool) -> (Fake, Peer) {
    let (send, incoming) = unbounded_channel();
    let (flushed, flushes) = unbounded_channel();
    let reads = Arc::default();
    let fake = Fake {
        incoming,
        buffered: Vec::new(),
        flushed,
        stuck,
        reads: Arc::clone(&reads),
    };
    (
        fake,
        Peer {
            send,
            flushes,
            reads,
        },
    )
}

impl Stream for Fake {
    type Item = Result<Message, axum::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.incoming.poll_recv(cx)
    }
}

impl Sink<Message> for Fake {
    type Error = axum::Error;
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.stuck {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }
    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        self.buffered.push(item);
        Ok(())
    }
    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.stuck {
            return Poll::Pending;
        }
        if !self.buffered.is_empty() {
            let frames = std::mem::take(&mut self.buffered);
            let _ = self.flushed.send(frames);
        }
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_flush(cx)
    }
}

fn text(s: &'static str) -> Outgoing {
    Outgoing::Text(Utf8Bytes::from_static(s))
}

fn ping() -> Message {
    Message::Ping(Default::default())
}

fn close_code(frames: &[Message]) -> Option<u16> {
    match frames {
        [Message::Close(Some(f))] => Some(f.code),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn pings_of_sockets_opened_apart_fall_on_one_grid() {
    let opened = Instant::now();
    let first = first_ping();
    tokio::time::advance(Duration::from_millis(1_337)).await;
    let second = first_ping();
    assert!(first >= opened + PING_EVERY);
    assert!(second >= opened + Duration::from_millis(1_337) + PING_EVERY);
    assert!(second - first < PING_GRID * 3);
    let apart = (second - first).as_nanos();
    assert_eq!(apart % PING_GRID.as_nanos(), 0, "{apart} ns apart");
}

#[tokio::test(start_paused = true)]
async fn a_due_ping_rides_with_the_next_message_in_one_write() {
    let (fake, mut peer) = pair(false);
    let (tx, rx) = crate::engine::mailbox::channel(16);
    let start = Instant::now();
    let task = tokio::spawn(serve(fake, rx));

    // Before a ping is due a message goes alone.
    tx.try_send(text("a")).expect("the socket takes it");
    let first = peer.flushes.recv().await.expect("a write");
    assert_eq!(first, vec![Message::Text("a".into())]);

    // Due, then a message within the grace: both leave in one write.
    tokio::time::sleep(PING_EVERY + PING_GRACE / 2).await;
    tx.try_send(text("b")).expect("the socket takes it");
    let second = peer.flushes.recv().await.expect("a write");
    assert_eq!(second, vec![ping(), Message::Text("b".into())]);

    // Nothing to ride with: the next ping goes alone once its grace is
    // over, one period after the one that rode.
    peer.send
        .send(Ok(Message::Pong(Default::default())))
        .expect("the socket listens");
    let third = peer.flushes.recv().await.expect("a write");
    assert_eq!(third, vec![ping()]);
    let at = start.elapsed();
    assert!(
        at >= PING_EVERY * 2 + PING_GRACE && at < PING_EVERY * 2 + PING_GRACE + PING_GRID * 2,
        "alone at {at:?}"
    );
    drop(tx);
    task.await.expect("the socket task ends cleanly");
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_answers_pings_stays_and_a_silent_one_is_closed() {
    let (fake, mut peer) = pair(false);
    let (_tx, rx) = crate::engine::mailbox::channel(16);
    let task = tokio::spawn(serve(fake, rx));
    let start = Instant::now();
    while start.elapsed() < IDLE_LIMIT * 4 {
        let frames = peer.flushes.recv().await.expect("a write");
        assert_eq!(frames, vec![ping()], "at {:?}", start.elapsed());
        peer.send
            .send(Ok(Message::Pong(Default::default())))
            .expect("the socket listens");
    }
    assert!(!task.is_finished(), "a live peer's socket stays open");

    // Silence from now on: pings, then a close once it has lasted the limit.
    let silent = Instant::now();
    let mut pings = 0;
    let code = loop {
        let frames = peer.flushes.recv().await.expect("a write");
        match close_code(&frames) {
            Some(code) => break code,
            None => pings += 1,
        }
    };
    assert_eq!(code, 1001);
    assert!(pings >= 2, "pinged {pings} times before giving up");
    let after = silent.elapsed();
    assert!(
        after >= IDLE_LIMIT && after <= IDLE_LIMIT + PING_EVERY + PING_GRID * 2,
        "closed after {after:?} of silence"
    );
    task.await.expect("the socket task ends cleanly");
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_reads_is_dropped_and_its_queue_stays_bounded() {
    let (fake, _peer) = pair(true);
    let (tx, rx) = crate::engine::mailbox::channel(4);
    let start = Instant::now();
    let task = tokio::spawn(serve(fake, rx));
    // The first write never finishes; the queue behind it fills and then
    // refuses, which is how the engine tells a slow reader.
    let mut queued = 0;
    while tx.try_send(text("x")).is_ok() {
        queued += 1;
        tokio::task::yield_now().await;
        assert!(queued < 100, "the queue kept taking messages");
    }
    tokio::time::timeout(IDLE_LIMIT + PING_GRID, task)
        .await
        .expect("the socket is dropped once the peer's silence reaches the limit")
        .expect("the socket task ends cleanly");
    assert!(start.elapsed() >= IDLE_LIMIT);
    assert!(tx.is_closed());
}

#[tokio::test(start_paused = true)]
async fn binary_and_malformed_frames_close_the_socket() {
    for (frame, want) in [
        (Ok(Message::Binary(vec![1, 2].into())), 1003),
        (Err(axum::Error::new("frame too big")), 1009),
    ] {
        let (fake, mut peer) = pair(false);
        let (_tx, rx) = crate::engine::mailbox::channel(16);
        let task = tokio::spawn(serve(fake, rx));
        peer.send.send(frame).expect("the socket listens");
        let frames = peer.flushes.recv().await.expect("a write");
        assert_eq!(close_code(&frames), Some(want));
        task.await.expect("the socket task ends cleanly");
    }
}

#[tokio::test(start_paused = true)]
async fn the_engine_closing_or_letting_go_ends_the_socket() {
    let (fake, mut peer) = pair(false);
    let (tx, rx) = crate::engine::mailbox::channel(16);
    let task = tokio::spawn(serve(fake, rx));
    tx.try_send(text("bye")).expect("the socket takes it");
    tx.try_send(Outgoing::Close(1000, "no place in the queue"))
        .expect("the socket takes it");
    assert_eq!(
        peer.flushes.recv().await.expect("a write"),
        vec![Message::Text("bye".into())]
    );
    assert_eq!(
        close_code(&peer.flushes.recv().await.expect("a write")),
        Some(1000)
    );
    task.await.expect("the socket task ends cleanly");

    let (fake, _peer) = pair(false);
    let (tx, rx) = crate::engine::mailbox::channel(16);
    let task = tokio::spawn(serve(fake, rx));
    drop(tx);
    task.await.expect("the socket task ends cleanly");
}

#[tokio::test(start_paused = true)]
async fn the_read_side_is_asked_only_when_it_woke_the_task() {
    let (fake, mut peer) = pair(false);
    let (tx, rx) = crate::engine::mailbox::channel(16);
    let task = tokio::spawn(serve(fake, rx));
    let reads = || peer.reads.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..50 {
        tx.try_send(text("m")).expect("the socket takes it");
        peer.flushes.recv().await.expect("a write");
    }
    assert!(reads() <= 2, "asked {} times for 50 messages", reads());
    // A frame from the peer still gets read, and counts as a sign of life.
    let before = reads();
    peer.send
        .send(Ok(Message::Binary(vec![1].into())))
        .expect("the socket listens");
    let frames = peer.flushes.recv().await.expect("a write");
    assert_eq!(close_code(&frames), Some(1003));
    assert!(reads() > before);
    task.await.expect("the socket task ends cleanly");
}
