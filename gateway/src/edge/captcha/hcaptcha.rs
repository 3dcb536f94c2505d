//! hCaptcha: the page renders hCaptcha's widget with our site key and
//! sends its token; we confirm it at hCaptcha's siteverify.

use super::siteverify::{SiteVerify, SiteVerifyConfig};
use crate::config::Secret;
use std::time::Duration;

/// hCaptcha's siteverify endpoint.
pub const SITEVERIFY_URL: &str = "https://api.hcaptcha.com/siteverify";

/// A verifier for hCaptcha; `url` overrides the endpoint (tests).
pub fn verifier(
    secret: Secret,
    site_key: Option<String>,
    url: Option<String>,
    hostnames: Vec<String>,
    timeout: Duration,
) -> anyhow::Result<SiteVerify> {
    SiteVerify::new(SiteVerifyConfig {
        provider: "hcaptcha",
        url: url.unwrap_or_else(|| SITEVERIFY_URL.to_owned()),
        secret,
        site_key,
        // hCaptcha checks that the token was made for this site key.
        send_site_key: true,
        hostnames,
        timeout,
    })
}
