//! Payments the way Stripe models them, against the stand-in's complete
//! objects: a decline is a retryable attempt, orders that end unpaid cancel
//! their PaymentIntent, Stripe's errors map to 402/502/503, a double click
//! makes one PaymentIntent. Refunds and disputes: `stripe_refunds.rs`.

use crate::common::{Backend, Fan, TestApp};
use crate::payments::{payment_of, status};
use crate::stand_in::{error, StandIn};
use crate::stripe::{
    call, call_with_headers, cancel_request, checkout_request, deliver, stripe_app, stripe_app_with,
};
use axum::http::StatusCode;
use axum::Router;
use serde_json::{json, Value};

pub const GOOD: &str = "4242424242424242";
const DECLINED: &str = "4000000000000002";
const NO_FUNDS: &str = "4000000000009995";

/// A fan holding the first demo seat, checked out through HTTP.
pub struct Checkout {
    pub fan: Fan,
    pub seat: i64,
    pub hold: String,
    pub order: String,
    pub intent: String,
    pub body: Value,
}

pub async fn checkout(app: &TestApp, router: &Router) -> Checkout {
    checkout_seat(app, router, 0).await
}

/// As [`checkout`], on the demo seat at `index`.
pub async fn checkout_seat(app: &TestApp, router: &Router, index: usize) -> Checkout {
    let seat = app.seats().await[index].0;
    let fan = app.admit("demo");
    let hold = app.hold_seats(&fan.creds(), &[seat]).await.unwrap().hold_id;
    let (status, body) = call(router, checkout_request(&hold, &fan)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let order = body["order_id"].as_str().unwrap().to_owned();
    let intent = payment_of(app, &order).await.provider_ref.unwrap();
    Checkout {
        fan,
        seat,
        hold,
        order,
        intent,
        body,
    }
}

pub async fn seat_status(app: &TestApp, seat: i64) -> String {
    let seats = app.seats().await;
    seats.into_iter().find(|s| s.0 == seat).unwrap().1
}

/// Declined, declined again, then paid with another card: the order was
/// payable throughout, nobody else could take the seat, and the same
/// seat is sold. A decline arriving after the success changes nothing.
async fn decline_then_retry_then_success(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app(backend, &stripe).await;
    let router = booking::router(app.state.clone());
    let c = checkout(&app, &router).await;

    let declined = stripe.confirm(&c.intent, DECLINED);
    let (code, body) = deliver(&router, &declined).await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("handled"))
    );
    assert_eq!(
        status(&app, &c.order).await,
        "pending",
        "a decline is an attempt"
    );
    assert_eq!(seat_status(&app, c.seat).await, "held");
    let p = payment_of(&app, &c.order).await;
    assert_eq!(
        (p.failed_attempts, p.last_error_code.as_deref()),
        (1, Some("generic_decline"))
    );
    assert_eq!(deliver(&router, &declined).await.1["status"], "duplicate");

    // Someone else cannot take the seat meanwhile.
    let other = app.admit("demo");
    let err = app.hold_seats(&other.creds(), &[c.seat]).await.unwrap_err();
    assert_eq!(err.code(), "seats_unavailable");

    let (code, again) = call(&router, checkout_request(&c.hold, &c.fan)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        again["client_secret"], c.body["client_secret"],
        "the same intent is retried"
    );
    assert_eq!(again["last_decline"]["message"], "Your card was declined.");
    let second = stripe.confirm(&c.intent, NO_FUNDS);
    deliver(&router, &second).await;
    assert_eq!(
        payment_of(&app, &c.order).await.last_error_code.as_deref(),
        Some("insufficient_funds")
    );

    let paid = stripe.confirm(&c.intent, GOOD);
    assert_eq!(deliver(&router, &paid).await.0, StatusCode::OK);
    assert_eq!(status(&app, &c.order).await, "confirmed");
    assert_eq!(seat_status(&app, c.seat).await, "sold");
    let detail = app.state.orders().order_detail(&c.order).await.unwrap();
    assert_eq!(detail.lines[0].seat_id, Some(c.seat), "the same seat");
    // Out of order: the earlier decline delivered again under a new id.
    let mut late = declined.clone();
    late["id"] = json!("evt_redelivered_decline");
    deliver(&router, &late).await;
    assert_eq!(
        status(&app, &c.order).await,
        "confirmed",
        "never un-confirmed"
    );
    assert_eq!(payment_of(&app, &c.order).await.failed_attempts, 2);
    assert!(stripe.calls("/v1/refunds").is_empty());
    app.cleanup().await;
}

/// Declined, then the hold runs out: the seat is released, the order
/// fails, and its PaymentIntent is cancelled at Stripe (once, with an
/// idempotency key). A success that still slips through is refunded.
async fn decline_then_expiry_cancels_the_intent(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app_with(backend, &stripe, |c| c.hold_ttl_seconds = 1).await;
    let router = booking::router(app.state.clone());
    let c = checkout(&app, &router).await;
    deliver(&router, &stripe.confirm(&c.intent, DECLINED)).await;
    assert_eq!(seat_status(&app, c.seat).await, "held");
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    assert_eq!(app.state.holds().sweep_expired_holds().await.unwrap(), 1);
    assert_eq!(seat_status(&app, c.seat).await, "available");
    assert_eq!(status(&app, &c.order).await, "failed");
    assert_eq!(stripe.intent(&c.intent)["status"], "canceled");
    let cancels = stripe.calls(&format!("/v1/payment_intents/{}/cancel", c.intent));
    assert_eq!(cancels.len(), 1);
    let p = payment_of(&app, &c.order).await;
    assert_eq!(cancels[0].idempotency_key, Some(format!("cancel_{}", p.id)));
    assert_eq!(p.intent_cancel.as_deref(), Some("done"));
    assert!(p.cancel_request_id.is_some());
    assert_eq!(
        app.state.payments().cancel_due_intents(None).await.unwrap(),
        0,
        "nothing left"
    );

    // A success racing the cancellation: paid after expiry, so refunded.
    let mut paid = stripe.confirm(&c.intent, GOOD);
    paid["data"]["object"]["status"] = json!("succeeded");
    assert_eq!(deliver(&router, &paid).await.0, StatusCode::OK);
    assert_eq!(status(&app, &c.order).await, "refunded");
    assert_eq!(stripe.calls("/v1/refunds").len(), 1);
    assert_eq!(seat_status(&app, c.seat).await, "available");
    app.cleanup().await;
}

/// The fan cancels before paying: seats back, PaymentIntent cancelled;
/// cancelling again is 409.
async fn unpaid_cancel_cancels_the_intent(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app(backend, &stripe).await;
    let router = booking::router(app.state.clone());
    let c = checkout(&app, &router).await;
    let (code, body) = call(&router, cancel_request(&c.order, &c.fan)).await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{body}"
    );
    assert_eq!(stripe.intent(&c.intent)["status"], "canceled");
    assert_eq!(seat_status(&app, c.seat).await, "available");
    let (code, body) = call(&router, cancel_request(&c.order, &c.fan)).await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("order_not_cancellable"))
    );
    // Stripe's own `payment_intent.canceled` for it changes nothing more.
    let ev = crate::stand_in::event(
        "evt_pi_canceled",
        "payment_intent.canceled",
        stripe.intent(&c.intent),
    );
    assert_eq!(deliver(&router, &ev).await.0, StatusCode::OK);
    assert_eq!(status(&app, &c.order).await, "cancelled");

    // Stripe down while a second fan cancels: the order is cancelled all
    // the same, and the worker cancels the intent once Stripe answers.
    let seat = app.seats().await[1].0;
    let fan = app.admit("demo");
    let hold = app.hold_seats(&fan.creds(), &[seat]).await.unwrap().hold_id;
    let (_, body) = call(&router, checkout_request(&hold, &fan)).await;
    let order = body["order_id"].as_str().unwrap().to_owned();
    let intent = payment_of(&app, &order).await.provider_ref.unwrap();
    stripe.fail_next(500, error("api_error", None, "An unknown error occurred"));
    let (code, _) = call(&router, cancel_request(&order, &fan)).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        payment_of(&app, &order).await.intent_cancel.as_deref(),
        Some("due")
    );
    assert_eq!(stripe.intent(&intent)["status"], "requires_payment_method");
    app.state.sales().retry_refunds().await.unwrap();
    assert_eq!(stripe.intent(&intent)["status"], "canceled");
    assert_eq!(
        payment_of(&app, &order).await.intent_cancel.as_deref(),
        Some("done")
    );

    // Cancelling the event cancels the intents of its unpaid orders.
    let seat = app.seats().await[2].0;
    let fan = app.admit("demo");
    let hold = app.hold_seats(&fan.creds(), &[seat]).await.unwrap().hold_id;
    let (_, body) = call(&router, checkout_request(&hold, &fan)).await;
    let order = body["order_id"].as_str().unwrap().to_owned();
    let intent = payment_of(&app, &order).await.provider_ref.unwrap();
    let report = app
        .state
        .sales()
        .cancel_event("demo", "Rain")
        .await
        .unwrap();
    assert_eq!(report.pending_cancelled, 1);
    assert_eq!(stripe.intent(&intent)["status"], "canceled");
    app.cleanup().await;
}

/// Stripe's documented errors at PaymentIntent creation: a card error is
/// 402 with the decline code, a refused request 502, a rate limit or
/// `lock_timeout` 503 with `Retry-After`, and an error code no client
/// library knows is still read. The hold survives each, and a retry works.
async fn stripe_errors_answer_the_right_status(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app(backend, &stripe).await;
    let router = booking::router(app.state.clone());
    let seat = app.seats().await[0].0;
    let fan = app.admit("demo");
    let hold = app.hold_seats(&fan.creds(), &[seat]).await.unwrap().hold_id;
    let cases = [
        (
            400,
            error(
                "invalid_request_error",
                Some("parameter_invalid_integer"),
                "Invalid integer",
            ),
            502,
            "payment_provider_error",
        ),
        (
            400,
            error(
                "invalid_request_error",
                Some("a_code_from_2030"),
                "Something new",
            ),
            502,
            "payment_provider_error",
        ),
        (
            429,
            error(
                "invalid_request_error",
                Some("rate_limit"),
                "Too many requests",
            ),
            503,
            "service_unavailable",
        ),
        (
            429,
            error(
                "invalid_request_error",
                Some("lock_timeout"),
                "This object cannot be accessed right now",
            ),
            503,
            "service_unavailable",
        ),
    ];
    for (stripe_status, stripe_body, want, code) in cases {
        stripe.fail_next(stripe_status, stripe_body);
        let (status, headers, body) =
            call_with_headers(&router, checkout_request(&hold, &fan)).await;
        assert_eq!(
            (status.as_u16(), body["error"]["code"].as_str()),
            (want, Some(code)),
            "{body}"
        );
        if want == 503 {
            assert!(headers.get("retry-after").is_some());
        }
    }
    let (status, body) = call(&router, checkout_request(&hold, &fan)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let p = payment_of(&app, body["order_id"].as_str().unwrap()).await;
    assert_eq!(stripe.calls("/v1/payment_intents").len(), 5);
    assert!(p
        .create_request_id
        .as_deref()
        .is_some_and(|r| r.starts_with("req_")));

    let mut card = error(
        "card_error",
        Some("card_declined"),
        "Your card was declined.",
    );
    card["error"]["decline_code"] = json!("do_not_honor");
    stripe.fail_next(402, card);
    let seat = app.seats().await[1].0;
    let other = app.admit("demo");
    let hold = app
        .hold_seats(&other.creds(), &[seat])
        .await
        .unwrap()
        .hold_id;
    let (status, body) = call(&router, checkout_request(&hold, &other)).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"]["code"], "payment_declined");
    assert_eq!(body["error"]["decline_code"], "do_not_honor");
    assert_eq!(body["error"]["message"], "Your card was declined.");
    app.cleanup().await;
}

/// A double click on Pay (two checkouts at once) makes one order and one
/// PaymentIntent.
async fn double_checkout_makes_one_intent(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app(backend, &stripe).await;
    let router = booking::router(app.state.clone());
    let seat = app.seats().await[0].0;
    let fan = app.admit("demo");
    let hold = app.hold_seats(&fan.creds(), &[seat]).await.unwrap().hold_id;
    let (a, b) = tokio::join!(
        call(&router, checkout_request(&hold, &fan)),
        call(&router, checkout_request(&hold, &fan))
    );
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{a:?} {b:?}");
    assert_eq!(a.1["order_id"], b.1["order_id"]);
    assert_eq!(a.1["client_secret"], b.1["client_secret"]);
    let keys: std::collections::HashSet<_> = stripe
        .calls("/v1/payment_intents")
        .into_iter()
        .map(|c| c.idempotency_key)
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "one idempotency key, so one PaymentIntent at Stripe"
    );
    app.cleanup().await;
}

crate::per_backend!(
    decline_then_retry_then_success,
    decline_then_expiry_cancels_the_intent,
    unpaid_cancel_cancels_the_intent,
    stripe_errors_answer_the_right_status,
    double_checkout_makes_one_intent,
);
