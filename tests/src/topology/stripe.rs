//! A local stand-in for Stripe's API: production mode refuses the dev
//! payment provider, so the fan pays through "Stripe" here, and the driver
//! then delivers the signed `payment_intent.succeeded` webhook through the
//! load balancer as Stripe would.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// PaymentIntents created: (id, order id from the metadata).
pub type Intents = Arc<Mutex<Vec<(String, String)>>>;

fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        let k = k.replace("%5B", "[").replace("%5D", "]");
        (k == name).then(|| v.to_owned())
    })
}

/// Serves `/v1/payment_intents` and `/v1/refunds` on a loopback port;
/// returns its base URL (for `STRIPE_API_BASE`) and the intents created.
pub async fn serve() -> anyhow::Result<(String, Intents)> {
    let intents: Intents = Arc::default();
    let app = Router::new()
        .route(
            "/v1/payment_intents",
            post(|State(intents): State<Intents>, body: String| async move {
                let order = form_value(&body, "metadata[order_id]").unwrap_or_default();
                let amount: i64 = form_value(&body, "amount")
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(0);
                let id = {
                    let mut list = intents.lock().unwrap_or_else(|e| e.into_inner());
                    let id = format!("pi_topology{}", list.len() + 1);
                    list.push((id.clone(), order.clone()));
                    id
                };
                Json(json!({
                    "id": id, "object": "payment_intent",
                    "amount": amount, "amount_capturable": 0, "amount_received": 0,
                    "capture_method": "automatic", "confirmation_method": "automatic",
                    "client_secret": format!("{id}_secret_topology"),
                    "created": 1_700_000_000, "currency": form_value(&body, "currency"),
                    "livemode": false, "metadata": {"order_id": order},
                    "payment_method_types": ["card"], "status": "requires_payment_method"
                }))
            }),
        )
        .route(
            "/v1/refunds",
            post(|body: String| async move {
                Json(json!({
                    "id": "re_topology", "object": "refund",
                    "amount": form_value(&body, "amount").and_then(|a| a.parse::<i64>().ok()),
                    "created": 1_700_000_000, "currency": "eur",
                    "payment_intent": form_value(&body, "payment_intent"),
                    "status": "succeeded", "metadata": {}
                }))
            }),
        )
        .with_state(intents.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}/"), intents))
}

/// The webhook Stripe sends when a PaymentIntent succeeds, and its
/// `Stripe-Signature` header.
pub fn succeeded(intent: &str, secret: &str) -> (String, String) {
    let payload: Value = json!({
        "id": format!("evt_{intent}"), "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent, "object": "payment_intent"}}
    });
    let payload = payload.to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let signature = booking::webhook::sign(payload.as_bytes(), secret, now);
    (payload, signature)
}
