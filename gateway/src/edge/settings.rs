//! The edge's part of the configuration: trusted proxies, rate limits per
//! route class, the CAPTCHA provider and the proof-of-work knobs.
//!
//! Flattened into [`crate::config::Settings`], so every key is a top-level
//! setting: `trusted_proxies` / `WAITROOM_TRUSTED_PROXIES`,
//! `rate_limits.join.per_ip_per_minute` /
//! `WAITROOM_RATE_LIMITS__JOIN__PER_IP_PER_MINUTE`, `pow_difficulty` /
//! `WAITROOM_POW_DIFFICULTY`, and so on.

use crate::config::Secret;
use serde::{Deserialize, Serialize};

/// Everything the edge can be told.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EdgeSettings {
    /// Comma-separated CIDRs of reverse proxies whose forwarding header
    /// (`forwarded_header`) is believed. Empty (the default) = nobody's:
    /// the socket's peer is the client.
    pub trusted_proxies: String,
    /// The one forwarding header those proxies write: `x-forwarded-for`
    /// (default), `forwarded` or `x-real-ip`. No other is read.
    pub forwarded_header: super::client_ip::ForwardedHeader,
    /// Per-route-class rate limits (per process).
    pub rate_limits: RateLimitSettings,
    /// Which CAPTCHA the edge checks when an event asks for one.
    pub captcha_provider: CaptchaProvider,
    /// hCaptcha / Turnstile secret key (server side).
    pub captcha_secret: Option<Secret>,
    /// hCaptcha / Turnstile site key, handed to the page.
    pub captcha_site_key: Option<String>,
    /// The provider's siteverify URL; unset = the provider's own. Tests
    /// point it at a local stand-in.
    pub captcha_verify_url: Option<String>,
    /// Comma-separated hostnames a provider's answer must name (the site
    /// the widget was solved on); empty = not checked.
    pub captcha_hostnames: String,
    /// How long to wait for the provider's siteverify.
    pub captcha_timeout_ms: u64,
    /// When the provider is unreachable: `true` lets joins through
    /// (availability first), `false` refuses them with 503 (bots first).
    pub captcha_fail_open: bool,
    /// Leading zero bits of the built-in proof of work at normal load.
    pub pow_difficulty: u8,
    /// Ceiling for the automatic rise under load.
    pub pow_max_difficulty: u8,
    /// Join attempts per second (this process) above which the difficulty
    /// rises by one bit per doubling; 0 = never rises.
    pub pow_surge_joins_per_second: u32,
    /// How long an issued challenge may be solved and used.
    pub pow_ttl_seconds: u64,
    /// How long a place counts against its IP's (or account's) cap.
    pub place_window_seconds: u64,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: String::new(),
            forwarded_header: super::client_ip::ForwardedHeader::default(),
            rate_limits: RateLimitSettings::default(),
            captcha_provider: CaptchaProvider::Pow,
            captcha_secret: None,
            captcha_site_key: None,
            captcha_verify_url: None,
            captcha_hostnames: String::new(),
            captcha_timeout_ms: 3_000,
            captcha_fail_open: false,
            // About 260,000 hashes on average: about 0.2 s in a laptop's
            // browser, under a second on a mid-range phone (docs/benchmarks.md).
            pow_difficulty: 18,
            pow_max_difficulty: 22,
            pow_surge_joins_per_second: 200,
            pow_ttl_seconds: 300,
            place_window_seconds: 86_400,
        }
    }
}

/// Which CAPTCHA verifier the edge uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CaptchaProvider {
    /// Built-in proof of work: no third party, nothing to sign up for.
    #[default]
    Pow,
    /// hCaptcha, verified server-side through its siteverify API.
    Hcaptcha,
    /// Cloudflare Turnstile, verified server-side through its siteverify API.
    Turnstile,
}

/// Rate limits, one budget per route class; each budget applies per client
/// IP (IPv6: per /64) and per visitor, in each process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RateLimitSettings {
    /// Off = no rate limits at all (benchmarks that come from one address).
    pub enabled: bool,
    /// Keys kept per limiter before an early eviction pass runs.
    pub max_keys: usize,
    /// `POST /api/v1/queue/{event}/join`.
    pub join: RouteLimit,
    /// `GET /api/v1/queue/{event}/status` (polling).
    pub status: RouteLimit,
    /// `GET /api/v1/queue/{event}/ws` (WebSocket connects).
    pub ws: RouteLimit,
    /// `GET /api/v1/queue/{event}/challenge`.
    pub challenge: RouteLimit,
    /// `POST /api/v1/events/{event}/holds`.
    pub hold: RouteLimit,
    /// `POST /api/v1/holds/{hold}/checkout`.
    pub checkout: RouteLimit,
    /// `POST /api/v1/auth/login`.
    pub login: RouteLimit,
    /// `POST /api/v1/auth/register`.
    pub register: RouteLimit,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        // Per-IP budgets are generous because whole offices, campuses and
        // mobile carriers share one address; per-visitor budgets are tight
        // because one page never needs more.
        Self {
            enabled: true,
            max_keys: 100_000,
            join: RouteLimit::new(30, 20, 20, 10),
            status: RouteLimit::new(600, 120, 60, 20),
            ws: RouteLimit::new(120, 60, 30, 10),
            challenge: RouteLimit::new(60, 30, 0, 0),
            hold: RouteLimit::new(120, 30, 30, 10),
            checkout: RouteLimit::new(60, 20, 10, 5),
            login: RouteLimit::new(20, 10, 0, 0),
            register: RouteLimit::new(10, 5, 0, 0),
        }
    }
}

/// One route class's budget. A rate of 0 switches that key off.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RouteLimit {
    /// Sustained requests per minute from one IP (IPv6 /64).
    pub per_ip_per_minute: u32,
    /// Requests one IP may make at once before the rate applies.
    pub ip_burst: u32,
    /// Sustained requests per minute from one visitor credential.
    pub per_visitor_per_minute: u32,
    /// Requests one visitor may make at once.
    pub visitor_burst: u32,
}

impl RouteLimit {
    /// A budget; see the fields.
    pub const fn new(ip_rate: u32, ip_burst: u32, visitor_rate: u32, visitor_burst: u32) -> Self {
        Self {
            per_ip_per_minute: ip_rate,
            ip_burst,
            per_visitor_per_minute: visitor_rate,
            visitor_burst,
        }
    }
}

impl Default for RouteLimit {
    fn default() -> Self {
        Self::new(0, 0, 0, 0)
    }
}

impl EdgeSettings {
    /// `captcha_hostnames` as a list.
    pub fn hostnames(&self) -> Vec<String> {
        split_list(&self.captcha_hostnames)
    }
}

/// Splits a comma-separated setting, dropping blanks.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::edge::settings::CaptchaProvider;

    #[test]
    // figment's Jail closure returns figment's (large) error type.
    #[allow(clippy::result_large_err)]
    fn edge_settings_come_from_flat_and_nested_environment_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WAITROOM_TRUSTED_PROXIES", "10.0.0.0/8,192.168.0.1");
            jail.set_env("WAITROOM_POW_DIFFICULTY", "8");
            jail.set_env("WAITROOM_RATE_LIMITS__ENABLED", "false");
            jail.set_env("WAITROOM_RATE_LIMITS__JOIN__PER_IP_PER_MINUTE", "5");
            jail.set_env("CAPTCHA_PROVIDER", "turnstile");
            jail.set_env("CAPTCHA_SECRET", "s3cret");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.edge.trusted_proxies, "10.0.0.0/8,192.168.0.1");
            assert_eq!(s.edge.pow_difficulty, 8);
            assert!(!s.edge.rate_limits.enabled);
            assert_eq!(s.edge.rate_limits.join.per_ip_per_minute, 5);
            // The rest of the class keeps its default.
            assert_eq!(s.edge.rate_limits.join.ip_burst, 20);
            assert_eq!(s.edge.captcha_provider, CaptchaProvider::Turnstile);
            assert!(!format!("{s:?}").contains("s3cret"));
            Ok(())
        });
    }
}
