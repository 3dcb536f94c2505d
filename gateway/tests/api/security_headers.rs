//! Security headers on pages and API answers, HSTS only behind https, and
//! the static file service keeping to the pages.

use crate::helpers::*;

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The headers every answer carries, page or data.
fn assert_common(r: &reqwest::Response, path: &str) {
    assert_eq!(
        header(r, "x-content-type-options"),
        Some("nosniff"),
        "{path}"
    );
    assert_eq!(
        header(r, "referrer-policy"),
        Some("strict-origin-when-cross-origin"),
        "{path}"
    );
    assert_eq!(header(r, "x-frame-options"), Some("DENY"), "{path}");
    assert_eq!(header(r, "strict-transport-security"), None, "{path}");
}

#[tokio::test]
async fn pages_and_api_answers_carry_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/queue/demo",
        "/events/demo/book",
        "/checkout.html",
        "/admin.html",
        "/queue.js",
    ] {
        let r = app.http.get(app.url(path)).send().await.expect(path);
        let csp = header(&r, "content-security-policy").unwrap_or_default();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                csp.contains(directive),
                "{path}: {directive} missing in {csp:?}"
            );
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_common(&r, path);
    }
    // JSON is never a page: rendered by mistake, it may load nothing.
    for path in [
        "/healthz",
        "/api/v1/queue/nope/status",
        "/api/v1/no-such-route",
    ] {
        let r = app.http.get(app.url(path)).send().await.expect(path);
        assert!(
            header(&r, "content-type").is_some_and(|t| t.starts_with("application/json")),
            "{path}"
        );
        assert_eq!(
            header(&r, "content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{path}"
        );
        assert_common(&r, path);
    }
    // No foreign origin is allowed when no provider is configured.
    let r = app
        .http
        .get(app.url("/queue/demo"))
        .send()
        .await
        .expect("page");
    let csp = header(&r, "content-security-policy").unwrap_or_default();
    assert!(!csp.contains("https://"), "{csp}");
}

#[tokio::test]
async fn hsts_only_behind_an_https_public_url_and_providers_only_when_configured() {
    let app = spawn_with(|s| {
        s.public_base_url = Some("https://tickets.example".into());
        s.stripe_publishable_key = Some("pk_test_123".into());
    })
    .await;
    for path in ["/queue/demo", "/healthz"] {
        let r = app.http.get(app.url(path)).send().await.expect(path);
        let hsts = header(&r, "strict-transport-security").unwrap_or_default();
        assert!(hsts.starts_with("max-age="), "{path}: {hsts:?}");
    }
    for path in ["/queue/demo", "/checkout.html"] {
        let r = app.http.get(app.url(path)).send().await.expect(path);
        let csp = header(&r, "content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self' https://js.stripe.com"),
            "{csp}"
        );
        assert!(csp.contains("wss://tickets.example"), "{csp}");
        assert!(
            !csp.contains("hcaptcha") && !csp.contains("cloudflare"),
            "{csp}"
        );
    }
    let http = spawn_with(|s| s.public_base_url = Some("http://tickets.example".into())).await;
    let r = http
        .http
        .get(http.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(header(&r, "strict-transport-security"), None);
}

#[tokio::test]
async fn the_browser_tests_are_not_served() {
    let app = spawn_app().await;
    for path in [
        "/tests/harness.mjs",
        "/tests/package.json",
        "/tests%2Fharness.mjs",
        "/tests%2fharness.mjs",
        "/%74ests/harness.mjs",
        "/%74ests%2Fharness.mjs",
        "/tests/",
        "/.gitignore",
        "/vendor/%2E%2E%2Ftests%2Fpackage.json",
        "/vendor/tests/package.json",
        "/vendor/.hidden",
    ] {
        let r = app.http.get(app.url(path)).send().await.expect(path);
        assert_eq!(r.status(), 404, "{path}");
    }
    // The pages themselves still are.
    for path in [
        "/",
        "/index.html",
        "/queue.js",
        "/style.css",
        "/vendor/jsQR.js",
    ] {
        let r = app.http.get(app.url(path)).send().await.expect(path);
        assert_eq!(r.status(), 200, "{path}");
    }
}
