//! Refusing other sites' requests that ride on the dashboard's cookie.
//!
//! The session cookie is `SameSite=Strict`, but a *same-site* sibling page
//! (another subdomain) still gets it sent along. So requests that
//! authenticate by cookie and change something, and the live WebSocket
//! upgrade, must come from the dashboard's own origin: the request's own
//! `Host`, or the configured public base URL (for proxies that rewrite
//! `Host`). Cookie-authenticated writes must also be `application/json`,
//! which a plain HTML form cannot send and a cross-origin `fetch` cannot
//! send without a CORS preflight we never grant.
//!
//! Requests that authenticate by header (bearer session, API key) are not
//! checked: a browser never attaches those on its own, and non-browser
//! clients send no `Origin`.

use crate::error::{AdminError, Result};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use queue::api::AllowedOrigin;

/// Whether this is a write (anything but a read).
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether this is a WebSocket upgrade.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Refuses a request whose browser says it comes from another site or
/// origin (the one check `queue::api::AllowedOrigin` makes for every
/// cookie-authenticated route). Requests without those headers pass.
pub fn check_origin(parts: &Parts, allowed: &AllowedOrigin) -> Result<()> {
    if allowed.is_foreign(&parts.headers, &parts.uri) {
        return Err(AdminError::ForbiddenOrigin);
    }
    Ok(())
}

/// Refuses a write whose body is not declared `application/json`.
pub fn check_json(headers: &HeaderMap) -> Result<()> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match media {
        Some(m) if m.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(AdminError::UnsupportedMediaType),
    }
}

/// The checks for a cookie-authenticated request: origin on writes and
/// upgrades, JSON on writes.
pub fn check_cookie_request(parts: &Parts, allowed: &AllowedOrigin) -> Result<()> {
    let write = is_write(&parts.method);
    if write || is_upgrade(&parts.headers) {
        check_origin(parts, allowed)?;
    }
    if write {
        check_json(&parts.headers)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut req = Request::builder().method(Method::POST).uri("/x");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(()).expect("request").into_parts().0
    }

    #[test]
    fn cookie_writes_need_the_own_origin_and_json() {
        let allowed = AllowedOrigin::new(Some("https://a.example"));
        let ok = parts(&[
            ("origin", "https://a.example"),
            ("content-type", "application/json"),
        ]);
        assert!(check_cookie_request(&ok, &allowed).is_ok());
        let sibling = parts(&[
            ("origin", "https://b.a.example"),
            ("content-type", "application/json"),
        ]);
        assert!(check_cookie_request(&sibling, &allowed).is_err());
        let form = parts(&[
            ("origin", "https://a.example"),
            ("content-type", "text/plain"),
        ]);
        assert!(check_cookie_request(&form, &allowed).is_err());
    }

    #[test]
    fn writes_must_be_json() {
        let json = parts(&[("content-type", "application/json; charset=utf-8")]);
        assert!(check_json(&json.headers).is_ok());
        for ct in ["text/plain", "application/x-www-form-urlencoded"] {
            assert!(check_json(&parts(&[("content-type", ct)]).headers).is_err());
        }
        assert!(check_json(&parts(&[]).headers).is_err());
    }
}
