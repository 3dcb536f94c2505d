//! Events and seat maps created by operators through the booking catalog.

use crate::admin_support::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    events_are_created_with_validated_seat_maps,
    concurrent_creates_answer_one_201_and_409s,
    events_get_a_category_and_a_city,
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

/// Category and city: set on creating, changed by editing, validated both
/// times, and what the public catalog filters on.
async fn events_get_a_category_and_a_city(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let id = unique_event("cat");
    let mut ev = new_event(&id);
    ev["category"] = json!("comedy");
    ev["status"] = json!("published");
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        "/api/v1/admin/events",
        Some(ev),
    )
    .await;
    assert_eq!(r.status(), 201);
    let base = format!("/api/v1/admin/events/{id}");
    let public = |query: String| {
        let app = &app;
        async move {
            let r = app
                .http
                .get(app.url(&format!("/api/v1/events?{query}")))
                .send()
                .await;
            let body: Value = r.expect("list").json().await.expect("json");
            body["events"]
                .as_array()
                .expect("events")
                .iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        public("category=comedy&city=lyon&q=summer".into()).await,
        [id.as_str()]
    );

    for (field, value) in [
        ("category", json!("opera")),
        ("city", json!("x".repeat(101))),
    ] {
        let mut bad = new_event(&unique_event("cat"));
        bad[field] = value.clone();
        let r = call(
            &app,
            Some(ADMIN),
            Method::POST,
            "/api/v1/admin/events",
            Some(bad),
        )
        .await;
        assert_eq!(r.status(), 422, "{field}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["field"], field);
        let r = call(
            &app,
            Some(ADMIN),
            Method::PATCH,
            &base,
            Some(json!({ field: value })),
        )
        .await;
        assert_eq!(r.status(), 422, "patch {field}");
    }

    let r = call(
        &app,
        Some(ADMIN),
        Method::PATCH,
        &base,
        Some(json!({"category": "family", "city": " Grenoble "})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let edited: Value = r.json().await.expect("json");
    assert_eq!(
        (&edited["category"], &edited["city"]),
        (&json!("family"), &json!("Grenoble"))
    );
    assert_eq!(edited["venue_city"], "Lyon", "the venue keeps its city");
    assert!(public("category=comedy".into()).await.is_empty());
    assert_eq!(
        public("category=family&city=GRENOBLE".into()).await,
        [id.as_str()]
    );
    forget(backend, &[&id]).await;
}
