//! `/metrics` on its own listener when `metrics_listen` is set: scrapes and
//! fans never share a port, and the figures are not public.

use crate::helpers::*;

#[tokio::test]
async fn metrics_move_to_their_own_listener() {
    // A free port for the metrics listener (the server binds it itself).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let app = spawn_with(move |s| s.metrics_listen = Some(([127, 0, 0, 1], port).into())).await;
    let public = app.http.get(app.url("/metrics")).send().await.expect("get");
    assert_eq!(public.status(), 404, "not on the public listener");
    let internal = app
        .http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics listener answers");
    assert_eq!(internal.status(), 200);
    let text = internal.text().await.expect("text");
    assert!(text.contains("waitroom_http_requests_total"), "{text}");
}

/// The value of one exact series (`name{labels}`) in a scrape, 0 if absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn booking_outcomes_are_on_the_dashboard_from_the_start() {
    let app = spawn_app().await;
    let before = app.metrics_text().await;
    for (name, _) in booking::metrics::METRICS {
        assert!(
            before.contains(name),
            "{name} is missing before any sale:\n{before}"
        );
    }
    assert!(
        before.contains(r#"waitroom_holds_total{outcome="placed"}"#),
        "{before}"
    );

    // A hold without an admission token, and a webhook nobody signed: each
    // is counted under the code it was refused with.
    let hold = app
        .http
        .post(app.url("/api/v1/events/demo/holds"))
        .json(&serde_json::json!({ "quantity": 1 }))
        .send()
        .await
        .expect("hold");
    assert_eq!(hold.status(), 401);
    let webhook = app
        .http
        .post(app.url("/api/v1/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .expect("webhook");
    assert!(webhook.status().is_client_error(), "{}", webhook.status());
    let code = webhook.json::<serde_json::Value>().await.expect("json")["error"]["code"]
        .as_str()
        .expect("code")
        .to_owned();

    let after = app.metrics_text().await;
    let refused = r#"waitroom_holds_total{outcome="admission_required"}"#;
    assert!(
        sample(&after, refused) >= sample(&before, refused) + 1.0,
        "{after}"
    );
    let webhooks = format!(r#"waitroom_webhooks_total{{outcome="{code}"}}"#);
    assert!(
        sample(&after, &webhooks) >= sample(&before, &webhooks) + 1.0,
        "{after}"
    );
}

/// Each request counts once in its series, and a method outside the
/// standard ones is labelled `other`: a client cannot mint series by
/// sending made-up methods.
#[tokio::test]
async fn request_series_count_every_request_and_bound_their_methods() {
    let app = spawn_app().await;
    let brew = reqwest::Method::from_bytes(b"BREW").expect("method");
    let url = app.url("/nowhere/to/be/found");
    let status = app
        .http
        .request(brew.clone(), &url)
        .send()
        .await
        .expect("brew")
        .status();
    let series = format!(
        "waitroom_http_requests_total{{route=\"unmatched\",method=\"other\",status=\"{}\"}}",
        status.as_str()
    );
    let count = |text: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let before = count(&app.metrics_text().await);
    assert!(before >= 1.0, "the first request is counted");
    for _ in 0..3 {
        app.http
            .request(brew.clone(), &url)
            .send()
            .await
            .expect("brew");
    }
    let text = app.metrics_text().await;
    assert!(count(&text) >= before + 3.0, "{series} in\n{text}");
    assert!(!text.contains("method=\"BREW\""), "{text}");
}
