//! Checkout and payment outcomes with the dev provider.

use crate::common::{Backend, Fan, TestApp};
use booking::db::SettleOutcome;
use booking::email::Mailer;
use booking::holds::HoldView;
use booking::payment::checkout::{CheckoutRequest, CheckoutView};

pub async fn hold_and_checkout(app: &TestApp, fan: &Fan, ids: &[i64]) -> (HoldView, CheckoutView) {
    let hold = app.hold_seats(&fan.creds(), ids).await.unwrap();
    let email = CheckoutRequest {
        email: "Fan@Example.com".to_owned(),
        lang: None,
    };
    let checkout = app
        .state
        .orders()
        .checkout(&hold.hold_id, &fan.session(), &email)
        .await
        .unwrap();
    (hold, checkout)
}

pub async fn payment_of(app: &TestApp, order: &str) -> booking::db::PaymentRecord {
    app.db
        .orders()
        .order(order)
        .await
        .unwrap()
        .unwrap()
        .payment
        .unwrap()
}

pub async fn status(app: &TestApp, order: &str) -> String {
    app.db
        .orders()
        .order(order)
        .await
        .unwrap()
        .unwrap()
        .order
        .status
}

/// Checkout is idempotent; payment confirms, sells, and mails.
async fn dev_checkout_confirm_and_email(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids: Vec<i64> = app.seats().await.iter().take(2).map(|s| s.0).collect();
    let fan = app.admit("demo");
    let (hold, checkout) = hold_and_checkout(&app, &fan, &ids).await;
    assert_eq!(checkout.provider, "dev");
    assert_eq!(checkout.total, hold.total);
    let url = checkout.confirm_url.clone().unwrap();
    assert!(url.starts_with("/api/v1/dev-payments/pay_"), "{url}");
    let email = CheckoutRequest {
        email: "fan@example.com".to_owned(),
        lang: None,
    };
    let again = app
        .state
        .orders()
        .checkout(&hold.hold_id, &fan.session(), &email)
        .await
        .unwrap();
    assert_eq!(
        (again.order_id.as_str(), again.payment_id.as_str()),
        (checkout.order_id.as_str(), checkout.payment_id.as_str())
    );
    let payment = payment_of(&app, &checkout.order_id).await;
    let outcome = app
        .state
        .payments()
        .payment_succeeded(&payment, None)
        .await
        .unwrap();
    assert!(
        matches!(outcome, SettleOutcome::Confirmed(_)),
        "{outcome:?}"
    );
    assert_eq!(status(&app, &checkout.order_id).await, "confirmed");
    let sold: Vec<_> = app
        .seats()
        .await
        .into_iter()
        .filter(|(_, s)| s == "sold")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(sold, ids);
    assert_eq!(
        app.queue.releases(),
        vec![("demo".to_owned(), fan.visitor.clone())]
    );
    // A duplicate success changes nothing.
    let again = app
        .state
        .payments()
        .payment_succeeded(&payment, None)
        .await
        .unwrap();
    assert_eq!(again, SettleOutcome::AlreadySettled);
    // The confirmation email leaves through the outbox.
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::new(None, dir.path().to_path_buf()).unwrap();
    assert_eq!(app.state.outbox().flush_outbox(&mailer).await.unwrap(), 1);
    assert_eq!(app.state.outbox().flush_outbox(&mailer).await.unwrap(), 0);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    let body = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    let order = app
        .db
        .orders()
        .order(&checkout.order_id)
        .await
        .unwrap()
        .unwrap();
    assert!(body.contains(&order.order.reference), "{body}");
    assert!(body.contains("Demo Night"));
    assert!(body.contains("fan@example.com"));
    app.cleanup().await;
}

/// An SMTP server that accepts and never answers costs one send timeout,
/// not the worker: the email is kept for a retry with backoff, unsent.
async fn a_silent_mail_server_is_given_up_on(backend: Backend) {
    let app = TestApp::new(backend).await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let email = booking::db::NewEmail {
        kind: "confirmation".to_owned(),
        recipient: "fan@example.com".to_owned(),
        subject: "Your tickets".to_owned(),
        body_text: "text".to_owned(),
        body_html: "<p>html</p>".to_owned(),
    };
    let at = booking::state::now();
    assert!(app
        .db
        .outbox()
        .enqueue_once(&email, "silent-1", at)
        .await
        .unwrap());
    let mailer = Mailer::new(Some(&url), std::env::temp_dir()).unwrap();
    let flush = app
        .state
        .outbox()
        .flush_within(&mailer, std::time::Duration::from_millis(300));
    // lettre's own timeout is a minute per command: only the outbox's
    // bound ends this send within the test's limit.
    let sent = tokio::time::timeout(std::time::Duration::from_secs(20), flush)
        .await
        .expect("the flush gave the silent server up")
        .unwrap();
    assert_eq!(sent, 0);
    let backlog = app.db.outbox().backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (1, 0));
    // Backing off: not due again at once.
    assert!(app.queued_emails("confirmation").await.is_empty());
    held.abort();
    app.cleanup().await;
}

/// A PaymentIntent cancelled at Stripe ends the order and releases the
/// hold; a success arriving after it (out of order) is refunded, never
/// confirmed; a failure after that changes nothing.
async fn canceled_intent_releases_then_late_success_is_refunded(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids: Vec<i64> = app.seats().await.iter().take(1).map(|s| s.0).collect();
    let fan = app.admit("demo");
    let (_, checkout) = hold_and_checkout(&app, &fan, &ids).await;
    let payment = payment_of(&app, &checkout.order_id).await;
    let failed = app
        .state
        .payments()
        .payment_failed(&payment, None)
        .await
        .unwrap();
    assert!(
        matches!(failed, SettleOutcome::Failed(Some(_))),
        "{failed:?}"
    );
    assert_eq!(status(&app, &checkout.order_id).await, "failed");
    assert!(app.seats().await.iter().all(|(_, s)| s == "available"));
    assert_eq!(app.queue.releases().len(), 1);
    let ok = app
        .state
        .payments()
        .payment_succeeded(&payment, None)
        .await
        .unwrap();
    assert_eq!(ok, SettleOutcome::RefundDue);
    assert_eq!(status(&app, &checkout.order_id).await, "refunded");
    assert!(app.seats().await.iter().all(|(_, s)| s == "available"));
    let late = app
        .state
        .payments()
        .payment_failed(&payment, None)
        .await
        .unwrap();
    assert_eq!(late, SettleOutcome::AlreadySettled);
    app.cleanup().await;
}

/// The dev provider's decline test card is a declined attempt, as on
/// Stripe: 402 with the decline code, the order payable and the seats
/// held; a good card then pays.
async fn dev_decline_card_keeps_the_order_payable(backend: Backend) {
    use axum::body::Body;
    use axum::http::Request;
    let app = TestApp::new(backend).await;
    let ids: Vec<i64> = app.seats().await.iter().take(1).map(|s| s.0).collect();
    let fan = app.admit("demo");
    let (_, checkout) = hold_and_checkout(&app, &fan, &ids).await;
    let router = booking::router(app.state.clone());
    let url = checkout.confirm_url.clone().unwrap();
    let pay = |card: &str| {
        Request::post(&url)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::json!({ "card": card }).to_string()))
            .unwrap()
    };
    let (code, body) = crate::stripe::call(&router, pay("4000 0000 0000 0002")).await;
    assert_eq!(code.as_u16(), 402, "{body}");
    assert_eq!(body["error"]["code"], "payment_declined");
    assert_eq!(body["error"]["decline_code"], "generic_decline");
    assert_eq!(status(&app, &checkout.order_id).await, "pending");
    assert_eq!(app.seats().await[0].1, "held");
    let (code, body) = crate::stripe::call(&router, pay("4242 4242 4242 4242")).await;
    assert_eq!(code.as_u16(), 200, "any other number pays: {body}");
    assert_eq!(body["status"], "confirmed");
    let bad = Request::post(&url)
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let (code, body) = crate::stripe::call(&router, bad).await;
    assert_eq!(
        (code.as_u16(), body["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    app.cleanup().await;
}

/// Paid after the hold expired and the seat was resold: refunded, never
/// confirmed, and the new holder keeps the seat.
async fn late_payment_after_resale_is_refunded(backend: Backend) {
    let app = TestApp::with(backend, |c| c.hold_ttl_seconds = 1).await;
    let ids: Vec<i64> = app.seats().await.iter().take(1).map(|s| s.0).collect();
    let fan = app.admit("demo");
    let (_, checkout) = hold_and_checkout(&app, &fan, &ids).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    assert_eq!(app.state.holds().sweep_expired_holds().await.unwrap(), 1);
    let other = app.admit("demo");
    let second = app.hold_seats(&other.creds(), &ids).await.unwrap();
    let payment = payment_of(&app, &checkout.order_id).await;
    let outcome = app
        .state
        .payments()
        .payment_succeeded(&payment, None)
        .await
        .unwrap();
    assert_eq!(outcome, SettleOutcome::RefundDue);
    assert_eq!(status(&app, &checkout.order_id).await, "refunded");
    assert_eq!(
        payment_of(&app, &checkout.order_id).await.status,
        "refunded"
    );
    let detail = app.db.holds().get(&second.hold_id).await.unwrap().unwrap();
    assert_eq!(detail.hold.status, "active");
    assert_eq!(app.seats().await[0].1, "held");
    app.cleanup().await;
}

/// Cancelling a confirmed order refunds it and puts the seats back.
async fn cancel_confirmed_order(backend: Backend) {
    let app = TestApp::new(backend).await;
    let ids: Vec<i64> = app.seats().await.iter().take(2).map(|s| s.0).collect();
    let fan = app.admit("demo");
    let (_, checkout) = hold_and_checkout(&app, &fan, &ids).await;
    let payment = payment_of(&app, &checkout.order_id).await;
    app.state
        .payments()
        .payment_succeeded(&payment, None)
        .await
        .unwrap();
    let stranger = app.admit("demo");
    let err = app
        .state
        .orders()
        .cancel_order(&checkout.order_id, &stranger.session())
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 404);
    let order = app
        .state
        .orders()
        .cancel_order(&checkout.order_id, &fan.session())
        .await
        .unwrap();
    assert_eq!(order.order.status, "cancelled");
    assert_eq!(order.payment.unwrap().status, "refunded");
    assert!(app.seats().await.iter().all(|(_, s)| s == "available"));
    let err = app
        .state
        .orders()
        .cancel_order(&checkout.order_id, &fan.session())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "order_not_cancellable");
    app.cleanup().await;
}

/// Checkout checks the email, the session and the hold.
async fn checkout_validation(backend: Backend) {
    let app = TestApp::with(backend, |c| c.hold_ttl_seconds = 1).await;
    let ids: Vec<i64> = app.seats().await.iter().take(1).map(|s| s.0).collect();
    let fan = app.admit("demo");
    let hold = app.hold_seats(&fan.creds(), &ids).await.unwrap();
    let bad = CheckoutRequest {
        email: "not-an-email".to_owned(),
        lang: None,
    };
    let err = app
        .state
        .orders()
        .checkout(&hold.hold_id, &fan.session(), &bad)
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 422);
    let good = CheckoutRequest {
        email: "a@b.example".to_owned(),
        lang: None,
    };
    let other = app.admit("demo");
    let err = app
        .state
        .orders()
        .checkout(&hold.hold_id, &other.session(), &good)
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 403);
    let err = app
        .state
        .orders()
        .checkout("hold_missing", &fan.session(), &good)
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 404);
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    let err = app
        .state
        .orders()
        .checkout(&hold.hold_id, &fan.session(), &good)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (409, "hold_not_active")
    );
    app.cleanup().await;
}

crate::per_backend!(
    dev_checkout_confirm_and_email,
    a_silent_mail_server_is_given_up_on,
    canceled_intent_releases_then_late_success_is_refunded,
    dev_decline_card_keeps_the_order_payable,
    late_payment_after_resale_is_refunded,
    cancel_confirmed_order,
    checkout_validation,
);
