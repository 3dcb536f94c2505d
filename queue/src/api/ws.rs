//! The waiter's WebSocket: a writer task draining a bounded queue and a
//! reader task watching for close, pongs and abuse. Either ending ends both.

use super::fan::missing_credential;
use super::{ApiError, EventPath, QueueApi, VisitorCredentials};
use crate::engine::waiters::{Outgoing, SEND_QUEUE};
use crate::error::QueueError;
use crate::ids::EventId;
use crate::protocol::ServerMsg;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::sync::mpsc;

/// Socket buffers: small, because an idle waiter should cost a few KiB
/// (tungstenite's defaults reserve about 128 KiB per connection).
const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 4 * 1024;
/// Clients only ever send tiny control messages.
const MAX_MESSAGE: usize = 1024;
/// Keep-alive: ping this often; a peer silent for `IDLE_LIMIT` is gone.
const PING_EVERY: Duration = Duration::from_secs(25);
const IDLE_LIMIT: Duration = Duration::from_secs(75);

/// `GET /api/v1/queue/{event}/ws`
pub async fn upgrade(
    State(api): State<QueueApi>,
    EventPath(event): EventPath,
    creds: VisitorCredentials,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // Browsers attach the cookie to a handshake from any page; only ours
    // may watch (or keep alive) a fan's place.
    api.origin.check(&headers, &uri)?;
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

async fn serve(api: QueueApi, event: EventId, token: String, socket: WebSocket) {
    let (tx, rx) = mpsc::channel(SEND_QUEUE);
    let (sink, stream) = socket.split();
    let mut writer = tokio::spawn(write(sink, rx));
    let attachment = match api.engine.attach(&event, &token, tx.clone()).await {
        Ok(a) => a,
        Err(e) => {
            // 1013 "try again later" keeps the page reconnecting.
            let close = match &e {
                QueueError::Unavailable(_) => 1013,
                _ => 1008,
            };
            let message = e.to_string();
            let code = ApiError::from(e).code.as_str();
            let _ = tx.try_send(Outgoing::Text(
                ServerMsg::Error { code, message }.to_frame(),
            ));
            let _ = tx.try_send(Outgoing::Close(close, code));
            drop(tx);
            let _ = writer.await;
            return;
        }
    };
    let mut reader = tokio::spawn(read(stream, tx));
    tokio::select! {
        _ = &mut writer => reader.abort(),
        _ = &mut reader => {
            // Let the writer flush a close frame the reader queued.
            if tokio::time::timeout(Duration::from_secs(1), &mut writer).await.is_err() {
                writer.abort();
            }
        }
    }
    drop(attachment);
}

async fn write(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        let out = tokio::select! {
            out = rx.recv() => out,
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
                continue;
            }
        };
        match out {
            Some(Outgoing::Text(text)) => {
                if sink.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
            Some(Outgoing::Close(code, reason)) => {
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    })))
                    .await;
                return;
            }
            None => return,
        }
    }
}

async fn read(mut stream: futures::stream::SplitStream<WebSocket>, tx: mpsc::Sender<Outgoing>) {
    loop {
        let next = match tokio::time::timeout(IDLE_LIMIT, stream.next()).await {
            Ok(next) => next,
            Err(_) => {
                let _ = tx.try_send(Outgoing::Close(1001, "idle"));
                return;
            }
        };
        match next {
            Some(Ok(Message::Close(_))) | None => return,
            Some(Ok(Message::Binary(_))) => {
                // Unsupported data: policy violation. The place is kept.
                let _ = tx.try_send(Outgoing::Close(1003, "binary not supported"));
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                // Oversized or malformed frames end up here.
                tracing::debug!(error = %e, "websocket read error");
                let _ = tx.try_send(Outgoing::Close(1009, "message too big or malformed"));
                return;
            }
        }
    }
}
