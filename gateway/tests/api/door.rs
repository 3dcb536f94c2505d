//! Tickets at the door over HTTP on both backends: a fan buys; the order
//! lists signed tickets a standard JOSE library verifies from
//! `/.well-known/jwks.json`; the QR codes and the PDF are served; door
//! staff check a ticket in once; operators export check-ins per minute.

use crate::admin_events::new_event;
use crate::admin_sales::{buy_as_fan, expect};
use crate::admin_support::*;
use crate::helpers::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(door_staff_check_tickets_in_once);

/// Door staff (a `door` API key or login) check a bought ticket in once;
/// an operator cannot reissue it after.
async fn door_staff_check_tickets_in_once(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let ev = unique_event("door");
    let base = format!("/api/v1/admin/events/{ev}");
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        "/api/v1/admin/events",
        Some(new_event(&ev)),
    )
    .await;
    expect(r, 201, "create").await;
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        &format!("{base}/publish"),
        None,
    )
    .await;
    expect(r, 200, "publish").await;
    app.create_queue(&ev, queue(600, 100)).await;
    let (order, cred) = buy_as_fan(&app, &ev, "door-fan@example.com").await;

    let r = app
        .http
        .get(app.url(&format!("/api/v1/orders/{order}")))
        .header("x-queue-token", &cred)
        .send()
        .await
        .expect("order");
    let body = expect(r, 200, "order").await;
    let tickets = body["tickets"].as_array().expect("tickets").clone();
    assert_eq!(tickets.len(), 2, "{body}");
    for t in &tickets {
        for field in ["id", "reference", "seat", "status", "qr"] {
            assert!(t[field].is_string(), "{field} in {t}");
        }
        assert_eq!(t["status"], "valid");
    }
    let qr = tickets[0]["qr"].as_str().expect("qr").to_owned();
    let id = tickets[0]["id"].as_str().expect("id").to_owned();

    // The published keys verify it with a standard library.
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let set: JwkSet = serde_json::from_value(jwks.clone()).expect("a JWK set");
    let header = jsonwebtoken::decode_header(&qr).expect("header");
    assert_eq!(header.typ.as_deref(), Some("wr-ticket"));
    let kid = header.kid.expect("kid");
    let published = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the ticket kid is published");
    assert_eq!(published["purpose"], "ticket");
    let key = DecodingKey::from_jwk(set.find(&kid).expect("jwk")).expect("key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(&qr, &key, &validation)
        .expect("standard verification")
        .claims;
    assert_eq!(
        (claims["jti"].as_str(), claims["evt"].as_str()),
        (Some(id.as_str()), Some(ev.as_str()))
    );
    // A ticket key does not verify admission tokens.
    let admission_keys = queue::PublicKeySet::from_jwks(&jwks).expect("admission keys");
    assert!(admission_keys.verifying_key(&kid).is_none());

    // The QR code as an image.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/tickets/{id}/qr.png")))
        .send()
        .await
        .expect("png");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = r.bytes().await.expect("bytes");
    assert_eq!(&png[..4], b"\x89PNG");
    let r = app
        .http
        .get(app.url(&format!("/api/v1/tickets/{id}/qr.svg")))
        .send()
        .await
        .expect("svg");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let r = app
        .http
        .get(app.url(&format!("/api/v1/tickets/{id}/ticket.pdf")))
        .send()
        .await
        .expect("pdf");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.expect("bytes");
    assert_eq!(&pdf[..5], b"%PDF-");

    // Door staff: an API key and a login.
    let (_, door_key) = create_key(&app, ADMIN, "door").await;
    let owner = login(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    create_operator(&app, &owner, "door@example.com", "door").await;
    let door_login = login(&app, "door@example.com", "password-123").await;
    let checkin = |token: String, ticket: String, gate: &'static str| {
        let app = &app;
        let ev = ev.clone();
        async move {
            let body = json!({"ticket": ticket, "gate": gate, "event": ev});
            call(
                app,
                Some(&token),
                Method::POST,
                "/api/v1/checkin",
                Some(body),
            )
            .await
        }
    };
    let r = checkin(door_key.clone(), qr.clone(), "north").await;
    let first = expect(r, 200, "check-in").await;
    assert_eq!(first["result"], "valid", "{first}");
    assert_eq!(first["ticket"], id.as_str());
    assert_eq!(first["first_scan"]["gate"], "north");
    let r = checkin(door_login.clone(), qr.clone(), "south").await;
    let second = expect(r, 200, "second scan").await;
    assert_eq!(second["result"], "already_used", "{second}");
    assert_eq!(second["first_scan"], first["first_scan"]);
    let other = tickets[1]["reference"]
        .as_str()
        .expect("reference")
        .to_owned();
    let r = checkin(door_login.clone(), other, "south").await;
    assert_eq!(expect(r, 200, "by reference").await["result"], "valid");
    let r = checkin(door_key.clone(), "not.a.ticket".into(), "north").await;
    let bad = expect(r, 200, "garbage").await;
    assert_eq!(bad["result"], "invalid");
    let r = checkin(door_key.clone(), qr.clone(), "").await;
    expect(r, 422, "empty gate").await;
    let r = call(
        &app,
        Some(&door_key),
        Method::GET,
        &format!("/api/v1/checkin/offline/{ev}"),
        None,
    )
    .await;
    let list = expect(r, 200, "offline list").await;
    assert_eq!(list["tickets"].as_array().map(Vec::len), Some(2));

    // Check-ins per minute and gate, for operators (not door staff).
    let r = call(
        &app,
        Some(ADMIN),
        Method::GET,
        &format!("{base}/checkins.csv"),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/csv"));
    let csv = r.text().await.expect("csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("minute_utc,gate,checked_in"));
    let mut by_gate: Vec<(String, i64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 3, "{l}");
            (f[1].to_owned(), f[2].parse().expect("count"))
        })
        .collect();
    by_gate.sort();
    let totals: Vec<(String, i64)> = ["north", "south"]
        .iter()
        .map(|g| {
            let n = by_gate.iter().filter(|(x, _)| x == g).map(|(_, n)| n).sum();
            ((*g).to_owned(), n)
        })
        .collect();
    assert_eq!(
        totals,
        [("north".to_owned(), 1), ("south".to_owned(), 1)],
        "{csv}"
    );
    let r = call(
        &app,
        Some(&door_key),
        Method::GET,
        &format!("{base}/checkins.csv"),
        None,
    )
    .await;
    assert_eq!(r.status(), 403, "door staff see only the door");
    let r = call(
        &app,
        Some(ADMIN),
        Method::GET,
        "/api/v1/admin/events/no-such-event/checkins.csv",
        None,
    )
    .await;
    expect(r, 404, "unknown event").await;

    // (What else door staff may not do is in `admin_roles`.)
    // An operator reissues the second (unused) ticket; the old QR is dead.
    let second_id = tickets[1]["id"].as_str().expect("id");
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        &format!("/api/v1/admin/tickets/{second_id}/reissue"),
        None,
    )
    .await;
    expect(r, 409, "a used ticket is not reissued").await;
    forget(backend, &[&ev]).await;
}
