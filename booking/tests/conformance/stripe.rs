//! Stripe: webhook signatures, and the whole flow against the local
//! stand-in for Stripe's API (`stand_in.rs`); helpers the other Stripe
//! tests share.

use crate::common::{Backend, Fan, TestApp};
use crate::stand_in::StandIn;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use booking::webhook::{sign, verify_signature, SignatureError};
use booking::Secret;
use serde_json::{json, Value};
use tower::ServiceExt;

pub const SECRET: &str = "whsec_test_secret";

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

/// A booking service paying through the stand-in.
pub async fn stripe_app(backend: Backend, stripe: &StandIn) -> TestApp {
    stripe_app_with(backend, stripe, |_| {}).await
}

pub async fn stripe_app_with(
    backend: Backend,
    stripe: &StandIn,
    tweak: impl FnOnce(&mut booking::BookingConfig),
) -> TestApp {
    let base = stripe.base.clone();
    TestApp::with(backend, |c| {
        c.stripe_secret_key = Some(Secret::new("sk_test_123"));
        c.stripe_publishable_key = Some("pk_test_123".to_owned());
        c.stripe_webhook_secret = Some(Secret::new(SECRET));
        c.stripe_api_base = Some(base);
        tweak(c);
    })
    .await
}

pub async fn call(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = call_with_headers(router, req).await;
    (status, body)
}

pub async fn call_with_headers(
    router: &Router,
    req: Request<Body>,
) -> (StatusCode, HeaderMap, Value) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub fn webhook(payload: &str, signature: &str) -> Request<Body> {
    Request::post("/api/v1/webhooks/stripe")
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(Body::from(payload.to_owned()))
        .unwrap()
}

/// Delivers a complete Stripe Event, signed now; answers status and body.
pub async fn deliver(router: &Router, event: &Value) -> (StatusCode, Value) {
    let payload = event.to_string();
    let sig = sign(payload.as_bytes(), SECRET, chrono::Utc::now().timestamp());
    call(router, webhook(&payload, &sig)).await
}

/// `POST /holds/{hold}/checkout` as `fan`.
pub fn checkout_request(hold: &str, fan: &Fan) -> Request<Body> {
    Request::post(format!("/api/v1/holds/{hold}/checkout"))
        .header("content-type", "application/json")
        .header("x-queue-token", &fan.queue_token)
        .body(Body::from(json!({"email": "fan@example.com"}).to_string()))
        .unwrap()
}

/// `POST /orders/{order}/cancel` as `fan`.
pub fn cancel_request(order: &str, fan: &Fan) -> Request<Body> {
    Request::post(format!("/api/v1/orders/{order}/cancel"))
        .header("x-queue-token", &fan.queue_token)
        .body(Body::empty())
        .unwrap()
}

fn event_of(id: &str, kind: &str, intent: &str) -> String {
    crate::stand_in::event(id, kind, json!({"id": intent, "object": "payment_intent"})).to_string()
}

/// Checkout creates a PaymentIntent (idempotently); signed webhooks
/// confirm; duplicates and out-of-order events are tolerated; bad
/// signatures are 400; cancellation refunds through Stripe.
async fn stripe_flow(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app(backend, &stripe).await;
    let router = booking::router(app.state.clone());
    let seat = app.seats().await[0].0;
    let fan = app.admit("demo");
    let hold = app.hold_seats(&fan.creds(), &[seat]).await.unwrap();
    let (status, body) = call(&router, checkout_request(&hold.hold_id, &fan)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["provider"], "stripe");
    let pi = stripe.calls("/v1/payment_intents").len();
    assert_eq!(pi, 1);
    let intent_id = crate::payments::payment_of(&app, body["order_id"].as_str().unwrap())
        .await
        .provider_ref
        .unwrap();
    assert_eq!(
        body["client_secret"],
        stripe.intent(&intent_id)["client_secret"]
    );
    assert_eq!(body["publishable_key"], "pk_test_123");
    let order_id = body["order_id"].as_str().unwrap().to_owned();
    let (_, again) = call(&router, checkout_request(&hold.hold_id, &fan)).await;
    assert_eq!(again["order_id"], body["order_id"]);
    {
        let calls = stripe.calls("/v1/payment_intents");
        assert_eq!(calls.len(), 1, "retried checkout reuses the PaymentIntent");
        let c = &calls[0];
        assert_eq!(
            c.idempotency_key.as_deref(),
            Some(format!("pi_{}", body["payment_id"].as_str().unwrap()).as_str())
        );
        assert_eq!(
            c.stripe_version.as_deref(),
            Some(booking::payment::stripe_api::STRIPE_VERSION)
        );
        assert_eq!(c.field("amount"), Some("8900"));
        assert_eq!(c.field("currency"), Some("usd"));
        assert_eq!(c.field("payment_method_types[0]"), Some("card"));
        assert_eq!(c.field("metadata[order_id]"), Some(order_id.as_str()));
    }
    let now = chrono::Utc::now().timestamp();
    let ignored = event_of("evt_0", "customer.created", "cus_1");
    let (status, body) = call(
        &router,
        webhook(&ignored, &sign(ignored.as_bytes(), SECRET, now)),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    let paid = stripe.confirm(&intent_id, "4242424242424242").to_string();
    let good = sign(paid.as_bytes(), SECRET, now);
    let tampered = paid.replace("\"succeeded\"", "\"canceled\"");
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
        app.db
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
    let failed = event_of("evt_late_2", "payment_intent.payment_failed", &intent_id);
    let (status, _) = call(
        &router,
        webhook(&failed, &sign(failed.as_bytes(), SECRET, now)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let order = app.db.orders().order(&order_id).await.unwrap().unwrap();
    assert_eq!(
        order.order.status, "confirmed",
        "a late failure does not undo a success"
    );
    assert_eq!(app.seats().await[0].1, "sold");
    let (status, body) = call(&router, cancel_request(&order_id, &fan)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{body}"
    );
    {
        let calls = stripe.calls("/v1/refunds");
        let c = &calls[0];
        assert_eq!(
            c.idempotency_key.as_deref(),
            Some(format!("refund_{order_id}").as_str())
        );
        assert_eq!(c.field("payment_intent"), Some(intent_id.as_str()));
        assert_eq!(c.field("amount"), Some("8900"));
    }
    let payment = crate::payments::payment_of(&app, &order_id).await;
    assert!(payment.create_request_id.is_some() && payment.refund_request_id.is_some());
    assert_eq!(app.seats().await[0].1, "available");
    app.cleanup().await;
}

/// Stripe is down for refunds while the organiser cancels: the paid order
/// stays owed, the cancellation says so, and the refund worker pays it
/// (once, with the reason in the buyer's email) when Stripe is back.
async fn failed_refunds_of_a_cancelled_event_are_retried(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app(backend, &stripe).await;
    let seat = app.seats().await[0].0;
    let fan = app.admit("demo");
    let (_, checkout) = crate::payments::hold_and_checkout(&app, &fan, &[seat]).await;
    let payment = crate::payments::payment_of(&app, &checkout.order_id).await;
    let router = booking::router(app.state.clone());
    let paid = stripe.confirm(payment.provider_ref.as_deref().unwrap(), "4242424242424242");
    assert_eq!(deliver(&router, &paid).await.0, StatusCode::OK);

    stripe.inner.lock().unwrap().refunds_down = true;
    let report = app
        .state
        .sales()
        .cancel_event("demo", "Power cut")
        .await
        .unwrap();
    assert_eq!(report.refund_failed, vec![checkout.order_id.clone()]);
    assert_eq!(report.refunded, 0);
    let status = crate::payments::status(&app, &checkout.order_id).await;
    assert_eq!(status, "confirmed", "still paid, still owed");
    assert_eq!(
        app.state.sales().retry_refunds().await.unwrap(),
        0,
        "still down"
    );

    stripe.inner.lock().unwrap().refunds_down = false;
    assert_eq!(app.state.sales().retry_refunds().await.unwrap(), 1);
    let status = crate::payments::status(&app, &checkout.order_id).await;
    assert_eq!(status, "cancelled");
    assert_eq!(
        app.state.sales().retry_refunds().await.unwrap(),
        0,
        "nothing owed"
    );
    let keys: Vec<_> = stripe
        .calls("/v1/refunds")
        .into_iter()
        .map(|c| c.idempotency_key)
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
