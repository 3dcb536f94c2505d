//! Production mode: the dev payment provider is refused at start, and with
//! Stripe configured its form and confirmation routes do not exist (404), so
//! nobody can confirm their own payment.

use crate::helpers::*;
use gateway::config::Secret;

fn production(s: &mut gateway::config::Settings) {
    s.env = gateway::config::Environment::Production;
    s.stripe_secret_key = Some(Secret::new("sk_test_production_mode"));
    s.stripe_publishable_key = Some("pk_test_production_mode".to_owned());
    s.stripe_webhook_secret = Some(Secret::new("whsec_production_mode"));
    // No Stripe call is made here; a closed port keeps it so.
    s.stripe_api_base = Some("http://127.0.0.1:9/".to_owned());
    s.booking.session_secret = Some(Secret::new("a-session-secret-of-32-bytes-or-more-0123"));
    // Production refuses a weak operator key (the test default is one).
    s.admin_token = Some(Secret::new(
        "6f1d2c9a8b7e4f30a5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f708192a3b",
    ));
}

#[tokio::test]
async fn production_has_no_dev_payment_routes() {
    let app = spawn_with(production).await;
    for path in [
        "/api/v1/dev-payments/pay_123/confirm",
        "/api/v1/dev-payments/pay_123/confirm?outcome=succeed",
    ] {
        let r = app.http.post(app.url(path)).send().await.expect("post");
        assert_eq!(r.status(), 404, "POST {path}");
        let r = app.http.get(app.url(path)).send().await.expect("get");
        assert_eq!(r.status(), 404, "GET {path}");
    }
}

#[tokio::test]
async fn production_refuses_to_start_with_the_dev_provider() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = gateway::config::Settings {
        data_dir: dir.path().to_owned(),
        ..Default::default()
    };
    production(&mut settings);
    settings.stripe_secret_key = None;
    let err = match gateway::build(&settings).await {
        Ok(_) => panic!("production started with the dev payment provider"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("dev payment provider"), "{err}");
}
