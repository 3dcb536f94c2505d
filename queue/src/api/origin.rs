//! Refusing browser requests from foreign origins where a cookie is the
//! credential: the fan WebSocket, and the dashboard's cookie-authenticated
//! writes and live socket. One check, shared by the queue and admin.
//!
//! `SameSite` cookies still travel with requests from a *same-site* sibling
//! (another subdomain of the same registrable domain), and browsers attach
//! cookies to WebSocket handshakes from any page. So the check is
//! same-origin, not same-site: the `Origin` must be this service's own (the
//! request's `Host`, or the configured public base URL for proxies that
//! rewrite `Host`), and a `Sec-Fetch-Site` other than `same-origin` or
//! `none` is refused. Requests without either header are not from a
//! browser page and pass: they authenticate by header.

use super::{ApiError, ErrorCode};
use axum::http::{header, HeaderMap, Uri};

/// The origin requests may come from.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigin {
    /// The public base URL's origin, when configured.
    public: Option<String>,
}

impl AllowedOrigin {
    /// From the configured public base URL (any path is ignored).
    pub fn new(public_base_url: Option<&str>) -> Self {
        Self {
            public: public_base_url.and_then(origin_of),
        }
    }

    /// The public base URL's origin, when configured.
    pub fn public(&self) -> Option<&str> {
        self.public.as_deref()
    }

    /// Whether a browser page of another origin (or site) sent this
    /// request. `uri` supplies the authority of HTTP/2 requests, which
    /// carry no `Host`.
    pub fn is_foreign(&self, headers: &HeaderMap, uri: &Uri) -> bool {
        if let Some(site) = headers.get("sec-fetch-site") {
            let site = site.to_str().unwrap_or_default();
            if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
                return true;
            }
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return false;
        };
        // "null" (sandboxed frames, file://) never parses, never matches.
        let Some(origin) = origin.to_str().ok().and_then(origin_of) else {
            return true;
        };
        if self.public.as_deref() == Some(origin.as_str()) {
            return false;
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| uri.authority().map(|a| a.to_string()));
        let (scheme, authority) = origin.split_once("://").unwrap_or_default();
        host.is_none_or(|h| without_default_port(scheme, &h.to_ascii_lowercase()) != authority)
    }

    /// 403 `forbidden_origin` when [`is_foreign`](Self::is_foreign).
    pub fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), ApiError> {
        if self.is_foreign(headers, uri) {
            return Err(ApiError::of(
                ErrorCode::ForbiddenOrigin,
                "this request must come from this site's own pages",
            ));
        }
        Ok(())
    }
}

/// `scheme://host[:port]` of a URL, lowercased, default port dropped: the
/// form browsers send in `Origin`. `None` for anything else.
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn foreign(allowed: &AllowedOrigin, pairs: &[(&'static str, &'static str)]) -> bool {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        allowed.is_foreign(&h, &Uri::from_static("/x"))
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
        let any = AllowedOrigin::new(None);
        let public = AllowedOrigin::new(Some("https://a.example/base"));
        assert!(!foreign(
            &any,
            &[
                ("host", "a.example:8080"),
                ("origin", "http://a.example:8080")
            ]
        ));
        assert!(!foreign(
            &public,
            &[("host", "backend:8080"), ("origin", "https://a.example")]
        ));
        assert!(foreign(
            &any,
            &[("host", "backend:8080"), ("origin", "https://a.example")]
        ));
        assert!(foreign(
            &public,
            &[("host", "a.example"), ("origin", "http://evil.example")]
        ));
        assert!(foreign(
            &any,
            &[("host", "a.example"), ("origin", "https://b.a.example")]
        ));
        assert!(foreign(&any, &[("host", "a.example"), ("origin", "null")]));
        assert!(foreign(
            &any,
            &[("host", "a.example"), ("sec-fetch-site", "cross-site")]
        ));
        assert!(foreign(
            &any,
            &[("host", "a.example"), ("sec-fetch-site", "same-site")]
        ));
        assert!(!foreign(
            &any,
            &[("host", "a.example"), ("sec-fetch-site", "same-origin")]
        ));
        assert!(!foreign(&any, &[("host", "a.example")]));
    }
}
