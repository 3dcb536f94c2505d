//! CAPTCHA verifiers behind one trait: the built-in proof of work (the
//! embedded default, no third party) and hCaptcha / Cloudflare Turnstile,
//! checked server-side through their siteverify APIs.

pub mod hcaptcha;
pub mod pow;
pub mod siteverify;
pub mod turnstile;

use async_trait::async_trait;
use queue::EventId;
use std::net::IpAddr;

/// What a verifier made of a solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A human (or someone who paid the work): let them join.
    Pass,
    /// Missing, wrong, forged, expired or replayed; the reason is a stable
    /// code for metrics and logs (never shown in detail to the client).
    Fail(&'static str),
    /// The provider could not be asked; the edge's fail-open setting
    /// decides.
    Unavailable(String),
}

/// Checks CAPTCHA solutions presented with a join.
#[async_trait]
pub trait CaptchaVerifier: Send + Sync + 'static {
    /// `pow`, `hcaptcha` or `turnstile`: tells the page what to run.
    fn provider(&self) -> &'static str;

    /// What the page needs to produce a solution: a fresh signed challenge
    /// for the proof of work, the site key for a widget.
    fn challenge(&self, event: &EventId) -> serde_json::Value;

    /// Checks `solution` (the join body's `captcha` field) from `client`.
    async fn verify(
        &self,
        event: &EventId,
        solution: &serde_json::Value,
        client: IpAddr,
    ) -> Verdict;

    /// Called once per join that needs a solution, so a verifier can adapt
    /// to load (the proof of work raises its difficulty).
    fn note_attempt(&self) {}
}

/// The token of a widget provider: the `captcha` field as a string, or
/// its `token` / `response` member.
pub(crate) fn widget_token(solution: &serde_json::Value) -> Option<&str> {
    let token = match solution {
        serde_json::Value::String(s) => Some(s.as_str()),
        serde_json::Value::Object(o) => o
            .get("token")
            .or_else(|| o.get("response"))
            .and_then(|v| v.as_str()),
        _ => None,
    }?;
    // Provider tokens are a few KiB at most; anything larger is not one.
    (!token.is_empty() && token.len() <= 8 * 1024).then_some(token)
}
