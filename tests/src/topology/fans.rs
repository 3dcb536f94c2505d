//! The fans: each joins through the load balancer from its own loopback
//! source address (so per-IP budgets apply as for real clients behind the
//! proxy), then holds a WebSocket, reconnecting whenever it drops, until it
//! is admitted. Every message is checked against what the fan knows.

use super::ledger::Ledger;
use anyhow::{bail, Context, Result};
use futures::StreamExt;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// One fan's credential and place.
pub struct Fan {
    /// Index, for reports.
    pub n: usize,
    /// Loopback source address.
    pub source: IpAddr,
    /// `X-Queue-Token`.
    pub token: String,
    /// The ticket the join gave; a different one later is a lost place.
    pub ticket: u64,
    /// What its sockets saw.
    pub seen: Mutex<Seen>,
}

/// What a fan's sockets saw.
#[derive(Default)]
pub struct Seen {
    /// A socket is attached (its `hello` arrived).
    pub attached: bool,
    /// Last `ahead` (people in front); it must never grow.
    pub ahead: Option<u64>,
    /// The admission token, once admitted.
    pub admission_token: Option<String>,
    /// `admitted_at` of the admission; a second, different one is a
    /// double admission.
    pub admitted_at: Option<u64>,
    /// Admitted, as a recheck said, before a socket told it.
    pub admitted_unseen: bool,
    /// Bought its ticket: the admitted session is over, so its place is
    /// gone on purpose (a new join gives a new one).
    pub done: bool,
}

impl Seen {
    /// Admitted, by a socket's message or a recheck.
    pub fn admitted(&self) -> bool {
        self.admitted_at.is_some() || self.admitted_unseen
    }
}

/// Counters over every fan.
#[derive(Default)]
pub struct Totals {
    /// `hello` messages (one per attach).
    pub hellos: AtomicU64,
    /// Sockets that ended while the fan still waited.
    pub drops: AtomicU64,
    /// Connect or handshake failures.
    pub connect_failures: AtomicU64,
    /// `reconnect` messages (graceful shutdowns).
    pub reconnect_messages: AtomicU64,
    /// `state: reconnecting` messages (queue store unreachable).
    pub store_reconnecting: AtomicU64,
    /// `admitted` messages.
    pub admitted: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Fan {
    /// Snapshot access.
    pub fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        lock(&self.seen)
    }
}

/// A reqwest client whose connections leave from `source`.
pub fn client(source: IpAddr) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .local_address(source)
        .timeout(Duration::from_secs(20))
        .build()?)
}

/// Joins `event` through `lb`: the fan with its ticket.
pub async fn join(
    http: &reqwest::Client,
    lb: &str,
    event: &str,
    n: usize,
    source: IpAddr,
    ledger: &Ledger,
) -> Result<Fan> {
    let url = format!("{lb}/api/v1/queue/{event}/join");
    // An API client: it asks for its credential in the body.
    let resp = http
        .post(&url)
        .header("x-queue-token-in-body", "1")
        .send()
        .await?;
    let status = resp.status().as_u16();
    ledger.status(status, "POST join");
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status != 201 {
        bail!("join answered {status}: {body}");
    }
    let token = body["queue_token"]
        .as_str()
        .context("join: no queue_token")?
        .to_owned();
    let ticket = body["ticket"].as_u64().context("join: no ticket")?;
    Ok(Fan {
        n,
        source,
        token,
        ticket,
        seen: Mutex::default(),
    })
}

/// Asks for the fan's place again (`POST join` with its credential): the
/// state, and whether the ticket is still the one it was given.
pub async fn recheck(
    http: &reqwest::Client,
    lb: &str,
    event: &str,
    fan: &Fan,
    ledger: &Ledger,
) -> Result<String> {
    let url = format!("{lb}/api/v1/queue/{event}/join");
    // A 5xx (recorded) is retried as a page would; only the final answer
    // says whether the place is still there.
    let mut tries = 0;
    let (status, body) = loop {
        tries += 1;
        let resp = http
            .post(&url)
            .header("x-queue-token", &fan.token)
            .send()
            .await?;
        let status = resp.status().as_u16();
        ledger.status(status, "POST join (again)");
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status < 500 || tries == 5 {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if status != 200 {
        bail!("fan {} rejoin answered {status}: {body}", fan.n);
    }
    if body["ticket"].as_u64() != Some(fan.ticket) {
        bail!(
            "fan {} had ticket {} and now has {}",
            fan.n,
            fan.ticket,
            body["ticket"]
        );
    }
    Ok(body["state"].as_str().unwrap_or("?").to_owned())
}

async fn connect(addr: SocketAddr, source: IpAddr) -> std::io::Result<TcpStream> {
    let socket = if source.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Holds the fan's WebSocket until it is admitted or `stop` is set,
/// reconnecting through the load balancer whenever the socket ends.
pub async fn hold(
    fan: Arc<Fan>,
    lb: SocketAddr,
    event: String,
    totals: Arc<Totals>,
    ledger: Arc<Ledger>,
    mut stop: watch::Receiver<bool>,
) {
    let url = format!("ws://{lb}/api/v1/queue/{event}/ws");
    let mut attempt = 0u64;
    while !*stop.borrow() {
        if fan.seen().admitted() {
            return;
        }
        let socket = tokio::select! {
            s = open(lb, fan.source, &url, &fan.token) => s,
            _ = stop.changed() => return,
        };
        match socket {
            Err((status, _)) => {
                if let Some(s) = status {
                    ledger.status(s, "GET ws (handshake)");
                }
                totals.connect_failures.fetch_add(1, Ordering::Relaxed);
            }
            Ok(mut ws) => {
                attempt = 0;
                loop {
                    let msg = tokio::select! {
                        m = ws.next() => m,
                        _ = stop.changed() => return,
                    };
                    let Some(Ok(Message::Text(text))) = msg else {
                        if matches!(msg, Some(Ok(_))) {
                            continue;
                        }
                        break;
                    };
                    if !on_message(&fan, text.as_str(), &totals, &ledger) {
                        break;
                    }
                }
                lock(&fan.seen).attached = false;
                if fan.seen().admitted() {
                    return;
                }
                totals.drops.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Spread reconnects as browsers do: a short, growing, jittered wait.
        attempt += 1;
        let jitter = (fan.n as u64 * 37 + attempt * 101) % 500;
        let wait = 100 + jitter + 200 * attempt.min(5);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Handles one server message; false when the socket should be left.
fn on_message(fan: &Fan, text: &str, totals: &Totals, ledger: &Ledger) -> bool {
    let Ok(msg) = serde_json::from_str::<Value>(text) else {
        ledger.fail(format!("fan {}: unparsable message {text}", fan.n));
        return false;
    };
    let mut seen = lock(&fan.seen);
    match msg["type"].as_str() {
        Some("hello") => {
            totals.hellos.fetch_add(1, Ordering::Relaxed);
            seen.attached = true;
            if msg["ticket"].as_u64() != Some(fan.ticket) {
                ledger.fail(format!(
                    "fan {} lost its place: ticket {} became {}",
                    fan.n, fan.ticket, msg["ticket"]
                ));
            }
            note_ahead(fan, &mut seen, &msg, ledger);
        }
        Some("position") => note_ahead(fan, &mut seen, &msg, ledger),
        Some("admitted") => {
            totals.admitted.fetch_add(1, Ordering::Relaxed);
            let at = msg["admitted_at"].as_u64();
            if seen.admitted_at.is_some() && seen.admitted_at != at {
                ledger.fail(format!("fan {} admitted twice", fan.n));
            }
            seen.admitted_at = at.or(seen.admitted_at);
            seen.admission_token = msg["admission_token"].as_str().map(str::to_owned);
            return false;
        }
        Some("state") if msg["queue_state"] == "reconnecting" => {
            totals.store_reconnecting.fetch_add(1, Ordering::Relaxed);
        }
        Some("reconnect") => {
            totals.reconnect_messages.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        Some("departed") => {
            ledger.fail(format!("fan {} was told it departed", fan.n));
            return false;
        }
        _ => {}
    }
    true
}

fn note_ahead(fan: &Fan, seen: &mut Seen, msg: &Value, ledger: &Ledger) {
    let Some(ahead) = msg["ahead"].as_u64() else {
        return;
    };
    if let Some(before) = seen.ahead {
        if ahead > before {
            ledger.fail(format!(
                "fan {} went back in the queue: {before} ahead, then {ahead}",
                fan.n
            ));
        }
    }
    seen.ahead = Some(ahead);
}

type Socket = tokio_tungstenite::WebSocketStream<TcpStream>;

/// Opens a socket; on failure, the HTTP status if the handshake got one.
async fn open(
    lb: SocketAddr,
    source: IpAddr,
    url: &str,
    token: &str,
) -> Result<Socket, (Option<u16>, String)> {
    let fut = async {
        let stream = connect(lb, source)
            .await
            .map_err(|e| (None, e.to_string()))?;
        let mut request = url
            .into_client_request()
            .map_err(|e| (None, e.to_string()))?;
        let value = HeaderValue::from_str(token).map_err(|e| (None, e.to_string()))?;
        request.headers_mut().insert("x-queue-token", value);
        match tokio_tungstenite::client_async(request, stream).await {
            Ok((socket, _)) => Ok(socket),
            Err(WsError::Http(resp)) => Err((Some(resp.status().as_u16()), "handshake".into())),
            Err(e) => Err((None, e.to_string())),
        }
    };
    match tokio::time::timeout(Duration::from_secs(15), fut).await {
        Ok(r) => r,
        Err(_) => Err((None, "timeout".into())),
    }
}
