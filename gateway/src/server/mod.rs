//! The HTTP listener's own accept loop (hyper-util), because `axum::serve`
//! has no bound on how long a client may take to send a request header, how
//! many connections it keeps, or how many one address holds: a few thousand
//! half-sent headers would keep their sockets forever and, at the file
//! limit, starve `/healthz`.
//!
//! Bounds: a total connection cap, a cap per peer group (IPv4 address or
//! IPv6 /64; not for trusted proxies, whose connections carry many
//! clients), a cap on WebSockets per client group (resolved through trusted
//! proxies) and per process, a header timeout and an idle timeout. Over a
//! cap, a connection is accepted, answered at once (503 or 429, JSON,
//! `Retry-After`) and closed: accept never stalls. An upgrade over a
//! WebSocket cap is answered the same way, before upgrading.

mod caps;
mod conn;

pub(crate) use caps::websocket_cap;

use crate::edge::client_ip::{IpGroup, TrustedProxies};
use crate::outer::Outermost;
use caps::{IpCounter, Refusal, SocketCount};
use conn::{ConnState, OpenCount};
use hyper::server::conn::http1;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Files kept free of the connection cap for everything else a process
/// opens (backend pools, the database, logs, refusals in progress).
const RESERVED_FILES: usize = 256;
/// Refusals delivered at once; past that they are best-effort.
const REFUSAL_TASKS: usize = 64;

/// The listener's bounds. Flattened into the settings, so each is a
/// top-level key (`max_connections` / `WAITROOM_MAX_CONNECTIONS`, …).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ConnectionSettings {
    /// Open connections (WebSockets included) this process serves at once;
    /// lowered to fit the open-file limit.
    pub max_connections: usize,
    /// Open connections from one peer address (IPv6: /64); 0 = no cap.
    /// Trusted proxies are exempt: their connections carry many clients.
    pub max_connections_per_ip: usize,
    /// Open WebSockets per client address (IPv6: /64) as resolved through
    /// trusted proxies; 0 = no cap.
    pub max_websockets_per_ip: usize,
    /// Open WebSockets this process serves at once; over it an upgrade gets
    /// 503 `socket_capacity` (the page polls and retries, likely landing on
    /// another process). 0 = the connection cap in force less a twentieth
    /// (at least 64 or half of it), so plain requests (status polls, joins,
    /// `/healthz`) still find a connection when the sockets are full.
    pub max_sockets: usize,
    /// Seconds a client has to send a whole request header, from the
    /// connection's opening or from the first byte of a later request.
    pub header_read_timeout_seconds: u64,
    /// Seconds a connection with no request in progress may stay silent
    /// (upgraded WebSockets keep their own ping-based liveness instead).
    pub idle_timeout_seconds: u64,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            // Generous: offices and mobile carriers put many fans behind
            // one address, each with a WebSocket and a few page fetches.
            max_connections_per_ip: 512,
            max_websockets_per_ip: 256,
            max_sockets: 0,
            header_read_timeout_seconds: 10,
            // Above the usual load-balancer idle timeout (60 s), so the
            // balancer, not this server, closes idle pooled connections.
            idle_timeout_seconds: 75,
        }
    }
}

/// The caps shared by the accept loop and the WebSocket layer.
#[derive(Debug)]
pub struct Bounds {
    max_connections: usize,
    per_peer: Arc<IpCounter>,
    websockets: Arc<IpCounter>,
    sockets: Arc<SocketCount>,
    proxies: TrustedProxies,
    open: Arc<OpenCount>,
    settings: ConnectionSettings,
}

impl Bounds {
    /// The bounds of `settings`; `max_connections` is lowered to leave room
    /// under the process's open-file limit.
    pub fn new(settings: &ConnectionSettings, proxies: TrustedProxies) -> Arc<Self> {
        let mut max = settings.max_connections.max(1);
        if let Some(files) = caps::open_files_limit() {
            let room = files.saturating_sub(RESERVED_FILES).max(16);
            if room < max {
                tracing::warn!(
                    max_connections = max,
                    open_files_limit = files,
                    using = room,
                    "max_connections does not fit the open-file limit; lowering it \
                     (raise `ulimit -n` to serve more)"
                );
                max = room;
            }
        }
        let sockets = socket_cap(settings.max_sockets, max);
        metrics::gauge!("waitroom_max_sockets").set(sockets as f64);
        Arc::new(Self {
            max_connections: max,
            sockets: SocketCount::new(sockets),
            per_peer: IpCounter::new(settings.max_connections_per_ip),
            websockets: IpCounter::new(settings.max_websockets_per_ip),
            proxies,
            open: Arc::new(OpenCount::default()),
            settings: settings.clone(),
        })
    }

    /// The connection cap in force (after fitting the file limit).
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// The WebSocket cap in force (`max_sockets`, or the one derived from
    /// the connection cap).
    pub fn max_sockets(&self) -> usize {
        self.sockets.cap()
    }

    /// Open WebSockets now (upgraded and counted by this listener).
    pub fn open_sockets(&self) -> usize {
        self.sockets.get()
    }

    /// Open connections now, upgraded WebSockets included.
    pub fn open_connections(&self) -> usize {
        self.open.get()
    }

    /// Resolves once every connection has closed.
    pub async fn drained(&self) {
        self.open.drained().await;
    }
}

/// The WebSocket cap for a `max_sockets` setting under `max_connections`
/// (already fitted to the file limit): a socket is a connection too, and
/// some connections must stay free for plain requests.
fn socket_cap(setting: usize, max_connections: usize) -> usize {
    if setting == 0 {
        let headroom = (max_connections / 20).max(64.min(max_connections / 2));
        return max_connections.saturating_sub(headroom).max(1);
    }
    if setting > max_connections {
        tracing::warn!(
            max_sockets = setting,
            max_connections,
            "max_sockets is above the connection cap; the connection cap binds first"
        );
        return max_connections;
    }
    setting
}

/// What every connection task shares.
pub(crate) struct Shared {
    router: Outermost,
    builder: http1::Builder,
    header_timeout: Duration,
    idle_timeout: Duration,
}

/// Accepts connections on `listener` and serves `router` on them until
/// `stop` is cancelled; then stops accepting, asks every connection to
/// finish its current request, and resolves when the connection tasks
/// have ended. Dropping the future aborts the connection tasks.
pub async fn serve(
    listener: TcpListener,
    router: Outermost,
    bounds: Arc<Bounds>,
    stop: CancellationToken,
) {
    let header_timeout = Duration::from_secs(bounds.settings.header_read_timeout_seconds.max(1));
    let idle_timeout = Duration::from_secs(bounds.settings.idle_timeout_seconds.max(1));
    // HTTP/1.1 only, as before (browsers speak HTTP/2 to the load
    // balancer, not to us): hyper's own HTTP/1 server, without the
    // version-sniffing wrapper that rewinds every read.
    // No header timer of hyper's own: the connection's watchdog
    // (`conn::serve`) closes a slow head and an idle connection, and
    // hyper's timer armed and cancelled a sleep around every request head.
    // Turned off outright, since hyper warns on every connection when its
    // default is left without a timer.
    let mut builder = http1::Builder::new();
    builder.header_read_timeout(None);
    let shared = Arc::new(Shared {
        router,
        builder,
        header_timeout,
        idle_timeout,
    });
    let refusals = Arc::new(Semaphore::new(REFUSAL_TASKS));
    let mut tasks = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_error(&e).await;
                    continue;
                }
            },
        };
        let group = if bounds.proxies.contains(peer.ip()) {
            None
        } else {
            match bounds.per_peer.try_acquire(IpGroup::of(peer.ip())) {
                Some(permit) => Some(permit),
                None => {
                    caps::refuse(stream, Refusal::PerIp, &refusals);
                    continue;
                }
            }
        };
        // Only this loop opens connections, so the check cannot race.
        if bounds.open.get() >= bounds.max_connections {
            caps::refuse(stream, Refusal::Full, &refusals);
            continue;
        }
        let state = ConnState::new(group, bounds.open.clone());
        tasks.spawn(conn::serve(
            shared.clone(),
            stream,
            peer,
            state,
            stop.clone(),
        ));
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
}

/// A failed accept: the client's problem (reset before we took it) or ours
/// (out of file descriptors). Ours gets a short pause so the loop does not
/// spin while connections close and free descriptors.
async fn accept_error(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    metrics::counter!("waitroom_accept_errors_total").increment(1);
    tracing::warn!(error = %e, "accept failed; pausing briefly");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[cfg(test)]
mod tests {
    #[test]
    // figment's Jail closure returns figment's (large) error type.
    #[allow(clippy::result_large_err)]
    fn bounds_come_from_flat_environment_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WAITROOM_MAX_CONNECTIONS", "123");
            jail.set_env("WAITROOM_MAX_WEBSOCKETS_PER_IP", "0");
            let s = crate::config::Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.connections.max_connections, 123);
            assert_eq!(s.connections.max_websockets_per_ip, 0);
            assert_eq!(s.connections.header_read_timeout_seconds, 10);
            assert_eq!(s.connections.max_sockets, 0, "derived by default");
            Ok(())
        });
    }

    #[test]
    fn the_socket_cap_leaves_connections_for_plain_requests() {
        use super::socket_cap;
        assert_eq!(socket_cap(0, 10_000), 9_500);
        assert_eq!(socket_cap(0, 19_744), 18_757);
        assert_eq!(socket_cap(0, 100), 50, "small caps keep half free");
        assert_eq!(socket_cap(0, 1), 1);
        assert_eq!(socket_cap(300, 10_000), 300, "an explicit cap is kept");
        assert_eq!(
            socket_cap(20_000, 10_000),
            10_000,
            "never above connections"
        );
    }
}
