//! The live dashboard's data: per-event one-second samples built from the
//! published ticks (every node receives every tick, so this costs the
//! queue store nothing), and `GET /api/v1/admin/events/{event}/live`, a
//! WebSocket that sends the last hour once and then a sample every second,
//! as typed [`LiveMessage`]s whose first carries [`LIVE_PROTOCOL`].
//!
//! Each message also carries the event's rejection counters (rate limits,
//! failed CAPTCHAs; cumulative, summed over every node by the queue
//! store's shared counters) and the event's sales summary from booking (holds,
//! orders, revenue), read every [`SALES_EVERY`] rather than every second:
//! it is a handful of aggregate queries per watching operator.

use crate::auth::Viewer;
use crate::AdminApi;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use booking::db::SalesSummary;
use queue::api::schemas;
use queue::api::{ApiError, EventPath};
use queue::store::Tick;
use queue::EventId;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// One hour of one-second samples.
const HISTORY: usize = 3_600;

/// How often a dashboard socket re-reads the sales summary.
const SALES_EVERY: Duration = Duration::from_secs(2);

/// One second of one event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sample {
    /// Start of the second (ms since the epoch).
    pub t: u64,
    /// Queue state at the end of the second.
    pub state: String,
    /// Waiters at the end of the second.
    pub waiting: u64,
    /// Active sessions at the end of the second.
    pub active: u32,
    /// Tickets issued during the second (joins; pre-queue joins count at
    /// the shuffle, when they get their tickets).
    pub joins: u64,
    /// Admitted during the second.
    pub admitted: u64,
    /// Departed during the second.
    pub departed: u64,
    /// Setting in force.
    pub admit_per_minute: u32,
    /// Setting in force.
    pub max_active: u32,
    /// Settings version in force (for `If-Match` from the dashboard).
    pub version: u64,
    /// The event was restored after the queue store lost its data, within
    /// the last `RECOVERING_FOR_MS`.
    pub recovering: bool,
}

/// Per-event sample rings, fed by [`spawn_collector`].
#[derive(Debug, Default)]
pub struct LiveStats {
    events: Mutex<HashMap<EventId, Ring>>,
}

#[derive(Debug, Default)]
struct Ring {
    samples: VecDeque<Sample>,
    last_ticket: Option<u64>,
}

impl LiveStats {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EventId, Ring>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Folds one tick into its event's current second.
    pub fn record(&self, tick: &Tick) {
        let second = tick.at - tick.at % 1_000;
        let mut events = self.lock();
        let ring = events.entry(tick.event.clone()).or_default();
        let joins = ring
            .last_ticket
            .map_or(0, |t| tick.last_ticket.saturating_sub(t));
        ring.last_ticket = Some(tick.last_ticket);
        if ring.samples.back().is_none_or(|s| s.t != second) {
            ring.samples.push_back(Sample {
                t: second,
                ..Sample::default()
            });
            if ring.samples.len() > HISTORY {
                ring.samples.pop_front();
            }
        }
        if let Some(s) = ring.samples.back_mut() {
            s.state = tick.settings.state.to_string();
            s.waiting = tick.waiting;
            s.active = tick.active;
            s.joins += joins;
            s.admitted += tick.admitted.len() as u64;
            s.departed += tick.departed.len() as u64;
            s.admit_per_minute = tick.settings.admit_per_minute;
            s.max_active = tick.settings.max_active;
            s.version = tick.settings.policy.version;
            s.recovering = tick.restored_at > 0
                && tick.at.saturating_sub(tick.restored_at)
                    < queue::engine::recovery::RECOVERING_FOR_MS;
        }
    }

    /// Completed seconds after `since` (ms), oldest first. The second in
    /// progress is left out: it is sent once, complete, a second later.
    pub fn since(&self, event: &EventId, since: u64) -> Vec<Sample> {
        let now = crate::now_ms();
        self.lock().get(event).map_or_else(Vec::new, |r| {
            r.samples
                .iter()
                .filter(|s| s.t > since && s.t + 1_000 <= now)
                .cloned()
                .collect()
        })
    }
}

/// Feeds `stats` from the store's tick feed until aborted.
pub fn spawn_collector(api: &AdminApi) -> tokio::task::JoinHandle<()> {
    let mut ticks = api.engine.store().subscribe();
    let stats = api.live.clone();
    tokio::spawn(async move {
        loop {
            match ticks.recv().await {
                Ok(tick) => stats.record(&tick),
                // A gap only loses a few samples' detail.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    })
}

/// `GET /api/v1/admin/events/{event}/live` (viewer and up).
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{event}/live",
    operation_id = "liveStats",
    tag = "admin",
    summary = "The dashboard's live feed over a WebSocket",
    description = r#"Needs the `viewer` role. WebSocket upgrade. First message `{"type":"history","event","samples","sales"}` with the last hour of one-second samples, then `{"type":"sample","sample","rejections","sales"}` for each completed second. `rejections` are cumulative over every node (`rate_limited`, `captcha_failed`); `sales` is the booking summary (re-read every 2 s), `null` when the event has no catalog entry or the database does not answer. Clients send nothing; anything but ping/pong ends the socket."#,
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
        ("Connection" = String, Header, pattern = "^[Uu][Pp][Gg][Rr][Aa][Dd][Ee]$", description = "`Upgrade` (the WebSocket handshake)."),
        ("Upgrade" = String, Header, pattern = "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$", description = "`websocket`."),
        ("Sec-WebSocket-Version" = schemas::WebSocketVersion, Header, description = "`13`."),
        ("Sec-WebSocket-Key" = String, Header, pattern = "^[A-Za-z0-9+/]{22}==$", description = "16 random bytes, base64."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 101, description = "Switching protocols; the socket then carries `LiveMessage` messages (see the components)."),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", content((schemas::Error = "application/json"), (String = "text/plain"))),
        (status = 404, description = "`unknown_event`: no queue for this event.", body = schemas::Error),
        (status = 503, response = schemas::QueueUnavailable),
        schemas::AdminErrors,
    )
)]
pub async fn live(
    State(api): State<AdminApi>,
    _viewer: Viewer,
    EventPath(event): EventPath,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    queue::api::check_websocket_key(&headers)?;
    // Refuse unknown events before upgrading.
    api.engine.settings(&event).await?;
    Ok(ws
        .max_message_size(1024)
        .on_upgrade(move |socket| serve(socket, api, event)))
}

/// The dashboard feed's protocol version, sent in the first message; a
/// page that does not know it reloads rather than misread the feed.
pub const LIVE_PROTOCOL: u32 = 1;

/// How often the server pings a dashboard socket; a socket that has not
/// answered (any frame) for two of these is closed.
const PING_EVERY: Duration = Duration::from_secs(20);

/// Cumulative rejections of an event, summed over every node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rejections {
    /// Requests refused by the edge's rate limits.
    pub rate_limited: u64,
    /// Failed CAPTCHAs (sent to the infinite queue).
    pub captcha_failed: u64,
}

/// What the live socket sends, tagged by `type`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// First message: the protocol version and the last hour.
    History {
        /// [`LIVE_PROTOCOL`].
        v: u32,
        /// The event watched.
        event: String,
        /// Completed seconds, oldest first.
        samples: Vec<Sample>,
        /// Sales so far; `null` without a catalog entry or while the
        /// database does not answer.
        sales: Option<SalesSummary>,
    },
    /// Each completed second after that.
    Sample {
        /// The second.
        sample: Sample,
        /// Cumulative rejections.
        rejections: Rejections,
        /// Sales so far (re-read every [`SALES_EVERY`]).
        sales: Option<SalesSummary>,
    },
}

impl LiveMessage {
    fn frame(&self) -> Message {
        // Plain data with string keys: serialising cannot fail.
        Message::Text(serde_json::to_string(self).unwrap_or_default().into())
    }
}

/// The event's sales summary; `None` for a queue with no booking catalog
/// entry, or while the database does not answer (the queue figures go on).
async fn sales(api: &AdminApi, event: &EventId) -> Option<SalesSummary> {
    match api.booking.sales.sales_summary(event.as_str()).await {
        Ok(s) => Some(s),
        Err(e) => {
            if e.status().is_server_error() {
                tracing::warn!(event = %event, error = %e, "dashboard: sales summary failed");
            }
            None
        }
    }
}

/// The event's cumulative rejections, from the store's shared counters
/// (every node flushes its counts there each second).
async fn rejections(api: &AdminApi, event: &EventId) -> Rejections {
    use queue::store::counters::{CAPTCHA_FAILED, RATE_LIMITED};
    let counters = api.engine.store().counters(event).await.unwrap_or_default();
    let get = |name: &str| counters.get(name).copied().unwrap_or(0);
    Rejections {
        rate_limited: get(RATE_LIMITED),
        captcha_failed: get(CAPTCHA_FAILED),
    }
}

/// Sends the history, then each completed second; pings, and closes a
/// socket whose peer has gone quiet (a laptop lid closed mid-sale).
async fn serve(mut socket: WebSocket, api: AdminApi, event: EventId) {
    let stats = api.live.clone();
    let history = stats.since(&event, 0);
    let mut last = history.last().map_or(0, |s| s.t);
    let mut summary = sales(&api, &event).await;
    let mut summary_at = tokio::time::Instant::now();
    let hello = LiveMessage::History {
        v: LIVE_PROTOCOL,
        event: event.as_str().to_owned(),
        samples: history,
        sales: summary.clone(),
    };
    if socket.send(hello.frame()).await.is_err() {
        return;
    }
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = every.tick() => {
                if summary_at.elapsed() >= SALES_EVERY {
                    summary = sales(&api, &event).await;
                    summary_at = tokio::time::Instant::now();
                }
                let completed = stats.since(&event, last);
                if completed.is_empty() {
                    continue;
                }
                let rejected = rejections(&api, &event).await;
                for sample in completed {
                    last = sample.t;
                    let msg = LiveMessage::Sample { sample, rejections: rejected, sales: summary.clone() };
                    if socket.send(msg.frame()).await.is_err() {
                        return;
                    }
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > 2 * PING_EVERY {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                // Clients send nothing but control frames; anything else
                // ends the socket.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => heard = tokio::time::Instant::now(),
                _ => return,
            },
        }
    }
}
