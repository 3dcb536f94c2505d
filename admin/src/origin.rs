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

/// `scheme://host[:port]` of a base URL, lowercased, default port dropped:
/// the form browsers send in `Origin`. `None` for anything else.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!(
        "{scheme}://{}",
        without_default_port(&scheme, &authority.to_ascii_lowercase())
    ))
}

fn without_default_port(scheme: &str, authority: &str) -> String {
    let default = if scheme == "https" { ":443" } else { ":80" };
    authority
        .strip_suffix(default)
        .unwrap_or(authority)
        .to_owned()
}

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
/// origin. Requests without those headers (non-browser clients) pass.
pub fn check_origin(parts: &Parts, public_origin: Option<&str>) -> Result<()> {
    let headers = &parts.headers;
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or_default();
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return Err(AdminError::ForbiddenOrigin);
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .ok()
        .and_then(origin_of)
        .ok_or(AdminError::ForbiddenOrigin)?;
    if public_origin == Some(origin.as_str()) {
        return Ok(());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()));
    let (scheme, authority) = origin.split_once("://").unwrap_or_default();
    match host {
        Some(host) if without_default_port(scheme, &host.to_ascii_lowercase()) == authority => {
            Ok(())
        }
        _ => Err(AdminError::ForbiddenOrigin),
    }
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
pub fn check_cookie_request(parts: &Parts, public_origin: Option<&str>) -> Result<()> {
    let write = is_write(&parts.method);
    if write || is_upgrade(&parts.headers) {
        check_origin(parts, public_origin)?;
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
    fn origins_are_normalised() {
        assert_eq!(
            origin_of("HTTPS://Tickets.Example.com:443/admin").as_deref(),
            Some("https://tickets.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("ftp://x"), None);
    }

    #[test]
    fn own_host_and_public_origin_pass_others_do_not() {
        let own = parts(&[
            ("host", "a.example:8080"),
            ("origin", "http://a.example:8080"),
        ]);
        assert!(check_origin(&own, None).is_ok());
        let public = parts(&[("host", "backend:8080"), ("origin", "https://a.example")]);
        assert!(check_origin(&public, Some("https://a.example")).is_ok());
        assert!(check_origin(&public, None).is_err());
        let sibling = parts(&[("host", "a.example"), ("origin", "https://b.a.example")]);
        assert!(check_origin(&sibling, None).is_err());
        let null = parts(&[("host", "a.example"), ("origin", "null")]);
        assert!(check_origin(&null, None).is_err());
        let cross = parts(&[("host", "a.example"), ("sec-fetch-site", "cross-site")]);
        assert!(check_origin(&cross, None).is_err());
        let same_site = parts(&[("host", "a.example"), ("sec-fetch-site", "same-site")]);
        assert!(check_origin(&same_site, None).is_err());
        assert!(check_origin(&parts(&[("host", "a.example")]), None).is_ok());
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
