//! Security headers on every response: a strict Content-Security-Policy
//! (the pages load nothing inline and nothing foreign, except the CAPTCHA
//! provider's and Stripe's scripts and frames when those are configured;
//! a JSON answer, never a page, allows nothing at all), `nosniff`, a
//! referrer policy, no framing, and HSTS behind an https public URL.

use crate::config::Settings;
use crate::edge::settings::CaptchaProvider;
use axum::http::header::{self, Entry};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;

/// One year, the usual HSTS lifetime.
const HSTS: &str = "max-age=31536000";

/// The policy of an answer that is data, not a page (OWASP's for REST
/// APIs): should a browser ever render one, it may load and run nothing,
/// and nobody may frame it.
const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The headers, built once from the settings.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    /// The pages' policy.
    page_policy: HeaderValue,
    /// [`DATA_POLICY`].
    data_policy: HeaderValue,
    /// The rest, the same on every answer.
    fixed: Vec<(HeaderName, HeaderValue)>,
}

/// Extra origins one directive allows.
#[derive(Default)]
struct Sources {
    script: Vec<String>,
    style: Vec<String>,
    frame: Vec<String>,
    connect: Vec<String>,
}

impl Sources {
    fn add(&mut self, script: &[&str], style: &[&str], frame: &[&str], connect: &[&str]) {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        self.script.extend(own(script));
        self.style.extend(own(style));
        self.frame.extend(own(frame));
        self.connect.extend(own(connect));
    }
}

impl SecurityHeaders {
    /// The headers for `settings`.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let page_policy = HeaderValue::from_str(&content_security_policy(settings))?;
        let mut fixed = vec![
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            ),
            // For browsers older than `frame-ancestors`.
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ];
        if settings.secure_cookies() {
            fixed.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(HSTS),
            ));
        }
        Ok(Self {
            page_policy,
            data_policy: HeaderValue::from_static(DATA_POLICY),
            fixed,
        })
    }
}

/// Whether an answer is JSON (by its declared type).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"))
}

/// The policy: everything from this origin only, no plugins, no `<base>`,
/// forms post here, nobody frames us; the providers' origins are added only
/// when configured.
fn content_security_policy(settings: &Settings) -> String {
    let mut extra = Sources::default();
    match settings.edge.captcha_provider {
        CaptchaProvider::Pow => {}
        CaptchaProvider::Hcaptcha => {
            let h = ["https://hcaptcha.com", "https://*.hcaptcha.com"];
            extra.add(&h, &h, &h, &h);
        }
        CaptchaProvider::Turnstile => {
            let t = ["https://challenges.cloudflare.com"];
            extra.add(&t, &[], &t, &[]);
        }
    }
    if settings.stripe_publishable_key.is_some() || settings.stripe_secret_key.is_some() {
        extra.add(
            &["https://js.stripe.com"],
            &[],
            &["https://js.stripe.com", "https://hooks.stripe.com"],
            &["https://api.stripe.com"],
        );
    }
    // `'self'` covers same-origin WebSockets in current browsers; older
    // ones need the ws(s) origin spelled out, known when the URL is set.
    if let Some(base) = settings.public_base_url.as_deref() {
        let ws = base
            .strip_prefix("https://")
            .map(|h| format!("wss://{h}"))
            .or_else(|| base.strip_prefix("http://").map(|h| format!("ws://{h}")));
        if let Some(ws) = ws {
            let origin = ws
                .trim_end_matches('/')
                .split('/')
                .take(3)
                .collect::<Vec<_>>();
            extra.connect.push(origin.join("/"));
        }
    }
    let with = |own: &str, more: &[String]| {
        std::iter::once(own.to_owned())
            .chain(more.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    [
        "default-src 'self'".to_owned(),
        format!("script-src {}", with("'self'", &extra.script)),
        format!("style-src {}", with("'self'", &extra.style)),
        format!("frame-src {}", with("'self'", &extra.frame)),
        format!("connect-src {}", with("'self'", &extra.connect)),
        "img-src 'self' data:".to_owned(),
        "object-src 'none'".to_owned(),
        "base-uri 'none'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ]
    .join("; ")
}

impl SecurityHeaders {
    /// Adds the headers to a response that does not set its own.
    pub fn add(&self, resp: &mut Response) {
        let headers = resp.headers_mut();
        let policy = match is_json(headers) {
            true => &self.data_policy,
            false => &self.page_policy,
        };
        // One look-up per header (every answer gets them).
        let mut add = |name: &HeaderName, value: &HeaderValue| {
            if let Entry::Vacant(slot) = headers.entry(name) {
                slot.insert(value.clone());
            }
        };
        add(&header::CONTENT_SECURITY_POLICY, policy);
        for (name, value) in &self.fixed {
            add(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csp(tweak: impl FnOnce(&mut Settings)) -> String {
        let mut s = Settings::default();
        tweak(&mut s);
        content_security_policy(&s)
    }

    #[test]
    fn foreign_origins_only_when_configured() {
        let plain = csp(|_| {});
        assert!(!plain.contains("https://"), "{plain}");
        assert!(plain.contains("frame-ancestors 'none'"));
        assert!(!plain.contains("unsafe"), "{plain}");
        let turnstile = csp(|s| s.edge.captcha_provider = CaptchaProvider::Turnstile);
        assert!(turnstile.contains("script-src 'self' https://challenges.cloudflare.com"));
        assert!(!turnstile.contains("stripe"));
        let hcaptcha = csp(|s| s.edge.captcha_provider = CaptchaProvider::Hcaptcha);
        assert!(hcaptcha.contains("frame-src 'self' https://hcaptcha.com https://*.hcaptcha.com"));
        let stripe = csp(|s| s.stripe_publishable_key = Some("pk_test_1".into()));
        assert!(
            stripe.contains("script-src 'self' https://js.stripe.com;"),
            "{stripe}"
        );
        assert!(!stripe.contains("cloudflare"));
        let wss = csp(|s| s.public_base_url = Some("https://tickets.example/shop/".into()));
        assert!(
            wss.contains("connect-src 'self' wss://tickets.example;"),
            "{wss}"
        );
    }
}
