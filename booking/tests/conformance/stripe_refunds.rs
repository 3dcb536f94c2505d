//! Refunds the way Stripe has them, against the stand-in: made in the
//! Dashboard (mirrored from `charge.refunded` and `charge.refund.updated`),
//! refused by Stripe (recorded with its code, 409, never retried), and
//! disputes.

use crate::common::Backend;
use crate::payments::{payment_of, status};
use crate::stand_in::StandIn;
use crate::stripe::{call, cancel_request, checkout_request, deliver, stripe_app};
use crate::stripe_payments::{checkout, seat_status, GOOD};
use axum::http::StatusCode;
use serde_json::json;

/// Refunds made in the Dashboard: a partial one shows on the order, the
/// report and the CSV; the rest makes the order refunded (seats stay
/// sold); events in any order; a later cancel is 409 `already_refunded`.
async fn dashboard_refunds_are_mirrored(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app(backend, &stripe).await;
    let router = booking::router(app.state.clone());
    let c = checkout(&app, &router).await;
    deliver(&router, &stripe.confirm(&c.intent, GOOD)).await;
    let (charged, refund) = stripe.dashboard_refund(&c.intent, 3_000);
    assert_eq!(deliver(&router, &refund).await.0, StatusCode::OK);
    assert_eq!(deliver(&router, &charged).await.1["status"], "handled");
    assert_eq!(status(&app, &c.order).await, "confirmed");
    assert_eq!(payment_of(&app, &c.order).await.amount_refunded, 3_000);
    assert_eq!(
        app.state
            .sales()
            .sales_summary("demo")
            .await
            .unwrap()
            .refunded,
        3_000
    );
    let (csv, _) = app.state.sales().export_page("demo", None).await.unwrap();
    assert!(csv.contains(",89.00,30.00,USD,stripe,"), "{csv}");

    let (charged_all, _) = stripe.dashboard_refund(&c.intent, 5_900);
    deliver(&router, &charged_all).await;
    // The first charge.refunded, redelivered late under a new id, does not
    // lower what was refunded.
    let mut stale = charged.clone();
    stale["id"] = json!("evt_stale_refund");
    deliver(&router, &stale).await;
    let p = payment_of(&app, &c.order).await;
    assert_eq!((p.amount_refunded, p.status.as_str()), (8_900, "refunded"));
    assert_eq!(status(&app, &c.order).await, "refunded");
    assert_eq!(
        seat_status(&app, c.seat).await,
        "sold",
        "a refund frees nothing used"
    );
    let summary = app.state.sales().sales_summary("demo").await.unwrap();
    assert_eq!((summary.refunded, summary.orders.refunded), (8_900, 1));

    let (code, body) = call(&router, cancel_request(&c.order, &c.fan)).await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_refunded")),
        "{body}"
    );
    assert!(
        stripe.calls("/v1/refunds").is_empty(),
        "waitroom never refunded"
    );
    app.cleanup().await;
}

/// Stripe refuses refunds: a disputed charge (`charge_disputed`) and one
/// refunded in the Dashboard whose webhook never came
/// (`charge_already_refunded`). Both are recorded with Stripe's code,
/// shown in the report and CSV, answer 409, and are not tried again.
async fn refused_refunds_are_recorded_once(backend: Backend) {
    let stripe = StandIn::start().await;
    let app = stripe_app(backend, &stripe).await;
    let router = booking::router(app.state.clone());
    let disputed = checkout(&app, &router).await;
    deliver(&router, &stripe.confirm(&disputed.intent, GOOD)).await;
    assert_eq!(
        deliver(&router, &stripe.dispute(&disputed.intent)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        payment_of(&app, &disputed.order)
            .await
            .dispute_status
            .as_deref(),
        Some("needs_response")
    );

    let (code, body) = call(&router, cancel_request(&disputed.order, &disputed.fan)).await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("refund_refused")),
        "{body}"
    );
    let p = payment_of(&app, &disputed.order).await;
    assert_eq!(p.refund_error.as_deref(), Some("charge_disputed"));
    assert!(
        p.refund_request_id.is_some(),
        "the refused call's request id is kept"
    );
    let (code, _) = call(&router, cancel_request(&disputed.order, &disputed.fan)).await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(stripe.calls("/v1/refunds").len(), 1, "not asked again");

    // Refunded in full at Stripe, webhook lost.
    let seat = app.seats().await[1].0;
    let fan = app.admit("demo");
    let hold = app.hold_seats(&fan.creds(), &[seat]).await.unwrap().hold_id;
    let (_, body) = call(&router, checkout_request(&hold, &fan)).await;
    let order = body["order_id"].as_str().unwrap().to_owned();
    let intent = payment_of(&app, &order).await.provider_ref.unwrap();
    deliver(&router, &stripe.confirm(&intent, GOOD)).await;
    let _lost_webhooks = stripe.dashboard_refund(&intent, 8_900);
    let (code, body) = call(&router, cancel_request(&order, &fan)).await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_refunded")),
        "{body}"
    );
    let (code, body) = call(&router, cancel_request(&order, &fan)).await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_refunded"))
    );
    assert_eq!(stripe.calls("/v1/refunds").len(), 2);

    // Cancelling the event and the refund worker leave them alone.
    let report = app
        .state
        .sales()
        .cancel_event("demo", "Storm")
        .await
        .unwrap();
    assert_eq!(report.refund_failed.len(), 2, "{report:?}");
    assert_eq!(app.state.sales().retry_refunds().await.unwrap(), 0);
    assert_eq!(stripe.calls("/v1/refunds").len(), 2, "never retried");
    let summary = app.state.sales().sales_summary("demo").await.unwrap();
    assert_eq!((summary.refunds_refused, summary.disputed), (2, 1));
    let (csv, _) = app.state.sales().export_page("demo", None).await.unwrap();
    // Then each order's tickets and how many were checked in.
    assert!(
        csv.contains(",charge_disputed,needs_response,1,0\r\n"),
        "{csv}"
    );
    assert!(csv.contains(",charge_already_refunded,,1,0\r\n"), "{csv}");
    app.cleanup().await;
}

crate::per_backend!(
    dashboard_refunds_are_mirrored,
    refused_refunds_are_recorded_once
);
