//! The operator's and the buyer's side: create the sale through the load
//! balancer, and buy a ticket as an admitted fan paying through "Stripe".

use super::fans::Fan;
use super::ledger::Ledger;
use super::stripe::{self, Intents};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Sends a request, records its status, returns (status, JSON body).
pub async fn call(
    ledger: &Ledger,
    what: &str,
    req: reqwest::RequestBuilder,
) -> Result<(u16, Value)> {
    let resp = req.send().await.with_context(|| what.to_owned())?;
    let status = resp.status().as_u16();
    ledger.status(status, what);
    let body = resp.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// Creates a published general-admission event and its queue (paused, no
/// CAPTCHA: the run measures the topology, not the bot defences).
pub async fn create(
    http: &reqwest::Client,
    lb: &str,
    admin_token: &str,
    event: &str,
    admit_per_minute: u32,
    ledger: &Ledger,
) -> Result<()> {
    let bearer = format!("Bearer {admin_token}");
    let (status, body) = call(
        ledger,
        "POST admin/events",
        http.post(format!("{lb}/api/v1/admin/events"))
            .header("authorization", &bearer)
            .json(&json!({
                "id": event, "name": "Topology test", "venue": "Arena", "city": "Lyon",
                "starts_at": "2030-07-01T20:00:00Z", "currency": "EUR", "status": "published",
                "seat_map_csv": "section,row,seats,tier,price\nFloor,,5000,standard,4500\n"
            })),
    )
    .await?;
    if status != 201 && status != 200 {
        bail!("creating the event answered {status}: {body}");
    }
    let (status, body) = call(
        ledger,
        "PUT admin queue",
        http.put(format!("{lb}/api/v1/admin/events/{event}/queue"))
            .header("authorization", &bearer)
            .json(&json!({
                "state": "paused", "admit_per_minute": admit_per_minute, "max_active": 5000,
                "session_ttl_seconds": 900, "departure_grace_seconds": 300,
                "captcha": "off", "max_places_per_ip": 0
            })),
    )
    .await?;
    if status >= 300 {
        bail!("creating the queue answered {status}: {body}");
    }
    Ok(())
}

/// Changes the queue's state (`open`, `paused`).
pub async fn set_state(
    http: &reqwest::Client,
    lb: &str,
    admin_token: &str,
    event: &str,
    state: &str,
    ledger: &Ledger,
) -> Result<()> {
    let (status, body) = call(
        ledger,
        "PATCH admin queue",
        http.patch(format!("{lb}/api/v1/admin/events/{event}/queue"))
            .header("authorization", format!("Bearer {admin_token}"))
            .json(&json!({ "state": state })),
    )
    .await?;
    if status >= 300 {
        bail!("setting the queue {state} answered {status}: {body}");
    }
    Ok(())
}

/// An admitted fan holds a place, checks out, Stripe's webhook arrives
/// through the load balancer, and the order is paid. Returns the order id.
pub async fn buy(
    http: &reqwest::Client,
    lb: &str,
    event: &str,
    fan: &Fan,
    intents: &Intents,
    webhook_secret: &str,
    ledger: &Ledger,
) -> Result<String> {
    let token = fan
        .seen()
        .admission_token
        .clone()
        .context("the fan has no admission token")?;
    let (status, hold) = call(
        ledger,
        "POST holds",
        http.post(format!("{lb}/api/v1/events/{event}/holds"))
            .header("authorization", format!("Bearer {token}"))
            .header("x-queue-token", &fan.token)
            .json(&json!({ "quantity": 1 })),
    )
    .await?;
    if status != 201 && status != 200 {
        bail!("hold answered {status}: {hold}");
    }
    let hold_id = hold["hold_id"].as_str().context("no hold_id")?;
    let (status, checkout) = call(
        ledger,
        "POST checkout",
        http.post(format!("{lb}/api/v1/holds/{hold_id}/checkout"))
            .header("authorization", format!("Bearer {token}"))
            .header("x-queue-token", &fan.token)
            .json(&json!({ "email": "fan@example.com" })),
    )
    .await?;
    if status != 200 && status != 201 {
        bail!("checkout answered {status}: {checkout}");
    }
    if checkout["provider"] != "stripe" {
        bail!("production mode must pay through Stripe: {checkout}");
    }
    let order_id = checkout["order_id"]
        .as_str()
        .context("no order_id")?
        .to_owned();
    let payment_id = checkout["payment_id"]
        .as_str()
        .unwrap_or("pay_x")
        .to_owned();
    // The dev provider's confirmation must not exist in production.
    let (status, body) = call(
        ledger,
        "POST dev-payments confirm",
        http.post(format!("{lb}/api/v1/dev-payments/{payment_id}/confirm")),
    )
    .await?;
    if status != 404 {
        bail!("the dev payment form answered {status} in production: {body}");
    }
    let intent = intents
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(_, order)| *order == order_id)
        .map(|(id, _)| id.clone())
        .context("checkout created no PaymentIntent at the Stripe stand-in")?;
    let (payload, signature) = stripe::succeeded(&intent, webhook_secret);
    let (status, body) = call(
        ledger,
        "POST webhooks/stripe",
        http.post(format!("{lb}/api/v1/webhooks/stripe"))
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(payload),
    )
    .await?;
    if status != 200 {
        bail!("the webhook answered {status}: {body}");
    }
    let started = Instant::now();
    loop {
        let (status, order) = call(
            ledger,
            "GET order",
            http.get(format!("{lb}/api/v1/orders/{order_id}"))
                .header("x-queue-token", &fan.token),
        )
        .await?;
        let state = order["status"]
            .as_str()
            .or_else(|| order["order"]["status"].as_str())
            .unwrap_or_default()
            .to_owned();
        if status == 200 && state != "pending" && !state.is_empty() {
            if state != "confirmed" && state != "paid" {
                bail!("the paid order is {state}: {order}");
            }
            return Ok(order_id);
        }
        if started.elapsed() > Duration::from_secs(10) {
            bail!("the order is still not paid ({status}): {order}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
