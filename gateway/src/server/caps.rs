//! Counting what is open: connections per peer group, WebSockets per client
//! group, and the fast refusal an over-cap connection gets instead of a
//! stalled accept.

use super::conn::ConnSlot;
use super::Bounds;
use crate::edge::client_ip::{ClientIp, IpGroup};
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use queue::api::{ApiError, ErrorCode};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Seconds a refused client is told to wait before trying again.
pub(crate) const RETRY_AFTER_SECONDS: u64 = 5;
/// Seconds a client refused a WebSocket for the process's `max_sockets`
/// is told to wait: short, since the load balancer will likely send the
/// retry to another process, and the page polls meanwhile.
pub(crate) const SOCKET_RETRY_AFTER_SECONDS: u64 = 2;
/// How long a refusal may take to deliver its answer and see the client
/// close, before the socket is dropped anyway.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(2);

/// Open things per IP group, at most `cap` each (0 = no cap).
#[derive(Debug)]
pub(crate) struct IpCounter {
    cap: usize,
    open: Mutex<HashMap<IpGroup, usize>>,
}

impl IpCounter {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// One more for `group`, unless it already holds `cap`.
    pub(crate) fn try_acquire(self: &Arc<Self>, group: IpGroup) -> Option<IpPermit> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(group).or_insert(0);
        if self.cap > 0 && *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(IpPermit {
            counter: self.clone(),
            group,
        })
    }

    /// How many `group` holds now.
    #[cfg(test)]
    pub(crate) fn count(&self, group: IpGroup) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&group).copied().unwrap_or(0)
    }
}

/// One open thing of a group; gives its place back when dropped (the map
/// forgets a group at zero, so it holds only groups with something open).
#[derive(Debug)]
pub(crate) struct IpPermit {
    counter: Arc<IpCounter>,
    group: IpGroup,
}

impl Drop for IpPermit {
    fn drop(&mut self) {
        let mut open = self
            .counter
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.group) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.group);
            }
        }
    }
}

/// Open WebSockets of the whole process, at most `cap`.
#[derive(Debug)]
pub(crate) struct SocketCount {
    cap: usize,
    open: AtomicUsize,
}

impl SocketCount {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            open: AtomicUsize::new(0),
        })
    }

    /// One more socket, unless the process already holds `cap`. Lock-free:
    /// a flood of upgrades meets the cap at the cost of one atomic each.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<SocketPermit> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .ok()?;
        Some(SocketPermit(self.clone()))
    }

    pub(crate) fn get(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }
}

/// One open WebSocket of the process; gives its place back when dropped.
#[derive(Debug)]
pub(crate) struct SocketPermit(Arc<SocketCount>);

impl Drop for SocketPermit {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What an upgraded connection holds: its place among the process's
/// sockets and, when its client is known, among its group's.
#[derive(Debug)]
pub(crate) struct WebSocketHold {
    _process: SocketPermit,
    _group: Option<IpPermit>,
}

/// Why a connection is refused at accept.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refusal {
    /// The process holds `max_connections`.
    Full,
    /// The peer's group holds `max_connections_per_ip`.
    PerIp,
}

impl Refusal {
    /// The whole answer: status line, headers and the JSON error body.
    fn response(self) -> String {
        let (status, code, message) = match self {
            Refusal::Full => (
                "503 Service Unavailable",
                ErrorCode::ServiceUnavailable,
                "the server is at its connection limit; try again shortly",
            ),
            Refusal::PerIp => (
                "429 Too Many Requests",
                ErrorCode::TooManyConnections,
                "too many open connections from your address; close some or try again shortly",
            ),
        };
        let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             retry-after: {RETRY_AFTER_SECONDS}\r\ncache-control: no-store\r\n\
             x-content-type-options: nosniff\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn label(self) -> &'static str {
        match self {
            Refusal::Full => "max_connections",
            Refusal::PerIp => "max_connections_per_ip",
        }
    }
}

/// Answers an over-cap connection and closes it, without ever making the
/// accept loop wait. The answer goes out from a task that first writes it,
/// then reads (and drops) what the client sent until it closes: closing a
/// socket with unread input makes the kernel send a reset, and the client
/// would see "connection reset" instead of the answer. At most `tasks`
/// such refusals run at once; past that, the answer is written only if the
/// socket takes it at once, and the socket is dropped.
pub(crate) fn refuse(mut stream: TcpStream, why: Refusal, tasks: &Arc<Semaphore>) {
    metrics::counter!("waitroom_connections_refused_total", "reason" => why.label()).increment(1);
    let answer = why.response();
    let Ok(permit) = tasks.clone().try_acquire_owned() else {
        let _ = stream.try_write(answer.as_bytes());
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(REFUSAL_DEADLINE, async move {
            stream.write_all(answer.as_bytes()).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 1024];
            // Bounded: a client that keeps sending is cut at the deadline.
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    });
}

/// Whether `req` asks for a WebSocket.
fn is_websocket(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Caps open WebSockets per client group (the [`ClientIp`] the edge
/// resolved through trusted proxies, so it holds behind a load balancer) and
/// per process (`max_sockets`). Both refusals come before the upgrade, as a
/// plain JSON answer: 429 `too_many_connections` for the group, 503
/// `socket_capacity` for the process, whose client should come back through
/// the load balancer (likely to another process) and poll meanwhile. The
/// slots are held by the connection, so they are given back when the socket
/// closes, however it closes; an upgrade refused further in gives them back
/// at once.
///
/// Called by the edge's route layer, after its own checks, with what comes
/// next; every other request passes at the cost of one header look-up.
pub(crate) async fn websocket_cap<F>(
    bounds: &Bounds,
    req: Request,
    next: impl FnOnce(Request) -> F,
) -> Response
where
    F: Future<Output = Response>,
{
    if !is_websocket(&req) {
        return next(req).await;
    }
    // Served without the accept loop (in-process tests): no connection to
    // hold the slot, so nothing to count.
    let Some(slot) = req.extensions().get::<ConnSlot>().cloned() else {
        return next(req).await;
    };
    let group = match req.extensions().get::<ClientIp>() {
        Some(client) => Some(client.group()),
        None => req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| IpGroup::of(peer.ip())),
    };
    let group = match group.map(|g| bounds.websockets.try_acquire(g)) {
        Some(None) => {
            metrics::counter!("waitroom_connections_refused_total",
                "reason" => "max_websockets_per_ip")
            .increment(1);
            return ApiError::of(
                ErrorCode::TooManyConnections,
                "too many open WebSockets from your address; close one or try again shortly",
            )
            .retry_after(RETRY_AFTER_SECONDS)
            .into_response();
        }
        Some(permit) => permit,
        None => None,
    };
    let Some(process) = bounds.sockets.try_acquire() else {
        metrics::counter!("waitroom_connections_refused_total", "reason" => "max_sockets")
            .increment(1);
        return ApiError::of(
            ErrorCode::SocketCapacity,
            "this server holds all the live connections it can; reconnect shortly \
             (another server may take you) and poll your status meanwhile",
        )
        .retry_after(SOCKET_RETRY_AFTER_SECONDS)
        .into_response();
    };
    slot.hold_websocket(WebSocketHold {
        _process: process,
        _group: group,
    });
    let resp = next(req).await;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        slot.release_websocket();
    }
    resp
}

/// The soft limit on open files of this process, when the OS says
/// (Linux: `/proc/self/limits`); `None` = unknown or unlimited.
pub(crate) fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_capped_and_forgotten_at_zero() {
        let counter = IpCounter::new(2);
        let a = IpGroup::of("2001:db8::1".parse().expect("ip"));
        let b = IpGroup::of("2001:db8::2".parse().expect("ip"));
        assert_eq!(a, b, "one /64");
        let p1 = counter.try_acquire(a);
        let p2 = counter.try_acquire(b);
        assert!(p1.is_some() && p2.is_some());
        assert!(counter.try_acquire(a).is_none(), "third from the /64");
        drop(p1);
        assert_eq!(counter.count(a), 1);
        assert!(counter.try_acquire(a).is_some());
        drop(p2);
        assert_eq!(counter.count(a), 0);
        assert!(counter.open.lock().expect("lock").is_empty());
    }

    #[test]
    fn refusals_are_complete_json_answers() {
        for why in [Refusal::Full, Refusal::PerIp] {
            let text = why.response();
            let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
            assert!(head.contains(&format!("content-length: {}", body.len())));
            assert!(head.contains("retry-after: 5"));
            let json: serde_json::Value = serde_json::from_str(body).expect("json");
            assert!(json["error"]["code"].is_string());
        }
        assert!(Refusal::Full.response().starts_with("HTTP/1.1 503"));
        assert!(Refusal::PerIp.response().starts_with("HTTP/1.1 429"));
    }
}
