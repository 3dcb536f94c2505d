//! The one reader of visitor credentials. A fan presents their credential
//! either as the HttpOnly cookie `wr_queue_<event>` (browsers) or as the
//! `X-Queue-Token` header (API clients). The queue, the edge, booking and
//! admin all read it through [`VisitorCredentials`], so they agree on every
//! edge case: which source wins, whitespace, quoting, empty values and
//! cookies named after something that is not an event id.

use crate::ids::EventId;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName};
use std::convert::Infallible;

/// Header non-browser clients use instead of the cookie. A `HeaderName`,
/// not text: a look-up by text parses the name first, on every request.
pub const QUEUE_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-queue-token");

/// Prefix of the per-event credential cookie.
const COOKIE_PREFIX: &str = "wr_queue_";

/// Name of the HttpOnly cookie holding the visitor credential of `event`.
/// One cookie per event, because a credential is bound to its event.
pub fn cookie_name(event: &EventId) -> String {
    let mut name = String::new();
    push_cookie_name(&mut name, event);
    name
}

fn push_cookie_name(out: &mut String, event: &EventId) {
    out.push_str(COOKIE_PREFIX);
    out.push_str(event.as_str());
}

/// Request header with which an API client asks for its visitor
/// credential in the join response body (`queue_token`). Browsers never
/// send it: they get the credential only in the HttpOnly cookie, so a
/// script on the page (or a copy of the response) cannot carry it away.
pub const TOKEN_IN_BODY_HEADER: HeaderName = HeaderName::from_static("x-queue-token-in-body");

/// Whether a join asked for the credential in its body
/// ([`TOKEN_IN_BODY_HEADER`] is `1` or `true`). An extractor of its own so
/// the join handler does not copy every header to read one.
#[derive(Debug, Clone, Copy)]
pub struct TokenInBody(pub bool);

impl TokenInBody {
    /// Reads it from headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self(
            headers
                .get(TOKEN_IN_BODY_HEADER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| matches!(v.trim(), "1" | "true")),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TokenInBody {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// The `Set-Cookie` value that hands a browser its credential: HttpOnly
/// (no script reads it), `SameSite=Lax`, a day long, `Secure` over TLS.
/// The real queue and the infinite queue answer with the same one.
pub fn credential_cookie(event: &EventId, token: &str, secure: bool) -> String {
    const ATTRIBUTES: &str = "; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400";
    const SECURE: &str = "; Secure";
    // Every new place sets one: pieces pushed into one buffer, not `format!`.
    let mut cookie = String::with_capacity(
        COOKIE_PREFIX.len()
            + event.as_str().len()
            + 1
            + token.len()
            + ATTRIBUTES.len()
            + SECURE.len(),
    );
    push_cookie_name(&mut cookie, event);
    for piece in ["=", token, ATTRIBUTES] {
        cookie.push_str(piece);
    }
    if secure {
        cookie.push_str(SECURE);
    }
    cookie
}

/// The visitor credentials a request carries, read once.
///
/// The header names one identity for whatever event the route is about;
/// cookies name one per event. Where both are present for an event the
/// header wins (an API client says explicitly who it is), except where a
/// caller asks for the cookie alone ([`VisitorCredentials::cookie`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitorCredentials {
    header: Option<String>,
    cookies: Vec<(EventId, String)>,
}

impl VisitorCredentials {
    /// Reads `X-Queue-Token` and every `wr_queue_<event>` cookie. Values are
    /// trimmed and unquoted. A header that is present is a claim, even when
    /// empty (and is refused as malformed); empty cookies (a browser's
    /// cleared cookie), non-UTF-8 headers and cookies whose suffix is not a
    /// valid event id are ignored.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let header = headers
            .get(QUEUE_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| clean(v).to_owned());
        let cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                let event = EventId::parse(name.trim().strip_prefix(COOKIE_PREFIX)?).ok()?;
                let value = clean(value);
                (!value.is_empty()).then(|| (event, value.to_owned()))
            })
            .collect();
        Self { header, cookies }
    }

    /// A request that presents `token` in the header (tests, tools).
    pub fn with_header(token: impl Into<String>) -> Self {
        Self {
            header: Some(token.into()),
            cookies: Vec::new(),
        }
    }

    /// The credential for `event`: the header, else the event's cookie.
    pub fn for_event(&self, event: &EventId) -> Option<&str> {
        self.header().or_else(|| self.cookie(event))
    }

    /// The event's cookie alone, ignoring the header.
    pub fn cookie(&self, event: &EventId) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(e, _)| e == event)
            .map(|(_, v)| v.as_str())
    }

    /// The `X-Queue-Token` header alone.
    pub fn header(&self) -> Option<&str> {
        self.header.as_deref()
    }

    /// For routes that name no event (e.g. checkout of a hold): the header,
    /// else the first cookie.
    pub fn any(&self) -> Option<&str> {
        self.header()
            .or_else(|| self.cookies.first().map(|(_, v)| v.as_str()))
    }

    /// Whether the request presented no credential at all.
    pub fn is_empty(&self) -> bool {
        self.header.is_none() && self.cookies.is_empty()
    }
}

/// Cookie values may be quoted (RFC 6265 allows `"…"`); headers may carry
/// stray whitespace. Neither is part of the credential.
fn clean(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
        .trim()
}

impl<S: Send + Sync> FromRequestParts<S> for VisitorCredentials {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("test header"));
        }
        h
    }

    fn ev(s: &str) -> EventId {
        EventId::parse(s).expect("test event id")
    }

    #[test]
    fn header_wins_over_cookie_and_cookie_is_per_event() {
        let c = VisitorCredentials::from_headers(&headers(&[
            ("cookie", "a=1; wr_queue_demo=\"c1\"; wr_queue_other= c2 "),
            ("x-queue-token", "  h1 "),
        ]));
        assert_eq!(c.for_event(&ev("demo")), Some("h1"));
        assert_eq!(c.cookie(&ev("demo")), Some("c1"));
        assert_eq!(c.cookie(&ev("other")), Some("c2"));
        assert_eq!(c.cookie(&ev("nope")), None);
        assert_eq!(c.any(), Some("h1"));
    }

    #[test]
    fn empty_and_foreign_values_are_ignored() {
        let c = VisitorCredentials::from_headers(&headers(&[
            ("cookie", "wr_queue_demo=; wr_queue_bad%2Fid=x; wr_queue_=y"),
            ("cookie", "wr_queue_two=v"),
        ]));
        assert_eq!(c.header(), None);
        assert_eq!(c.cookie(&ev("demo")), None);
        assert_eq!(c.any(), Some("v"));
        assert_eq!(c.for_event(&ev("two")), Some("v"));
        let blank = VisitorCredentials::from_headers(&headers(&[("x-queue-token", "   ")]));
        assert_eq!(
            blank.header(),
            Some(""),
            "a blank header is still a (bad) claim"
        );
        assert!(VisitorCredentials::from_headers(&HeaderMap::new()).is_empty());
    }
}
