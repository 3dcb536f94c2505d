//! A sale after its creation, over HTTP on both backends: edit, publish,
//! fans buy, the report and the CSV export count them, and cancelling
//! closes the queue, refunds every buyer and emails them.

use crate::admin_events::new_event;
use crate::admin_support::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

crate::on_both_backends!(a_sale_is_edited_published_reported_and_cancelled);

pub(crate) async fn expect(r: reqwest::Response, status: u16, what: &str) -> Value {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// One fan through the queue, a two-place hold, checkout and the dev
/// payment; returns the order id.
async fn buy(app: &TestApp, event: &str, email: &str) -> String {
    buy_as_fan(app, event, email).await.0
}

/// [`buy`], also returning the fan's visitor credential (which sees the
/// order).
pub(crate) async fn buy_as_fan(app: &TestApp, event: &str, email: &str) -> (String, String) {
    let joined = app.join(event).await;
    let cred = joined["queue_token"].as_str().expect("credential");
    let mut ws = app.ws(event, cred).await;
    let admitted = next_of(&mut ws, "admitted", 10).await;
    let token = admitted["admission_token"].as_str().expect("token");
    let r = app
        .http
        .post(app.url(&format!("/api/v1/events/{event}/holds")))
        .bearer_auth(token)
        .header("x-queue-token", cred)
        .json(&json!({"quantity": 2}))
        .send()
        .await
        .expect("hold");
    let hold = expect(r, 201, "hold").await;
    let hold_id = hold["hold_id"].as_str().expect("hold id");
    let r = app
        .http
        .post(app.url(&format!("/api/v1/holds/{hold_id}/checkout")))
        .header("x-queue-token", cred)
        .json(&json!({"email": email}))
        .send()
        .await
        .expect("checkout");
    let checkout = expect(r, 200, "checkout").await;
    let confirm = checkout["confirm_url"].as_str().expect("dev confirm url");
    let r = app.http.post(app.url(confirm)).send().await.expect("pay");
    let paid = expect(r, 200, "pay").await;
    assert_eq!(paid["status"], "confirmed");
    let order = paid["order_id"].as_str().expect("order").to_owned();
    (order, cred.to_owned())
}

/// Mail files whose text contains `needle`, waiting up to 10 s for `n`.
async fn mails_containing(app: &TestApp, needle: &str, n: usize) -> Vec<String> {
    let dir = app.data_dir().join("mail");
    let mut found = Vec::new();
    for _ in 0..100 {
        found = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .filter(|body| body.contains(needle))
                    .collect()
            })
            .unwrap_or_default();
        if found.len() >= n {
            break;
        }
        // The outbox worker runs on its own; there is no event to await
        // from outside the process but the file itself.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found
}

async fn a_sale_is_edited_published_reported_and_cancelled(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let id = unique_event("sale");
    let admin = |method: Method, path: String, body: Option<Value>| {
        let app = &app;
        async move { call(app, Some(ADMIN), method, &path, body).await }
    };
    let base = format!("/api/v1/admin/events/{id}");
    let r = admin(
        Method::POST,
        "/api/v1/admin/events".into(),
        Some(new_event(&id)),
    )
    .await;
    expect(r, 201, "create").await;
    // Listed for operators from the catalog, before it has a queue.
    let listed = |list: Value| {
        let entry = list
            .as_array()
            .expect("list")
            .iter()
            .find(|e| e["event"] == id.as_str())
            .cloned();
        entry.expect("the new event is listed")
    };
    let list = expect(
        admin(Method::GET, "/api/v1/admin/events".into(), None).await,
        200,
        "list",
    )
    .await;
    let entry = listed(list);
    assert_eq!(entry["catalog"]["status"], "draft");
    assert!(entry["queue"].is_null(), "no queue yet: {entry}");
    let public = format!("/api/v1/events/{id}");
    expect(
        app.http.get(app.url(&public)).send().await.expect("get"),
        404,
        "draft is hidden",
    )
    .await;

    // Edit: validated, audited, only the named fields change.
    let r = admin(
        Method::PATCH,
        base.clone(),
        Some(json!({"starts_at": "tomorrow"})),
    )
    .await;
    let err = expect(r, 422, "bad time").await;
    assert_eq!(
        (
            err["error"]["code"].as_str(),
            err["error"]["field"].as_str()
        ),
        (Some("validation_failed"), Some("starts_at"))
    );
    let r = admin(Method::PATCH, base.clone(), Some(json!({"colour": "red"}))).await;
    expect(r, 422, "unknown field").await;
    let r = admin(
        Method::PATCH,
        "/api/v1/admin/events/nope".into(),
        Some(json!({})),
    )
    .await;
    expect(r, 404, "unknown event").await;
    let moved = json!({"name": "Summer tour (moved)", "starts_at": "2027-07-02T20:00:00Z"});
    let edited = expect(
        admin(Method::PATCH, base.clone(), Some(moved)).await,
        200,
        "edit",
    )
    .await;
    assert_eq!(edited["name"], "Summer tour (moved)");
    assert_eq!(edited["venue_name"], "Arena");

    // A draft's seat map can be replaced (validated as at creation).
    let bad = json!({"seat_map_csv": "section,row,seats,tier,price\nFloor,,lots,GA,4500\n"});
    let r = admin(Method::PUT, format!("{base}/seat-map"), Some(bad)).await;
    let err = expect(r, 422, "bad seat map").await;
    assert_eq!(
        (
            err["error"]["code"].as_str(),
            err["error"]["field"].as_str()
        ),
        (Some("validation_failed"), Some("seat_map"))
    );
    let smaller = json!({"seat_map_csv":
        "section,row,seats,tier,price\nFloor,,200,GA,4500\nBalcony,A,12,Front,9000\n"});
    let r = admin(
        Method::PUT,
        format!("{base}/seat-map"),
        Some(smaller.clone()),
    )
    .await;
    assert_eq!(expect(r, 200, "replace seat map").await["places"], 212);

    let published = expect(
        admin(Method::POST, format!("{base}/publish"), None).await,
        200,
        "publish",
    )
    .await;
    assert_eq!(published["status"], "published");
    let again = expect(
        admin(Method::POST, format!("{base}/publish"), None).await,
        409,
        "twice",
    )
    .await;
    assert_eq!(again["error"]["code"], "not_a_draft");
    expect(
        app.http.get(app.url(&public)).send().await.expect("get"),
        200,
        "on sale",
    )
    .await;
    let r = admin(Method::PUT, format!("{base}/seat-map"), Some(smaller)).await;
    let err = expect(r, 409, "seat map on sale").await;
    assert_eq!(err["error"]["code"], "not_a_draft");

    // Two fans buy two general-admission places each (45.00 EUR a place).
    app.create_queue(&id, queue(600, 100)).await;
    let list = expect(
        admin(Method::GET, "/api/v1/admin/events".into(), None).await,
        200,
        "list",
    )
    .await;
    let entry = listed(list);
    assert_eq!(entry["queue"]["admit_per_minute"], 600);
    assert_eq!(entry["catalog"]["status"], "published");
    let first = buy(&app, &id, "ann@example.com").await;
    let second = buy(&app, &id, "bob@example.com").await;
    let report = expect(
        admin(Method::GET, format!("{base}/report"), None).await,
        200,
        "report",
    )
    .await;
    let sales = &report["sales"];
    assert_eq!(
        (sales["sold"].as_i64(), sales["capacity"].as_i64()),
        (Some(4), Some(212))
    );
    assert_eq!(sales["orders"]["confirmed"], 2);
    assert_eq!(sales["revenue"], 18_000);

    let r = admin(Method::GET, format!("{base}/orders.csv"), None).await;
    assert_eq!(r.status(), 200);
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(kind.starts_with("text/csv"), "{kind}");
    let disposition = r
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok());
    assert_eq!(
        disposition,
        Some(format!("attachment; filename=\"{id}-orders.csv\"").as_str())
    );
    let csv = r.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "header and two orders: {csv}");
    assert!(lines[0].starts_with("order_id,reference,status,email"));
    for (order, email) in [(&first, "ann@example.com"), (&second, "bob@example.com")] {
        let row = lines
            .iter()
            .find(|l| l.starts_with(order.as_str()))
            .expect("order row");
        assert!(
            row.contains(",confirmed,") && row.contains(email) && row.contains(",90.00,"),
            "{row}"
        );
    }

    // An open queue cannot be removed.
    let r = admin(Method::DELETE, format!("{base}/queue"), None).await;
    expect(r, 409, "remove an open queue").await;

    // Cancel: the id must be typed again; then everything is undone.
    let r = admin(
        Method::POST,
        format!("{base}/cancel"),
        Some(json!({"confirm": "oops"})),
    )
    .await;
    let err = expect(r, 422, "unconfirmed cancel").await;
    assert_eq!(
        (
            err["error"]["code"].as_str(),
            err["error"]["field"].as_str()
        ),
        (Some("validation_failed"), Some("confirm"))
    );
    let body = json!({"confirm": id, "reason": "Storm warning"});
    let done = expect(
        admin(Method::POST, format!("{base}/cancel"), Some(body)).await,
        200,
        "cancel",
    )
    .await;
    assert_eq!(done["report"]["refunded"], 2, "{done}");
    assert_eq!(done["report"]["refund_failed"], json!([]));
    // The stored settings change at once; every node applies them at
    // its next tick.
    let r = admin(Method::GET, format!("{base}/queue"), None).await;
    let settings = expect(r, 200, "queue settings").await;
    assert_eq!(settings["state"], "closed");
    assert!(settings["opens_at"].is_null(), "no schedule reopens it");
    let shown = expect(admin(Method::GET, base.clone(), None).await, 200, "show").await;
    assert_eq!(shown["event"]["status"], "cancelled");
    assert_eq!(
        (
            shown["sales"]["sold"].as_i64(),
            shown["sales"]["revenue"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(shown["sales"]["refunded"], 18_000);
    let r = admin(Method::PATCH, base.clone(), Some(json!({"name": "x"}))).await;
    assert_eq!(
        expect(r, 409, "edit cancelled").await["error"]["code"],
        "event_cancelled"
    );
    expect(
        app.http.get(app.url(&public)).send().await.expect("get"),
        404,
        "off sale",
    )
    .await;

    // Closed, no session left (both buyers' sessions ended when they
    // paid): the queue can go; the catalog and orders stay.
    let r = admin(Method::DELETE, format!("{base}/queue"), None).await;
    assert_eq!(r.status(), 204);
    let r = admin(Method::GET, format!("{base}/queue"), None).await;
    expect(r, 404, "queue gone").await;
    expect(
        admin(Method::GET, base.clone(), None).await,
        200,
        "event stays",
    )
    .await;

    let mails = mails_containing(&app, "has been cancelled by the organiser", 2).await;
    assert_eq!(mails.len(), 2, "each buyer is told");
    assert!(mails.iter().all(|m| m.contains("Storm warning")));
    assert!(mails.iter().any(|m| m.contains("ann@example.com")));
    assert!(mails.iter().any(|m| m.contains("bob@example.com")));

    let audit = expect(
        admin(
            Method::GET,
            format!("/api/v1/admin/audit?target=event:{id}"),
            None,
        )
        .await,
        200,
        "audit",
    )
    .await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    for action in [
        "event.create",
        "event.edit",
        "event.publish",
        "queue.close",
        "event.cancel",
        "queue.remove",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    forget(backend, &[&id]).await;
}
