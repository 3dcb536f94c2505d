//! Events and seat maps created by operators through the booking catalog.

use crate::admin_support::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    events_are_created_with_validated_seat_maps,
    concurrent_creates_answer_one_201_and_409s,
);

pub fn new_event(id: &str) -> Value {
    json!({
        "id": id, "name": "Summer tour", "venue": "Arena", "city": "Lyon",
        "starts_at": "2027-07-01T20:00:00Z", "currency": "EUR",
        "seat_map_csv": "section,row,seats,tier,price\nFloor,,300,GA,4500\nBalcony,A,12,Front,9000\n"
    })
}

/// Operators creating the same event at once: one is created, every other
/// is told the id is taken (409), none fails with a 500.
async fn concurrent_creates_answer_one_201_and_409s(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let id = unique_event("race");
    let attempts = (0..6).map(|_| {
        call(
            &app,
            Some(ADMIN),
            Method::POST,
            "/api/v1/admin/events",
            Some(new_event(&id)),
        )
    });
    let mut statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
}

async fn events_are_created_with_validated_seat_maps(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let id = unique_event("ev");
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        "/api/v1/admin/events",
        Some(new_event(&id)),
    )
    .await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["places"], 312);
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        "/api/v1/admin/events",
        Some(new_event(&id)),
    )
    .await;
    assert_eq!(r.status(), 409, "the id is taken");

    let mut bad = new_event(&unique_event("ev"));
    bad["seat_map_csv"] =
        json!("section,row,seats,tier,price\nFloor,,300,GA,4500\nFloor,A,0,GA,4500\nB,1,5,GA,1\n");
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        "/api/v1/admin/events",
        Some(bad),
    )
    .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        (
            body["error"]["code"].as_str(),
            body["error"]["field"].as_str()
        ),
        (Some("validation_failed"), Some("seat_map"))
    );
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("line 3") && message.contains("line 4"),
        "{message}"
    );

    let mut bad = new_event(&unique_event("ev"));
    bad["starts_at"] = json!("tomorrow");
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        "/api/v1/admin/events",
        Some(bad),
    )
    .await;
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        (
            body["error"]["code"].as_str(),
            body["error"]["field"].as_str()
        ),
        (Some("validation_failed"), Some("starts_at"))
    );
}
