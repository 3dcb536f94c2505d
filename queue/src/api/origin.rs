//! Refusing browser requests from foreign origins where a cookie is the
//! credential (WebSocket upgrades, cookie-authenticated writes).
//!
//! `SameSite=Lax` cookies still travel with requests from a *same-site*
//! sibling (another subdomain of the same registrable domain), and browsers
//! attach cookies to WebSocket handshakes from any page. So the check is
//! same-origin, not same-site: the `Origin` must be this service's own.
//! Requests without `Origin` and without a cross-site `Sec-Fetch-Site` are
//! not from a browser page and pass (they authenticate by header).

use super::{ApiError, ErrorCode};
use axum::http::{header, HeaderMap};

/// The origins a request may come from.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigin {
    /// `scheme://host[:port]` of the public base URL, when configured;
    /// otherwise a request's `Origin` must name the host it was sent to.
    public: Option<String>,
}

impl AllowedOrigin {
    /// From the configured public base URL (any path is ignored).
    pub fn new(public_base_url: Option<&str>) -> Self {
        let public = public_base_url.and_then(|u| {
            let u = url::Url::parse(u).ok()?;
            Some(u.origin().ascii_serialization())
        });
        Self { public }
    }

    /// Whether a browser page of another origin sent this request.
    pub fn is_foreign(&self, headers: &HeaderMap) -> bool {
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        match origin {
            Some(origin) => !self.matches(origin, headers),
            None => headers
                .get("sec-fetch-site")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.eq_ignore_ascii_case("cross-site") || v.eq_ignore_ascii_case("same-site")
                }),
        }
    }

    fn matches(&self, origin: &str, headers: &HeaderMap) -> bool {
        if let Some(public) = &self.public {
            return origin.eq_ignore_ascii_case(public);
        }
        // "null" (sandboxed frames, file://) never matches.
        let Some((_, authority)) = origin.split_once("://") else {
            return false;
        };
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|host| authority.eq_ignore_ascii_case(host.trim()))
    }

    /// 403 `forbidden_origin` when [`is_foreign`](Self::is_foreign).
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.is_foreign(headers) {
            return Err(ApiError::of(
                ErrorCode::ForbiddenOrigin,
                "this request must come from this site's own pages",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn same_origin_passes_and_siblings_do_not() {
        let any = AllowedOrigin::new(None);
        assert!(!any.is_foreign(&h(&[
            ("host", "tix.example"),
            ("origin", "https://tix.example")
        ])));
        assert!(any.is_foreign(&h(&[
            ("host", "tix.example"),
            ("origin", "https://evil.tix.example")
        ])));
        assert!(any.is_foreign(&h(&[("host", "tix.example"), ("origin", "null")])));
        assert!(!any.is_foreign(&h(&[("host", "tix.example")])));
        assert!(any.is_foreign(&h(&[
            ("host", "tix.example"),
            ("sec-fetch-site", "same-site")
        ])));
        let public = AllowedOrigin::new(Some("https://tix.example/base"));
        assert!(!public.is_foreign(&h(&[
            ("host", "internal:8080"),
            ("origin", "https://tix.example")
        ])));
        assert!(public.is_foreign(&h(&[
            ("host", "tix.example"),
            ("origin", "http://tix.example")
        ])));
    }
}
