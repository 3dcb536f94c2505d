//! A sold-out sale over HTTP on both backends: the line becomes the
//! waitlist, a seat that comes back is offered to the first fan in line,
//! who holds and books it; an offer not taken passes on, and a hold with
//! it afterwards is refused with `offer_expired`.

use crate::admin_sales::expect;
use crate::admin_support::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

crate::on_both_backends!(a_sold_out_sale_offers_returned_seats_to_its_waitlist);

/// Offers last the shortest time an operator may set, so the test can
/// watch one expire.
const OFFER_TTL: u64 = 10;

struct Fan {
    cred: String,
    ws: Ws,
}

async fn fan(app: &TestApp, event: &str) -> Fan {
    let joined = app.join(event).await;
    let cred = joined["queue_token"]
        .as_str()
        .expect("credential")
        .to_owned();
    let ws = app.ws(event, &cred).await;
    Fan { cred, ws }
}

/// Waits until the fan is on the waitlist; returns their place.
async fn waitlisted(f: &mut Fan) -> u64 {
    let hello = next_of(&mut f.ws, "hello", 10).await;
    let msg = if hello["state"] == "waitlisted" {
        hello
    } else {
        // Joined before a tick reported the sell-out: told when it does.
        next_of(&mut f.ws, "waitlisted", 10).await
    };
    msg["position"].as_u64().expect("position")
}

async fn hold(app: &TestApp, event: &str, token: &str, f: &Fan) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/api/v1/events/{event}/holds")))
        .bearer_auth(token)
        .header("x-queue-token", &f.cred)
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .expect("hold")
}

async fn release(app: &TestApp, hold_id: &str, f: &Fan) {
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/holds/{hold_id}")))
        .header("x-queue-token", &f.cred)
        .send()
        .await
        .expect("release");
    assert!(r.status().is_success(), "release: {}", r.status());
}

async fn book(app: &TestApp, hold_id: &str, f: &Fan) {
    let r = app
        .http
        .post(app.url(&format!("/api/v1/holds/{hold_id}/checkout")))
        .header("x-queue-token", &f.cred)
        .json(&json!({"email": "waitlisted@example.com"}))
        .send()
        .await
        .expect("checkout");
    let checkout = expect(r, 200, "checkout").await;
    let confirm = checkout["confirm_url"].as_str().expect("dev confirm url");
    let r = app.http.post(app.url(confirm)).send().await.expect("pay");
    assert_eq!(expect(r, 200, "pay").await["status"], "confirmed");
}

fn id_of(hold: &Value) -> String {
    hold["hold_id"].as_str().expect("hold id").to_owned()
}

async fn a_sold_out_sale_offers_returned_seats_to_its_waitlist(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let id = unique_event("wl");
    let event = json!({
        "id": id, "name": "Small room", "venue": "Club", "city": "Lyon",
        "starts_at": "2027-07-01T20:00:00Z", "currency": "EUR",
        "seat_map_csv": "section,row,seats,tier,price\nFloor,,2,GA,4500\n"
    });
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        "/api/v1/admin/events",
        Some(event),
    )
    .await;
    expect(r, 201, "create").await;
    let publish = format!("/api/v1/admin/events/{id}/publish");
    expect(
        call(&app, Some(ADMIN), Method::POST, &publish, None).await,
        200,
        "publish",
    )
    .await;
    let mut settings = queue(6_000, 2);
    settings["offer_ttl_seconds"] = json!(OFFER_TTL);
    app.create_queue(&id, settings).await;

    // Two fans take the two places: sold out.
    let mut a = fan(&app, &id).await;
    let mut b = fan(&app, &id).await;
    let token_a = next_of(&mut a.ws, "admitted", 10).await;
    let token_b = next_of(&mut b.ws, "admitted", 10).await;
    assert!(
        token_a.get("offer_expires_at").is_none(),
        "an ordinary turn"
    );
    let token = |m: &Value| m["admission_token"].as_str().expect("token").to_owned();
    let hold_a = expect(hold(&app, &id, &token(&token_a), &a).await, 201, "hold a").await;
    let hold_b = expect(hold(&app, &id, &token(&token_b), &b).await, 201, "hold b").await;

    // Fans still arriving stay in line, in order: the waitlist.
    let mut c = fan(&app, &id).await;
    let mut d = fan(&app, &id).await;
    assert_eq!(waitlisted(&mut c).await, 1);
    assert_eq!(waitlisted(&mut d).await, 2);
    let status = expect(app.status(&id, &d.cred).await, 200, "status").await;
    assert_eq!(
        (status["state"].as_str(), status["ahead"].as_u64()),
        (Some("waitlisted"), Some(1))
    );
    assert_eq!(status["eta_seconds"], Value::Null, "no made-up wait");

    // A's hold is released: one place back, offered to C (only).
    release(&app, &id_of(&hold_a), &a).await;
    let offer_c = next_of(&mut c.ws, "admitted", 10).await;
    let until = offer_c["offer_expires_at"].as_u64().expect("an offer");
    assert_eq!(
        until,
        offer_c["admission_expires_at"].as_u64().expect("expiry")
    );
    let status = expect(app.status(&id, &d.cred).await, 200, "status").await;
    assert_eq!(
        (status["state"].as_str(), status["position"].as_u64()),
        (Some("waitlisted"), Some(1))
    );
    let status = expect(app.status(&id, &c.cred).await, 200, "status").await;
    assert_eq!(status["offer_expires_at"].as_u64(), Some(until));
    let held = expect(
        hold(&app, &id, &token(&offer_c), &c).await,
        201,
        "c holds the offer",
    )
    .await;
    book(&app, &id_of(&held), &c).await;

    // B's hold is released: offered to D, who lets it lapse; it passes to E.
    let mut e = fan(&app, &id).await;
    assert_eq!(waitlisted(&mut e).await, 2);
    release(&app, &id_of(&hold_b), &b).await;
    let offer_d = next_of(&mut d.ws, "admitted", 10).await;
    let d_until = offer_d["offer_expires_at"].as_u64().expect("an offer");
    let offer_e = next_of(&mut e.ws, "admitted", OFFER_TTL + 10).await;
    assert!(offer_e["offer_expires_at"].as_u64().expect("an offer") >= d_until);

    // D comes back too late (past the verifier's 5 s clock leeway): 409,
    // saying what to do next.
    let late = d_until + 6_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(late.saturating_sub(now))).await;
    let refused = expect(
        hold(&app, &id, &token(&offer_d), &d).await,
        409,
        "late hold",
    )
    .await;
    assert_eq!(refused["error"]["code"], "offer_expired");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("waiting room"), "{message}");
    let held = expect(hold(&app, &id, &token(&offer_e), &e).await, 201, "e holds").await;
    book(&app, &id_of(&held), &e).await;

    // Closed to new arrivals: a new join is refused with `sold_out`; a fan
    // already in line keeps their place.
    let in_line = app.join(&id).await;
    let in_line = in_line["queue_token"].as_str().expect("credential");
    let r = app.patch_queue(&id, json!({"waitlist_joins": false})).await;
    assert!(r.status().is_success(), "patch: {}", r.status());
    let r = app
        .http
        .post(app.url(&format!("/api/v1/queue/{id}/join")))
        .send()
        .await
        .expect("join");
    assert_eq!(expect(r, 409, "join").await["error"]["code"], "sold_out");
    let again = app
        .http
        .post(app.url(&format!("/api/v1/queue/{id}/join")))
        .header("x-queue-token", in_line)
        .send()
        .await
        .expect("join again");
    assert!(again.status().is_success(), "{}", again.status());
}
