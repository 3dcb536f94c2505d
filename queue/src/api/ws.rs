//! The waiter's WebSocket: the upgrade, its checks and documentation, and
//! attaching the socket to a place; `socket` serves it from then on.

use super::fan::missing_credential;
use super::{socket, ApiError, ErrorCode, EventPath, QueueApi, VisitorCredentials};
use crate::api::schemas;
use crate::engine::mailbox;
use crate::engine::waiters::{Outgoing, SEND_QUEUE};
use crate::error::QueueError;
use crate::ids::EventId;
use crate::protocol::ServerMsg;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use std::sync::Arc;

/// Socket buffers: small, because an idle waiter should cost a few KiB
/// (tungstenite's defaults reserve about 128 KiB per connection). Reads
/// are few and tiny (pongs), but tungstenite zeroes the whole read buffer
/// every time the socket is polled for one, which is after every message.
const READ_BUFFER: usize = 512;
const WRITE_BUFFER: usize = 4 * 1024;
/// Clients only ever send tiny control messages.
const MAX_MESSAGE: usize = 1024;

/// RFC 6455's key: 16 random bytes in base64 (22 characters, then `==`),
/// as the API document states it; axum takes any value.
pub fn check_websocket_key(headers: &HeaderMap) -> Result<(), ApiError> {
    let key = headers
        .get("sec-websocket-key")
        .map_or(&[][..], |v| v.as_bytes());
    let well_formed = key.len() == 24
        && key.ends_with(b"==")
        && key[..22]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/');
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::of(
            ErrorCode::InvalidRequest,
            "Sec-WebSocket-Key must be 16 bytes in base64",
        ))
    }
}

/// `GET /api/v1/queue/{event}/ws`
#[utoipa::path(
    get,
    path = "/api/v1/queue/{event}/ws",
    operation_id = "queueSocket",
    tag = "queue",
    summary = "Live position updates over a WebSocket",
    description = r#"WebSocket upgrade (protocol version 1). Server messages are JSON objects tagged by `type`:

- `hello` (always first): `protocol`, `event`, `state`, `queue_state`, `ticket`, `position`, `ahead`, `eta_seconds`, `waiting`;
- `position`: `position`, `ahead`, `eta_seconds`, `waiting`, `at` (ms of the tick), sent when the position changed;
- `admitted`: `ticket`, `admitted_at`, `admission_token`, `admission_expires_at`, `next` (the booking page);
- `state`: `queue_state` (a queue state, or `reconnecting` while the queue store is unreachable);
- `reconnect`: `reason`, `retry_ms` (the server is shutting down; reconnect to any process);
- `departed`: the place is gone;
- `error`: `code`, `message`; the socket closes after it (e.g. `not_joined`, `service_unavailable`).

The server pings every 25 s (a ping may wait up to 10 s to travel with a message) and closes a socket that has sent nothing, not even a pong, for 75 s when its next ping would leave, 75–100 s after it fell silent (close code 1001). Client messages are ignored; binary frames close with 1003, frames over 1 KiB with 1009. The visitor credential travels in the `X-Queue-Token` header or in the HttpOnly cookie `wr_queue_{event}` that join sets."#,
    params(
        ("event" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "Event id."),
        ("Connection" = String, Header, pattern = "^[Uu][Pp][Gg][Rr][Aa][Dd][Ee]$", description = "`Upgrade` (the WebSocket handshake)."),
        ("Upgrade" = String, Header, pattern = "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$", description = "`websocket`."),
        ("Sec-WebSocket-Version" = schemas::WebSocketVersion, Header, description = "`13`."),
        ("Sec-WebSocket-Key" = String, Header, pattern = "^[A-Za-z0-9+/]{22}==$", description = "16 random bytes, base64."),
    ),
    security(("queueToken" = [])),
    responses(
        (status = 101, description = "Switching protocols; the socket then carries `QueueServerMessage` messages (see the components)."),
        (status = 400, description = "`validation_failed`, with `field` naming the input: `event`; `field` is `body` when fields are missing or of the wrong type.", content((schemas::Error = "application/json"), (String = "text/plain"))),
        (status = 401, description = "`credential_required` or a refused credential (`credential_*`).", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 503, description = "`socket_capacity`: this process already holds its `max_sockets` WebSockets (answered before the upgrade); reconnect after `Retry-After` (a load balancer may pick another process) and poll `status` meanwhile.", body = schemas::Error, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn upgrade(
    State(api): State<Arc<QueueApi>>,
    EventPath(event): EventPath,
    creds: VisitorCredentials,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // Browsers attach the cookie to a handshake from any page; only ours
    // may watch (or keep alive) a fan's place.
    api.origin.check(&headers, &uri)?;
    check_websocket_key(&headers)?;
    let token = creds
        .for_event(&event)
        .ok_or_else(missing_credential)?
        .to_owned();
    // Refuse a bad credential before upgrading, with a proper HTTP error.
    api.engine.credential(&event, &token)?;
    Ok(ws
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER * 16)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| serve(api, event, token, socket)))
}

async fn serve(api: Arc<QueueApi>, event: EventId, token: String, socket: WebSocket) {
    let (tx, rx) = mailbox::channel(SEND_QUEUE);
    let attachment = match api.places.attach(&event, &token, tx).await {
        Ok(a) => a,
        Err(e) => {
            // 1013 "try again later" keeps the page reconnecting.
            let close = match &e {
                QueueError::Unavailable(_) => 1013,
                _ => 1008,
            };
            let message = e.to_string();
            let code = ApiError::from(e).code.as_str();
            let (tx, rx) = mailbox::channel(2);
            let _ = tx.try_send(Outgoing::Text(
                ServerMsg::Error { code, message }.to_frame(),
            ));
            let _ = tx.try_send(Outgoing::Close(close, code));
            drop(tx);
            socket::serve(socket, rx).await;
            return;
        }
    };
    // The place source holds the only sender: when it lets the socket go
    // (a full queue: a slow reader) the socket ends.
    socket::serve(socket, rx).await;
    drop(attachment);
}
