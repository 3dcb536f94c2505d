//! Stripe events racing each other and the hold sweeper, on the real
//! backends: whatever wins, the order and its seat agree, a decline never
//! un-confirms, and nothing deadlocks or fails.

use crate::common::Backend;
use crate::payments::{payment_of, status};
use crate::stand_in::StandIn;
use crate::stripe::{deliver, stripe_app, stripe_app_with};
use crate::stripe_payments::{checkout_seat, seat_status, GOOD};
use axum::http::StatusCode;
use serde_json::json;

/// A decline and the success of the next attempt delivered at once: the
/// order ends confirmed with its seat sold, whichever lands first.
async fn decline_and_success_at_once_end_confirmed(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app(backend, &stripe).await;
    let router = booking::router(app.state.clone());
    for i in 0..3 {
        let c = checkout_seat(&app, &router, i).await;
        let declined = stripe.confirm(&c.intent, "4000000000000002");
        let paid = stripe.confirm(&c.intent, GOOD);
        let (a, b) = tokio::join!(deliver(&router, &declined), deliver(&router, &paid));
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{a:?} {b:?}");
        assert_eq!(status(&app, &c.order).await, "confirmed");
        assert_eq!(seat_status(&app, c.seat).await, "sold");
    }
    app.cleanup().await;
}

/// The sweeper expiring a hold while the success webhook for it arrives:
/// either the payment wins (confirmed, seat sold, nothing to cancel) or
/// the expiry does (failed, then refunded; seat free). Never both, never
/// an error.
async fn expiry_racing_success_is_consistent(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app_with(backend, &stripe, |c| c.hold_ttl_seconds = 1).await;
    let router = booking::router(app.state.clone());
    let mut orders = Vec::new();
    for i in 0..3 {
        orders.push(checkout_seat(&app, &router, i).await);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    let mut events = Vec::new();
    for c in &orders {
        let mut paid = stripe.confirm(&c.intent, GOOD);
        paid["data"]["object"]["status"] = json!("succeeded");
        events.push(paid);
    }
    let deliveries = futures::future::join_all(events.iter().map(|e| deliver(&router, e)));
    let (sweep, answers) = tokio::join!(app.state.holds().sweep_expired_holds(), deliveries);
    sweep.unwrap();
    assert!(
        answers.iter().all(|(s, _)| *s == StatusCode::OK),
        "{answers:?}"
    );
    app.state.holds().sweep_expired_holds().await.unwrap();
    for c in &orders {
        let order = status(&app, &c.order).await;
        let seat = seat_status(&app, c.seat).await;
        let p = payment_of(&app, &c.order).await;
        match order.as_str() {
            "confirmed" => assert_eq!((seat.as_str(), p.intent_cancel), ("sold", None)),
            "refunded" => {
                assert_eq!(seat, "available");
                assert_eq!(p.amount_refunded, p.amount);
            }
            other => panic!("order ended {other}"),
        }
    }
    app.cleanup().await;
}

crate::per_backend!(
    decline_and_success_at_once_end_confirmed,
    expiry_racing_success_is_consistent
);
