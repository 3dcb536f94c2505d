//! One connection: what it holds (its places in the caps), what it is doing
//! (requests in flight, when it last moved a byte), and the watchdog that
//! closes it when a header is too slow or it sits idle.

use super::caps::{IpPermit, WebSocketHold};
use super::Shared;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use http_body::{Frame, SizeHint};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Open connections of one listener, and a wake-up when the last closes.
#[derive(Debug, Default)]
pub(crate) struct OpenCount {
    open: AtomicUsize,
    closed: tokio::sync::Notify,
}

impl OpenCount {
    pub(crate) fn get(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Resolves once no connection (upgraded ones included) is open.
    pub(crate) async fn drained(&self) {
        loop {
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if self.get() == 0 {
                return;
            }
            closed.await;
        }
    }
}

/// What one connection holds and does. Shared by its I/O (which lives on
/// inside an upgraded WebSocket), its service and its requests; the last
/// to go gives back its places.
#[derive(Debug)]
pub(crate) struct ConnState {
    born: Instant,
    /// Milliseconds since `born` of the last byte read or written.
    last_activity: AtomicU64,
    /// 1 + milliseconds since `born` of the first byte of a request head
    /// not yet complete; 0 = none pending.
    head_started: AtomicU64,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    /// Whether the watchdog still reads the clocks above; an upgraded
    /// socket outlives it, and its reads and writes then skip the clock.
    watched: AtomicBool,
    websocket: Mutex<Option<WebSocketHold>>,
    _peer_group: Option<IpPermit>,
    open: Arc<OpenCount>,
}

impl ConnState {
    pub(crate) fn new(peer_group: Option<IpPermit>, open: Arc<OpenCount>) -> Arc<Self> {
        open.open.fetch_add(1, Ordering::AcqRel);
        metrics::gauge!("waitroom_open_connections").increment(1.0);
        Arc::new(Self {
            born: Instant::now(),
            last_activity: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            watched: AtomicBool::new(true),
            websocket: Mutex::new(None),
            _peer_group: peer_group,
            open,
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn on_read(&self) {
        if !self.watched.load(Ordering::Relaxed) {
            return;
        }
        let now = self.now_ms();
        self.last_activity.store(now, Ordering::Relaxed);
        // Bytes while no request is being served start the next head.
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ =
                self.head_started
                    .compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn on_write(&self) {
        if !self.watched.load(Ordering::Relaxed) {
            return;
        }
        self.last_activity.store(self.now_ms(), Ordering::Relaxed);
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Release);
        self.last_activity.store(self.now_ms(), Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Why the watchdog should close this connection now, if it should.
    fn overdue(&self, header: Duration, idle: Duration) -> Option<&'static str> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.now_ms();
        let header = u64::try_from(header.as_millis()).unwrap_or(u64::MAX);
        let idle = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        // No request yet: the first head must arrive within the header
        // timeout of the accept, whatever trickles in meanwhile.
        if self.requests.load(Ordering::Relaxed) == 0 && now > header {
            return Some("header_timeout");
        }
        let started = self.head_started.load(Ordering::Acquire);
        if started > 0 && now.saturating_sub(started - 1) > header {
            return Some("header_timeout");
        }
        if now.saturating_sub(self.last_activity.load(Ordering::Relaxed)) > idle {
            return Some("idle_timeout");
        }
        None
    }
}

impl Drop for ConnState {
    fn drop(&mut self) {
        metrics::gauge!("waitroom_open_connections").decrement(1.0);
        if self.open.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.open.closed.notify_waiters();
        }
    }
}

/// A request being served; ends when its response body is done.
#[derive(Debug)]
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .last_activity
            .store(self.0.now_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection of a request, in its extensions: where a WebSocket
/// upgrade parks its slot so the slot lives exactly as long as the socket.
#[derive(Debug, Clone)]
pub(crate) struct ConnSlot(Arc<ConnState>);

impl ConnSlot {
    pub(crate) fn hold_websocket(&self, permit: WebSocketHold) {
        *self
            .0
            .websocket
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(permit);
    }

    pub(crate) fn release_websocket(&self) {
        self.0
            .websocket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// A socket that notes when it moves bytes.
struct Tracked {
    io: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.on_read();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.state.on_write();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.state.on_write();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A response body that keeps its request in flight until it is sent, so a
/// slow download or a long poll is never taken for an idle connection.
struct Guarded {
    inner: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Tells the connection's I/O, when the watchdog is gone, that nobody
/// reads its activity clocks any more.
struct Unwatch<'a>(&'a ConnState);

impl Drop for Unwatch<'_> {
    fn drop(&mut self) {
        self.0.watched.store(false, Ordering::Relaxed);
    }
}

/// Serves one accepted connection until it closes, the watchdog closes it,
/// or shutdown asks it to finish (then it ends after its current request).
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<ConnState>,
    stop: CancellationToken,
) {
    let io = TokioIo::new(Tracked {
        io: stream,
        state: state.clone(),
    });
    let router = shared.router.clone();
    let conn_state = state.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let in_flight = conn_state.request_started();
        let mut req = req.map(Body::new);
        // What `into_make_service_with_connect_info` gave handlers.
        req.extensions_mut().insert(ConnectInfo(peer));
        // Only an upgrade can become a WebSocket that holds the connection's
        // slot (`caps::websocket_cap`); other requests skip the insert.
        if req.headers().contains_key(hyper::header::UPGRADE) {
            req.extensions_mut().insert(ConnSlot(conn_state.clone()));
        }
        let answer = router.answer(req);
        async move {
            let resp = answer.await;
            Ok::<_, std::convert::Infallible>(resp.map(|inner| Guarded {
                inner,
                _in_flight: in_flight,
            }))
        }
    });
    let conn = shared.builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let _unwatch = Unwatch(&state);
    let (header, idle) = (shared.header_timeout, shared.idle_timeout);
    let every = (header.min(idle) / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut watchdog = tokio::time::interval(every);
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut finishing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            _ = stop.cancelled(), if !finishing => {
                conn.as_mut().graceful_shutdown();
                finishing = true;
            }
            _ = watchdog.tick() => {
                if let Some(why) = state.overdue(header, idle) {
                    // Nothing is in flight, so nothing is lost by closing.
                    metrics::counter!("waitroom_connections_closed_total", "reason" => why)
                        .increment(1);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_verdicts() {
        let open = Arc::new(OpenCount::default());
        let state = ConnState::new(None, open.clone());
        assert_eq!(open.get(), 1);
        let (header, idle) = (Duration::from_millis(10), Duration::from_millis(40));
        assert_eq!(state.overdue(header, idle), None);
        std::thread::sleep(Duration::from_millis(15));
        assert_eq!(state.overdue(header, idle), Some("header_timeout"));
        // A request in flight is never overdue.
        let req = state.request_started();
        assert_eq!(state.overdue(header, idle), None);
        drop(req);
        assert_eq!(state.overdue(header, idle), None, "just answered");
        // Bytes of a next head start its clock.
        state.on_read();
        std::thread::sleep(Duration::from_millis(15));
        assert_eq!(state.overdue(header, idle), Some("header_timeout"));
        let req = state.request_started();
        drop(req);
        std::thread::sleep(Duration::from_millis(45));
        assert_eq!(state.overdue(header, idle), Some("idle_timeout"));
        drop(state);
        assert_eq!(open.get(), 0);
    }
}
