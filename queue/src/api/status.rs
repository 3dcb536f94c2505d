//! The answer of `join` and `status`: a visitor's place, as JSON.
//!
//! It is the hottest answer there is (every join), so it is written field
//! by field rather than through serde_json, which escapes every string
//! byte by byte and costed about a tenth of a join's instructions. The
//! bytes are serde's own: a test holds the writer to `serde_json`'s output
//! of the same struct, for every state and every optional field.

use super::ApiError;
use crate::engine::VisitorStatus;
use crate::protocol::WaiterState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;

/// Room for a status answer: a join's with its credential is about 400
/// bytes; one with an admission token grows once.
const STATUS_CAPACITY: usize = 512;
/// Headers of a join's answer as sent, `date` aside.
const STATUS_HEADERS: usize = 14;

/// What join and status return. `Serialize` is the reference the writer
/// ([`StatusBody::write_json`]) is tested against.
#[derive(Debug, Serialize)]
pub(super) struct StatusBody {
    /// Written first, when the answer carries it (`join`).
    #[serde(skip)]
    queue_token: Option<String>,
    event: String,
    visitor_id: String,
    ticket: u64,
    state: WaiterState,
    queue_state: crate::QueueState,
    position: Option<u64>,
    ahead: Option<u64>,
    eta_seconds: Option<u64>,
    waiting: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    admission_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admission_expires_at: Option<u64>,
    /// Present when the admission is a waitlist offer: when it passes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    offer_expires_at: Option<u64>,
    /// Present when the fan came back to a place kept during an absence.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    kept_place: bool,
    /// The operator's announcement in force, for polling pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    announcement: Option<AnnouncementBody>,
}

/// An announcement as `status` shows it (the event is in the URL).
#[derive(Debug, Serialize)]
struct AnnouncementBody {
    message: String,
    at: u64,
}

impl StatusBody {
    /// The answer for `s`; with its credential when `with_token`.
    pub(super) fn new(event: &str, s: VisitorStatus, with_token: bool) -> Self {
        Self {
            queue_token: with_token.then_some(s.queue_token),
            event: event.to_owned(),
            visitor_id: s.visitor.to_string(),
            ticket: s.ticket,
            state: s.state,
            queue_state: s.queue_state,
            position: s.position.map(|p| p.position),
            ahead: s.position.map(|p| p.ahead),
            eta_seconds: s.position.and_then(|p| p.eta_seconds),
            waiting: s.waiting,
            admission_expires_at: s.admission.as_ref().map(|a| a.1),
            offer_expires_at: s.offer_expires_at,
            kept_place: s.kept_place,
            admission_token: s.admission.map(|a| a.0),
            announcement: s.announcement.map(|a| AnnouncementBody {
                message: a.message,
                at: a.at,
            }),
        }
    }

    /// Appends the JSON: `queue_token` first when present, then the
    /// fields in declaration order, optional ones left out as serde's
    /// `skip_serializing_if` says.
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.push(b'{');
        if let Some(token) = &self.queue_token {
            out.extend_from_slice(b"\"queue_token\":");
            string(out, token)?;
            out.push(b',');
        }
        out.extend_from_slice(b"\"event\":");
        string(out, &self.event)?;
        out.extend_from_slice(b",\"visitor_id\":");
        string(out, &self.visitor_id)?;
        out.extend_from_slice(b",\"ticket\":");
        number(out, self.ticket);
        out.extend_from_slice(b",\"state\":\"");
        out.extend_from_slice(self.state.as_str().as_bytes());
        out.extend_from_slice(b"\",\"queue_state\":\"");
        out.extend_from_slice(self.queue_state.as_str().as_bytes());
        out.extend_from_slice(b"\",\"position\":");
        maybe_number(out, self.position);
        out.extend_from_slice(b",\"ahead\":");
        maybe_number(out, self.ahead);
        out.extend_from_slice(b",\"eta_seconds\":");
        maybe_number(out, self.eta_seconds);
        out.extend_from_slice(b",\"waiting\":");
        number(out, self.waiting);
        if let Some(token) = &self.admission_token {
            out.extend_from_slice(b",\"admission_token\":");
            string(out, token)?;
        }
        if let Some(at) = self.admission_expires_at {
            out.extend_from_slice(b",\"admission_expires_at\":");
            number(out, at);
        }
        if let Some(at) = self.offer_expires_at {
            out.extend_from_slice(b",\"offer_expires_at\":");
            number(out, at);
        }
        if self.kept_place {
            out.extend_from_slice(b",\"kept_place\":true");
        }
        if let Some(a) = &self.announcement {
            out.extend_from_slice(b",\"announcement\":{\"message\":");
            string(out, &a.message)?;
            out.extend_from_slice(b",\"at\":");
            number(out, a.at);
            out.push(b'}');
        }
        out.push(b'}');
        Ok(())
    }
}

/// `text` as a JSON string. Ids and credentials have nothing to escape,
/// which a loop without branches confirms; anything else (an operator's
/// announcement) goes through serde_json.
fn string(out: &mut Vec<u8>, text: &str) -> Result<(), serde_json::Error> {
    if needs_escape(text) {
        return serde_json::to_writer(out, text);
    }
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
    Ok(())
}

fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn maybe_number(out: &mut Vec<u8>, n: Option<u64>) {
    match n {
        Some(n) => number(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

/// Whether JSON needs an escape for any byte of `text` (a quote, a
/// backslash or a control character; serde_json escapes nothing else),
/// looked at without an early exit so the loop runs on whole vectors.
fn needs_escape(text: &str) -> bool {
    text.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// A visitor's status as answered by `join` and `status`: never cached,
/// with the credential's cookie when one is (re)issued. Written into a
/// buffer sized for it: axum's `Json` starts at 128 bytes and grows twice
/// for a join's answer.
pub(super) fn status_answer(
    code: StatusCode,
    body: &StatusBody,
    cookie: Option<String>,
) -> Result<Response, ApiError> {
    let mut json = Vec::with_capacity(STATUS_CAPACITY);
    body.write_json(&mut json).map_err(ApiError::internal)?;
    let mut resp = Response::new(axum::body::Body::from(json));
    *resp.status_mut() = code;
    let headers = resp.headers_mut();
    // Room for the answer's own headers and those every answer gets on
    // the way out (length, security, rate limit): the map grows twice
    // otherwise.
    headers.reserve(STATUS_HEADERS);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = cookie {
        let value = HeaderValue::try_from(cookie).map_err(ApiError::internal)?;
        headers.insert(header::SET_COOKIE, value);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [WaiterState; 7] = [
        WaiterState::Prequeue,
        WaiterState::Waiting,
        WaiterState::Paused,
        WaiterState::Closed,
        WaiterState::Waitlisted,
        WaiterState::Admitted,
        WaiterState::Departed,
    ];

    const QUEUE_STATES: [crate::QueueState; 6] = [
        crate::QueueState::Scheduled,
        crate::QueueState::Prequeue,
        crate::QueueState::Open,
        crate::QueueState::Paused,
        crate::QueueState::Draining,
        crate::QueueState::Closed,
    ];

    fn sample(queue_token: Option<&str>) -> StatusBody {
        StatusBody {
            queue_token: queue_token.map(str::to_owned),
            event: "demo".to_owned(),
            visitor_id: "v_1".to_owned(),
            ticket: 7,
            state: WaiterState::Waiting,
            queue_state: crate::QueueState::Open,
            position: Some(3),
            ahead: Some(2),
            eta_seconds: None,
            waiting: 10,
            admission_token: None,
            admission_expires_at: None,
            offer_expires_at: None,
            kept_place: false,
            announcement: None,
        }
    }

    /// Every shape the answer takes: each state and queue state, each
    /// optional field absent and present, strings with and without
    /// something to escape.
    fn shapes() -> Vec<StatusBody> {
        let mut all = Vec::new();
        for token in [None, Some("v1.k1a2b.eyJl-_x.mAc"), Some("a\"b\\c\u{1}")] {
            all.push(sample(token));
        }
        for (i, state) in STATES.into_iter().enumerate() {
            let mut b = sample(Some("t"));
            b.state = state;
            b.queue_state = QUEUE_STATES[i % QUEUE_STATES.len()];
            all.push(b);
        }
        let mut full = sample(Some("v1.tok"));
        full.eta_seconds = Some(u64::MAX);
        full.admission_token = Some("eyJhbGciOiJFZERTQSJ9.e30.sig-_".to_owned());
        full.admission_expires_at = Some(1_700_000_000_000);
        full.offer_expires_at = Some(0);
        full.kept_place = true;
        full.announcement = Some(AnnouncementBody {
            message: "doors at \"8\"\n— ünïcode \u{7f}".to_owned(),
            at: 1,
        });
        all.push(full);
        let mut bare = sample(None);
        (bare.position, bare.ahead) = (None, None);
        bare.event = "we\\ird\"".to_owned();
        all.push(bare);
        all
    }

    #[test]
    fn the_writer_gives_serdes_bytes() {
        for body in shapes() {
            let mut ours = Vec::new();
            body.write_json(&mut ours).expect("written");
            let mut theirs = b"{".to_vec();
            if let Some(token) = &body.queue_token {
                theirs.extend_from_slice(b"\"queue_token\":");
                serde_json::to_writer(&mut theirs, token).expect("serializable");
                theirs.push(b',');
            }
            let rest = serde_json::to_vec(&body).expect("serializable");
            theirs.extend_from_slice(&rest[1..]);
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
        }
        assert!(!needs_escape("v1.k1a2b.eyJl-_x.mAc"));
        assert!(needs_escape("a\"b") && needs_escape("a\\b") && needs_escape("a\nb"));
    }

    #[tokio::test]
    async fn the_answer_carries_the_body_and_no_store() {
        let body = sample(Some("v1.tok"));
        let resp =
            status_answer(StatusCode::CREATED, &body, Some("c=1".into())).expect("an answer");
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(resp.headers()[header::SET_COOKIE], "c=1");
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("the body");
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(json["queue_token"], "v1.tok");
        assert_eq!(json["position"], 3);
    }
}
