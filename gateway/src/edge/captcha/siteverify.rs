//! Server-side verification against a widget provider's siteverify API
//! (hCaptcha and Turnstile speak the same protocol): POST a form with our
//! secret, the page's token and the client's IP; the answer says
//! `success`, the `hostname` the widget ran on, and `error-codes`.

use super::{widget_token, CaptchaVerifier, Verdict};
use crate::config::Secret;
use async_trait::async_trait;
use queue::EventId;
use serde::Deserialize;
use std::net::IpAddr;
use std::time::Duration;

/// A siteverify client for one provider.
pub struct SiteVerify {
    provider: &'static str,
    url: String,
    secret: Secret,
    site_key: Option<String>,
    /// hCaptcha wants the site key in the request too; Turnstile does not.
    send_site_key: bool,
    hostnames: Vec<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for SiteVerify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteVerify")
            .field("provider", &self.provider)
            .field("url", &self.url)
            .field("hostnames", &self.hostnames)
            .finish_non_exhaustive()
    }
}

/// What a provider answers (fields we do not use are ignored).
#[derive(Debug, Deserialize)]
struct Answer {
    success: bool,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
}

/// How to reach a provider.
#[derive(Debug, Clone)]
pub struct SiteVerifyConfig {
    /// `hcaptcha` or `turnstile`.
    pub provider: &'static str,
    /// The siteverify endpoint.
    pub url: String,
    /// Our secret key there.
    pub secret: Secret,
    /// The public site key (handed to the page).
    pub site_key: Option<String>,
    /// Whether the request carries `sitekey`.
    pub send_site_key: bool,
    /// Hostnames the answer must name; empty = not checked.
    pub hostnames: Vec<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl SiteVerify {
    /// A client for `config`.
    pub fn new(config: SiteVerifyConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()?;
        Ok(Self {
            provider: config.provider,
            url: config.url,
            secret: config.secret,
            site_key: config.site_key,
            send_site_key: config.send_site_key,
            hostnames: config.hostnames,
            http,
        })
    }

    async fn ask(&self, token: &str, client: IpAddr) -> Result<Answer, String> {
        let ip = client.to_string();
        let mut form = vec![
            ("secret", self.secret.expose()),
            ("response", token),
            ("remoteip", ip.as_str()),
        ];
        if let (true, Some(key)) = (self.send_site_key, &self.site_key) {
            form.push(("sitekey", key.as_str()));
        }
        let resp = self
            .http
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("{} siteverify: {e}", self.provider))?;
        let status = resp.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(format!("{} siteverify answered {status}", self.provider));
        }
        resp.json::<Answer>()
            .await
            .map_err(|e| format!("{} siteverify: unreadable answer: {e}", self.provider))
    }
}

#[async_trait]
impl CaptchaVerifier for SiteVerify {
    fn provider(&self) -> &'static str {
        self.provider
    }

    fn challenge(&self, _: &EventId) -> serde_json::Value {
        serde_json::json!({ "provider": self.provider, "site_key": self.site_key })
    }

    async fn verify(&self, _: &EventId, solution: &serde_json::Value, client: IpAddr) -> Verdict {
        let Some(token) = widget_token(solution) else {
            return Verdict::Fail("malformed");
        };
        let started = std::time::Instant::now();
        let answer = self.ask(token, client).await;
        metrics::histogram!("waitroom_captcha_siteverify_seconds", "provider" => self.provider)
            .record(started.elapsed().as_secs_f64());
        match answer {
            Err(e) => Verdict::Unavailable(e),
            Ok(a) if !a.success => {
                tracing::debug!(provider = self.provider, codes = ?a.error_codes, "captcha refused");
                Verdict::Fail("refused_by_provider")
            }
            Ok(a) => {
                let host_ok = self.hostnames.is_empty()
                    || a.hostname
                        .as_deref()
                        .is_some_and(|h| self.hostnames.iter().any(|x| x.eq_ignore_ascii_case(h)));
                if host_ok {
                    Verdict::Pass
                } else {
                    Verdict::Fail("wrong_hostname")
                }
            }
        }
    }
}
