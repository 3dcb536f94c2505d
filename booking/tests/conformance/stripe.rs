//! Stripe: webhook signatures, and the whole flow against a local stand-in
//! for Stripe's API (`POST /v1/payment_intents`, `POST /v1/refunds`).

use crate::common::{Backend, TestApp};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use booking::webhook::{sign, verify_signature, SignatureError};
use booking::Secret;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const SECRET: &str = "whsec_test_secret";

#[test]
fn signatures() {
    let payload = br#"{"id":"evt_1"}"#;
    let now = 1_700_000_000;
    let header = sign(payload, SECRET, now);
    assert_eq!(verify_signature(payload, &header, SECRET, now, 300), Ok(()));
    assert_eq!(
        verify_signature(br#"{"id":"evt_2"}"#, &header, SECRET, now, 300),
        Err(SignatureError::Mismatch),
        "tampered body"
    );
    assert_eq!(
        verify_signature(payload, &header, "whsec_other", now, 300),
        Err(SignatureError::Mismatch),
        "wrong secret"
    );
    assert_eq!(
        verify_signature(payload, &header, SECRET, now + 301, 300),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        verify_signature(payload, &header, SECRET, now + 300, 300),
        Ok(())
    );
    // Several v1 signatures (secret rotation): any one may match.
    let good = header.split_once(",v1=").unwrap().1;
    let rotated = format!("t={now},v1={},v1={good},v0=abc", "00".repeat(32));
    assert_eq!(
        verify_signature(payload, &rotated, SECRET, now, 300),
        Ok(())
    );
    assert_eq!(
        verify_signature(payload, "v1=abc", SECRET, now, 300),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        verify_signature(payload, &format!("t={now}"), SECRET, now, 300),
        Err(SignatureError::Malformed)
    );
}

/// What the stand-in received: (path, idempotency key, form body).
type Calls = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

fn record(calls: &Calls, path: &str, headers: &HeaderMap, body: String) {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    calls.lock().unwrap().push((path.to_owned(), key, body));
}

fn form_value(body: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn stand_in() -> (String, Calls) {
    let (base, calls, _) = stand_in_with_outage().await;
    (base, calls)
}

/// The stand-in, and a switch that makes its refunds fail as an outage
/// would (Stripe's error shape, 500).
async fn stand_in_with_outage() -> (String, Calls, Arc<AtomicBool>) {
    let calls: Calls = Arc::default();
    let refunds_down = Arc::new(AtomicBool::new(false));
    let down = refunds_down.clone();
    let app = Router::new()
        .route(
            "/v1/payment_intents",
            post(|State(calls): State<Calls>, headers: HeaderMap, body: String| async move {
                record(&calls, "/v1/payment_intents", &headers, body.clone());
                let amount: i64 = form_value(&body, "amount").and_then(|a| a.parse().ok()).unwrap_or(0);
                let n = calls.lock().unwrap().len();
                Json(json!({
                    "id": format!("pi_test{n}"), "object": "payment_intent",
                    "amount": amount, "amount_capturable": 0, "amount_received": 0,
                    "capture_method": "automatic", "confirmation_method": "automatic",
                    "client_secret": format!("pi_test{n}_secret_abc"),
                    "created": 1_700_000_000, "currency": form_value(&body, "currency"),
                    "livemode": false, "metadata": {"order_id": form_value(&body, "metadata[order_id]")},
                    "payment_method_types": ["card"], "status": "requires_payment_method"
                }))
            }),
        )
        .route(
            "/v1/refunds",
            post(move |State(calls): State<Calls>, headers: HeaderMap, body: String| async move {
                record(&calls, "/v1/refunds", &headers, body.clone());
                if down.load(Ordering::SeqCst) {
                    let error = json!({"error": {"type": "api_error", "message": "outage"}});
                    return (StatusCode::INTERNAL_SERVER_ERROR, Json(error));
                }
                (StatusCode::OK, Json(json!({
                    "id": "re_test1", "object": "refund",
                    "amount": form_value(&body, "amount").and_then(|a| a.parse::<i64>().ok()),
                    "created": 1_700_000_000, "currency": "usd",
                    "payment_intent": form_value(&body, "payment_intent"),
                    "status": "succeeded", "metadata": {}
                })))
            }),
        )
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/"), calls, refunds_down)
}

async fn call(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn webhook(payload: &str, signature: &str) -> Request<Body> {
    Request::post("/api/v1/webhooks/stripe")
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(Body::from(payload.to_owned()))
        .unwrap()
}

fn event(id: &str, kind: &str, intent: &str) -> String {
    json!({"id": id, "object": "event", "type": kind,
        "data": {"object": {"id": intent, "object": "payment_intent"}}})
    .to_string()
}

/// Checkout creates a PaymentIntent (idempotently); signed webhooks
/// confirm; duplicates and out-of-order events are tolerated; bad
/// signatures are 400; cancellation refunds through Stripe.
async fn stripe_flow(backend: Backend) {
    let (base, calls) = stand_in().await;
    let app = TestApp::with(backend, |c| {
        c.stripe_secret_key = Some(Secret::new("sk_test_123"));
        c.stripe_publishable_key = Some("pk_test_123".to_owned());
        c.stripe_webhook_secret = Some(Secret::new(SECRET));
        c.stripe_api_base = Some(base);
    })
    .await;
    let router = booking::router(app.state.clone());
    let seat = app.seats().await[0].0;
    let fan = app.admit("demo");
    let hold = app.hold_seats(&fan.creds(), &[seat]).await.unwrap();
    let checkout = |email: &str| {
        Request::post(format!("/api/v1/holds/{}/checkout", hold.hold_id))
            .header("content-type", "application/json")
            .header("x-queue-token", &fan.queue_token)
            .body(Body::from(json!({"email": email}).to_string()))
            .unwrap()
    };
    let (status, body) = call(&router, checkout("fan@example.com")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["provider"], "stripe");
    assert_eq!(body["client_secret"], "pi_test1_secret_abc");
    assert_eq!(body["publishable_key"], "pk_test_123");
    let order_id = body["order_id"].as_str().unwrap().to_owned();
    let (_, again) = call(&router, checkout("fan@example.com")).await;
    assert_eq!(again["order_id"], body["order_id"]);
    {
        let calls = calls.lock().unwrap();
        assert_eq!(calls.len(), 1, "retried checkout reuses the PaymentIntent");
        let (_, key, form) = &calls[0];
        assert_eq!(
            key.as_deref(),
            Some(format!("pi_{}", body["payment_id"].as_str().unwrap()).as_str())
        );
        assert_eq!(form_value(form, "amount").as_deref(), Some("8900"));
        assert_eq!(form_value(form, "currency").as_deref(), Some("usd"));
        assert_eq!(
            form_value(form, "metadata[order_id]").as_deref(),
            Some(order_id.as_str())
        );
    }
    let now = chrono::Utc::now().timestamp();
    let ignored = event("evt_0", "customer.created", "cus_1");
    let (status, body) = call(
        &router,
        webhook(&ignored, &sign(ignored.as_bytes(), SECRET, now)),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    let paid = event("evt_1", "payment_intent.succeeded", "pi_test1");
    let good = sign(paid.as_bytes(), SECRET, now);
    let tampered = paid.replace("evt_1", "evt_9");
    for (payload, sig) in [
        (tampered.as_str(), good.clone()),
        (paid.as_str(), sign(paid.as_bytes(), "whsec_wrong", now)),
        (paid.as_str(), sign(paid.as_bytes(), SECRET, now - 301)),
        (paid.as_str(), "garbage".to_owned()),
    ] {
        let (status, body) = call(&router, webhook(payload, &sig)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(
        app.state
            .db
            .orders()
            .order(&order_id)
            .await
            .unwrap()
            .unwrap()
            .order
            .status,
        "pending"
    );
    let (status, body) = call(&router, webhook(&paid, &good)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("handled")),
        "{body}"
    );
    let (status, body) = call(&router, webhook(&paid, &good)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    let failed = event("evt_2", "payment_intent.payment_failed", "pi_test1");
    let (status, _) = call(
        &router,
        webhook(&failed, &sign(failed.as_bytes(), SECRET, now)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let order = app
        .state
        .db
        .orders()
        .order(&order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        order.order.status, "confirmed",
        "a late failure does not undo a success"
    );
    assert_eq!(app.seats().await[0].1, "sold");
    let cancel = Request::post(format!("/api/v1/orders/{order_id}/cancel"))
        .header("x-queue-token", &fan.queue_token)
        .body(Body::empty())
        .unwrap();
    let (status, body) = call(&router, cancel).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{body}"
    );
    {
        let calls = calls.lock().unwrap();
        let (path, key, form) = &calls[1];
        assert_eq!(path, "/v1/refunds");
        assert_eq!(key.as_deref(), Some(format!("refund_{order_id}").as_str()));
        assert_eq!(
            form_value(form, "payment_intent").as_deref(),
            Some("pi_test1")
        );
        assert_eq!(form_value(form, "amount").as_deref(), Some("8900"));
    }
    assert_eq!(app.seats().await[0].1, "available");
    app.cleanup().await;
}

/// Stripe is down for refunds while the organiser cancels: the paid order
/// stays owed, the cancellation says so, and the refund worker pays it
/// (once, with the reason in the buyer's email) when Stripe is back.
async fn failed_refunds_of_a_cancelled_event_are_retried(backend: Backend) {
    let (base, calls, refunds_down) = stand_in_with_outage().await;
    let app = TestApp::with(backend, |c| {
        c.stripe_secret_key = Some(Secret::new("sk_test_123"));
        c.stripe_webhook_secret = Some(Secret::new(SECRET));
        c.stripe_api_base = Some(base);
    })
    .await;
    let seat = app.seats().await[0].0;
    let fan = app.admit("demo");
    let (_, checkout) = crate::payments::hold_and_checkout(&app, &fan, &[seat]).await;
    let payment = crate::payments::payment_of(&app, &checkout.order_id).await;
    app.state.payment_succeeded(&payment, None).await.unwrap();

    refunds_down.store(true, Ordering::SeqCst);
    let report = app.state.cancel_event("demo", "Power cut").await.unwrap();
    assert_eq!(report.refund_failed, vec![checkout.order_id.clone()]);
    assert_eq!(report.refunded, 0);
    let status = crate::payments::status(&app, &checkout.order_id).await;
    assert_eq!(status, "confirmed", "still paid, still owed");
    assert_eq!(app.state.retry_refunds().await.unwrap(), 0, "still down");

    refunds_down.store(false, Ordering::SeqCst);
    assert_eq!(app.state.retry_refunds().await.unwrap(), 1);
    let status = crate::payments::status(&app, &checkout.order_id).await;
    assert_eq!(status, "cancelled");
    assert_eq!(app.state.retry_refunds().await.unwrap(), 0, "nothing owed");
    let keys: Vec<_> = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|(path, _, _)| path == "/v1/refunds")
        .map(|(_, key, _)| key.clone())
        .collect();
    let key = Some(format!("refund_{}", checkout.order_id));
    assert_eq!(
        keys,
        vec![key.clone(), key.clone(), key],
        "one idempotency key throughout"
    );
    let notices = app.queued_emails("event_cancelled").await;
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].body_text.contains("Power cut"),
        "{}",
        notices[0].body_text
    );
    app.cleanup().await;
}

crate::per_backend!(stripe_flow, failed_refunds_of_a_cancelled_event_are_retried);
