//! Cloudflare Turnstile: the page renders the Turnstile widget with our
//! site key and sends its token; we confirm it at Cloudflare's siteverify.

use super::siteverify::{SiteVerify, SiteVerifyConfig};
use crate::config::Secret;
use std::time::Duration;

/// Turnstile's siteverify endpoint.
pub const SITEVERIFY_URL: &str = "https://challenges.cloudflare.com/turnstile/v0/siteverify";

/// A verifier for Turnstile; `url` overrides the endpoint (tests).
pub fn verifier(
    secret: Secret,
    site_key: Option<String>,
    url: Option<String>,
    hostnames: Vec<String>,
    timeout: Duration,
) -> anyhow::Result<SiteVerify> {
    SiteVerify::new(SiteVerifyConfig {
        provider: "turnstile",
        url: url.unwrap_or_else(|| SITEVERIFY_URL.to_owned()),
        secret,
        site_key,
        send_site_key: false,
        hostnames,
        timeout,
    })
}
