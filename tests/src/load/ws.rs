//! A pool of waiting-room WebSockets: one task per socket, each bound to a
//! source address, reading until told to stop. Every message is classified
//! by scanning its bytes (no JSON tree, no per-message allocation beyond
//! the frame tungstenite hands over) and recorded in shared atomics.

use super::hist::Histogram;
use super::http::{connect, str_after, u64_after, Target};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// Longest a TCP connect plus WebSocket handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Milliseconds since the Unix epoch (the clock the server stamps `at` with).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Counters shared by every socket of the pool.
#[derive(Default)]
pub struct WsStats {
    /// Sockets attached to the queue: the handshake succeeded and the
    /// server's `hello` arrived.
    pub connected: AtomicU64,
    /// Connects, handshakes or attaches that failed (the server may accept
    /// the upgrade and then close, e.g. 1013 when its store timed out).
    pub failed: AtomicU64,
    /// Attached sockets that ended before the pool was stopped.
    pub ended: AtomicU64,
    /// `hello` messages.
    pub hello: AtomicU64,
    /// `position` messages.
    pub positions: AtomicU64,
    /// `admitted` messages.
    pub admitted: AtomicU64,
    /// `state` messages.
    pub states: AtomicU64,
    /// `reconnect` messages.
    pub reconnects: AtomicU64,
    /// Anything else (e.g. `error`).
    pub other: AtomicU64,
    /// While set, position delays are recorded.
    pub measuring: AtomicBool,
    /// `position` messages received while measuring.
    pub window_positions: AtomicU64,
    /// Arrival time minus the tick's `at`, ms, while measuring.
    pub delay_ms: Histogram,
    /// Per socket, how old the numbers on the page were when the next
    /// message arrived (arrival minus the previous `at`), ms.
    pub age_ms: Histogram,
    /// Per socket behind the first 1,000 places (the front hears every
    /// tick), how far the page was from the truth just before a message, in
    /// basis points of the new position: the jump the message made (the
    /// truth moved at the tick; the page caught up when the message
    /// arrived). Only pages that skipped at least one tick: what the
    /// cadence rule chose to leave unsent.
    pub off_bp: Histogram,
    /// The same jump for pages that had heard the tick before (numbers at
    /// most 1.5 ticks older): one tick's move, which no rule can avoid,
    /// only deliver fast. Just behind the front one tick can move a page
    /// by more than 1% (11 admissions at position 1,050).
    pub tick_move_bp: Histogram,
    /// The tick interval, ms (to tell the two apart).
    pub tick_ms: AtomicU64,
    /// The largest of those jumps, with where it happened, to tell a late
    /// or missed tick (a gap between the two `at`s) from the rule itself.
    pub worst_off: Mutex<Option<WorstOff>>,
    /// Per socket still waiting when the window ended, how old the numbers
    /// on its page were then (`window_end_ms` minus the last `at`), ms: the
    /// age no later message measured.
    pub age_end_ms: Histogram,
    /// When the measuring window ended (Unix ms); 0 while it runs.
    pub window_end_ms: AtomicU64,
    /// Why connects failed.
    pub failures: Mutex<BTreeMap<String, u64>>,
    /// Why sockets ended early.
    pub endings: Mutex<BTreeMap<String, u64>>,
    /// Position messages per tick (`at`) while measuring.
    pub per_tick: Mutex<HashMap<u64, u64>>,
    /// `admission_expires_at` of every admission received.
    pub admissions: Mutex<Vec<u64>>,
    /// Texts of unexpected messages (e.g. `error`), a few distinct ones.
    pub unexpected: Mutex<BTreeMap<String, u64>>,
}

/// The page's largest jump (see [`WsStats::worst_off`]).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct WorstOff {
    /// The jump, in basis points of the new position.
    pub bp: u64,
    /// The position the page showed, and the `at` of its numbers.
    pub shown: u64,
    /// See `shown`.
    pub shown_at: u64,
    /// The new position, and its tick's `at`.
    pub position: u64,
    /// See `position`.
    pub at: u64,
}

/// Distinct unexpected messages kept for the report.
const UNEXPECTED_KEPT: usize = 20;

impl WsStats {
    fn note_worst(&self, off: WorstOff) {
        let mut worst = lock(&self.worst_off);
        if worst.is_none_or(|w| off.bp > w.bp) {
            *worst = Some(off);
        }
    }

    /// Records a message; returns whether it was the `hello`. `page` is
    /// what the socket's page shows: (`at`, position).
    fn on_text(&self, m: &[u8], page: &mut Option<(u64, u64)>) -> bool {
        match str_after(m, br#""type":""#) {
            Some("position") => {
                self.positions.fetch_add(1, Ordering::Relaxed);
                let at = u64_after(m, br#""at":"#);
                let position = u64_after(m, br#""position":"#);
                if let (true, Some(at)) = (self.measuring.load(Ordering::Relaxed), at) {
                    let arrived = now_ms();
                    self.window_positions.fetch_add(1, Ordering::Relaxed);
                    self.delay_ms.record(arrived.saturating_sub(at));
                    *lock(&self.per_tick).entry(at).or_default() += 1;
                    if let (Some((shown_at, shown)), Some(p)) = (*page, position) {
                        // How old the page's numbers were when this message
                        // replaced them: delivery included.
                        self.age_ms.record(arrived.saturating_sub(shown_at));
                        let tick_ms = self.tick_ms.load(Ordering::Relaxed);
                        let bp = shown.abs_diff(p).saturating_mul(10_000) / p.max(1);
                        let every_tick = at.saturating_sub(shown_at) <= tick_ms + tick_ms / 2;
                        if p <= queue::engine::cadence::FRONT_MIN {
                            // The front hears every tick whatever it moves.
                        } else if every_tick {
                            self.tick_move_bp.record(bp);
                        } else {
                            self.off_bp.record(bp);
                            self.note_worst(WorstOff {
                                bp,
                                shown,
                                shown_at,
                                position: p,
                                at,
                            });
                        }
                    }
                }
                if let (Some(at), Some(p)) = (at, position) {
                    *page = Some((at, p));
                }
            }
            Some("hello") => {
                self.hello.fetch_add(1, Ordering::Relaxed);
                // The hello carries no `at`: its numbers are as of now.
                *page = u64_after(m, br#""position":"#).map(|p| (now_ms(), p));
                return true;
            }
            Some("admitted") => {
                self.admitted.fetch_add(1, Ordering::Relaxed);
                // Admitted: the page no longer shows a position.
                *page = None;
                if let Some(exp) = u64_after(m, br#""admission_expires_at":"#) {
                    lock(&self.admissions).push(exp);
                }
            }
            Some("state") => {
                self.states.fetch_add(1, Ordering::Relaxed);
            }
            Some("reconnect") => {
                self.reconnects.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                self.other.fetch_add(1, Ordering::Relaxed);
                let text = String::from_utf8_lossy(&m[..m.len().min(200)]).into_owned();
                let mut kept = lock(&self.unexpected);
                if kept.len() < UNEXPECTED_KEPT || kept.contains_key(&text) {
                    *kept.entry(text).or_default() += 1;
                }
            }
        }
        false
    }

    /// Records how old a still-waiting page's numbers were when the window
    /// ended (nothing if it was not measured or the page shows none).
    fn record_end_age(&self, page: Option<(u64, u64)>) {
        let end = self.window_end_ms.load(Ordering::Relaxed);
        if let (true, Some((shown_at, _))) = (end > 0, page) {
            self.age_end_ms.record(end.saturating_sub(shown_at));
        }
    }

    fn note(map: &Mutex<BTreeMap<String, u64>>, why: String) {
        *lock(map).entry(why).or_default() += 1;
    }

    /// Copy of the connect-failure reasons.
    pub fn failures(&self) -> BTreeMap<String, u64> {
        lock(&self.failures).clone()
    }

    /// Copy of the early-ending reasons.
    pub fn endings(&self) -> BTreeMap<String, u64> {
        lock(&self.endings).clone()
    }

    /// Copy of the unexpected messages.
    pub fn unexpected(&self) -> BTreeMap<String, u64> {
        lock(&self.unexpected).clone()
    }

    /// Position messages per tick, sorted by tick time.
    pub fn per_tick(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = lock(&self.per_tick).iter().map(|(a, n)| (*a, *n)).collect();
        v.sort_unstable();
        v
    }

    /// Copy of the admission expiry times.
    pub fn admissions(&self) -> Vec<u64> {
        lock(&self.admissions).clone()
    }
}

/// The sockets of one client process.
pub struct Pool {
    /// Shared counters.
    pub stats: Arc<WsStats>,
    stop: watch::Sender<bool>,
    gate: Arc<Semaphore>,
    tasks: Vec<JoinHandle<()>>,
    config: WebSocketConfig,
}

impl Pool {
    /// A pool that runs at most `handshakes` connects at a time (more only
    /// overflows the server's accept backlog).
    pub fn new(handshakes: usize) -> Self {
        Self {
            stats: Arc::new(WsStats::default()),
            stop: watch::channel(false).0,
            gate: Arc::new(Semaphore::new(handshakes.max(1))),
            tasks: Vec::new(),
            // Client side of the budget: a 1 KiB read buffer, unbuffered writes
            // (we only ever send pongs), small message limits.
            config: WebSocketConfig::default()
                .read_buffer_size(1024)
                .write_buffer_size(0)
                .max_message_size(Some(64 << 10))
                .max_frame_size(Some(64 << 10)),
        }
    }

    /// Sockets started so far.
    pub fn started(&self) -> usize {
        self.tasks.len()
    }

    /// Starts one waiter socket for `token` at `target`, from `source`.
    pub fn spawn(&mut self, target: &Target, event: &str, source: Option<IpAddr>, token: String) {
        let url = format!("ws://{}/api/v1/queue/{event}/ws", target.addr);
        let task = waiter(
            target.addr,
            source,
            url,
            token,
            self.config,
            self.stats.clone(),
            self.stop.subscribe(),
            self.gate.clone(),
        );
        self.tasks.push(tokio::spawn(task));
    }

    /// Waits until every started socket connected or failed, at most
    /// `limit`; returns whether all attempts finished.
    pub async fn settle(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let mut last_report = Instant::now();
        loop {
            let c = self.stats.connected.load(Ordering::Relaxed);
            let f = self.stats.failed.load(Ordering::Relaxed);
            if (c + f) as usize >= self.tasks.len() {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            if last_report.elapsed() >= Duration::from_secs(10) {
                println!(
                    "  connecting: {c} connected, {f} failed of {}",
                    self.tasks.len()
                );
                last_report = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sockets open now.
    pub fn open(&self) -> u64 {
        self.stats.connected.load(Ordering::Relaxed) - self.stats.ended.load(Ordering::Relaxed)
    }

    /// Tells every socket to stop and waits (at most `limit`) for them.
    pub async fn stop(self, limit: Duration) {
        let _ = self.stop.send(true);
        self.gate.close();
        let all = futures::future::join_all(self.tasks);
        if tokio::time::timeout(limit, all).await.is_err() {
            println!("  some sockets did not stop within {limit:?}");
        }
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open(
    addr: SocketAddr,
    source: Option<IpAddr>,
    url: String,
    token: String,
    config: WebSocketConfig,
) -> Result<Socket, String> {
    let stream = connect(addr, source)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    let value = HeaderValue::from_str(&token).map_err(|e| e.to_string())?;
    request.headers_mut().insert("x-queue-token", value);
    match tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(resp)) => Err(format!("handshake: HTTP {}", resp.status().as_u16())),
        Err(e) => Err(format!("handshake: {e}")),
    }
}

#[allow(clippy::too_many_arguments)]
async fn waiter(
    addr: SocketAddr,
    source: Option<IpAddr>,
    url: String,
    token: String,
    config: WebSocketConfig,
    stats: Arc<WsStats>,
    mut stop: watch::Receiver<bool>,
    gate: Arc<Semaphore>,
) {
    let mut socket = {
        let Ok(_permit) = gate.acquire().await else {
            return;
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, open(addr, source, url, token, config)).await {
            Ok(Ok(s)) => s,
            Ok(Err(why)) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                WsStats::note(&stats.failures, why);
                return;
            }
            Err(_) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                WsStats::note(&stats.failures, "timeout".to_owned());
                return;
            }
        }
    };
    let mut attached = false;
    let mut page = None;
    let ending = loop {
        if *stop.borrow() {
            stats.record_end_age(page);
            return;
        }
        tokio::select! {
            _ = stop.changed() => {
                stats.record_end_age(page);
                return;
            }
            msg = socket.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if stats.on_text(text.as_bytes(), &mut page) && !attached {
                        attached = true;
                        stats.connected.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break match frame {
                        Some(f) => format!("close {} {}", u16::from(f.code), f.reason),
                        None => "close".to_owned(),
                    };
                }
                // Pings are answered by tungstenite on the next read.
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("error: {e}"),
                None => break "eof".to_owned(),
            }
        }
    };
    if attached {
        stats.ended.fetch_add(1, Ordering::Relaxed);
        WsStats::note(&stats.endings, ending);
    } else {
        stats.failed.fetch_add(1, Ordering::Relaxed);
        WsStats::note(&stats.failures, format!("attach: {ending}"));
    }
}
