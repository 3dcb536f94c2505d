//! The operator controls of the core issue: key-protected, validated.

use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn settings_need_the_operator_key_and_valid_values() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/admin/events/a1/queue");
    let r = app
        .http
        .put(&url)
        .json(&queue(60, 10))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .put(&url)
        .bearer_auth("wrong")
        .json(&queue(60, 10))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .put(&url)
        .bearer_auth(ADMIN)
        .json(&queue(60, 10))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 201);
    let r = app
        .http
        .put(&url)
        .bearer_auth(ADMIN)
        .json(&queue(90, 10))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);

    for (patch, field) in [
        (json!({"admit_per_minute": -5}), "admit_per_minute"),
        (json!({"max_active": -1}), "max_active"),
        (json!({"state": "sideways"}), "state"),
        (json!({"session_ttl_seconds": 1}), "session_ttl_seconds"),
    ] {
        let r = app.patch_queue("a1", patch.clone()).await;
        assert_eq!(r.status(), 422, "{patch}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "validation_failed", "{body}");
        assert_eq!(body["error"]["field"], *field, "{body}");
    }
    let r = app.patch_queue("a1", json!({"colour": "red"})).await;
    assert_eq!(r.status(), 422, "unknown fields are refused");
    let r = app.patch_queue("nope", json!({"max_active": 5})).await;
    assert_eq!(r.status(), 404);

    let r = app
        .patch_queue("a1", json!({"max_active": 5, "state": "paused"}))
        .await;
    assert_eq!(r.status(), 200);
    let s: Value = app
        .http
        .get(&url)
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(s["max_active"], 5);
    assert_eq!(s["state"], "paused");
    assert_eq!(s["admit_per_minute"], 90, "unpatched fields unchanged");
}
