//! A fan who went away (locked phone, background tab) for longer than the
//! departure grace comes back to the same ticket, by poll or socket; one
//! whose ticket the head passed is admitted before everyone waiting.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const GRACE: u64 = 5;

fn settings(rate: u32, max_active: u32) -> Value {
    let mut s = queue(rate, max_active);
    s["departure_grace_seconds"] = json!(GRACE);
    s
}

fn token(v: &Value) -> &str {
    v["queue_token"].as_str().expect("queue_token")
}

/// Waits for a position message with `position == want`.
async fn position_becomes(ws: &mut Ws, want: u64) {
    loop {
        let m = next_of(ws, "position", 3 * GRACE + 5).await;
        if m["position"] == want {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_away_three_graces_polls_back_into_their_ticket() {
    let app = spawn_app().await;
    app.create_queue("r1", settings(0, 10)).await;
    let away = app.join("r1").await;
    let (second, third) = (app.join("r1").await, app.join("r1").await);
    let mut ws2 = app.ws("r1", token(&second)).await;
    let mut ws3 = app.ws("r1", token(&third)).await;
    assert_eq!(next_of(&mut ws3, "hello", 5).await["position"], 3);
    next_of(&mut ws2, "hello", 5).await;

    // The first fan neither polls nor holds a socket: it departs, and
    // everyone present moves up at once.
    let gone = std::time::Instant::now();
    position_becomes(&mut ws3, 2).await;
    position_becomes(&mut ws2, 1).await;
    let s: Value = app
        .status("r1", token(&away))
        .await
        .json()
        .await
        .expect("json");
    // Polling is coming back: the place is still there.
    assert_eq!(s["ticket"], 1);
    assert_eq!(s["kept_place"], true);
    assert_eq!(
        (s["state"].clone(), s["position"].clone()),
        (json!("waiting"), json!(1))
    );
    position_becomes(&mut ws3, 3).await;

    // Away again, this time for three times the grace (the absence is
    // what is tested, so it is waited out).
    let again = std::time::Instant::now();
    position_becomes(&mut ws3, 2).await;
    let left = Duration::from_secs(3 * GRACE).saturating_sub(again.elapsed());
    tokio::time::sleep(left).await;
    assert!(gone.elapsed() >= Duration::from_secs(3 * GRACE));
    let s: Value = app
        .status("r1", token(&away))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (s["ticket"].clone(), s["position"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(s["kept_place"], true);
    position_becomes(&mut ws3, 3).await;
    position_becomes(&mut ws2, 2).await;
    // Once back, the fan is an ordinary waiter again.
    let s: Value = app
        .status("r1", token(&away))
        .await
        .json()
        .await
        .expect("json");
    assert!(s.get("kept_place").is_none());
    let info: Value = app
        .http
        .get(app.url("/api/v1/queue/r1"))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("json");
    assert_eq!(info["waiting"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_the_head_passed_reconnects_and_is_admitted_first() {
    let app = spawn_app().await;
    app.create_queue("r2", settings(0, 10)).await;
    let away = app.join("r2").await;
    let (b, c) = (app.join("r2").await, app.join("r2").await);
    let mut ws_b = app.ws("r2", token(&b)).await;
    let mut ws_c = app.ws("r2", token(&c)).await;
    next_of(&mut ws_b, "hello", 5).await;
    next_of(&mut ws_c, "hello", 5).await;
    position_becomes(&mut ws_c, 2).await;

    // B and C are admitted while the first fan is away: the head passes it.
    app.patch_queue("r2", json!({"admit_per_minute": 6000, "max_active": 2}))
        .await;
    assert_eq!(next_of(&mut ws_b, "admitted", 5).await["ticket"], 2);
    assert_eq!(next_of(&mut ws_c, "admitted", 5).await["ticket"], 3);
    let d = app.join("r2").await;
    let mut ws_d = app.ws("r2", token(&d)).await;
    assert_eq!(next_of(&mut ws_d, "hello", 5).await["position"], 1);

    // The first fan's socket comes back: next in line, ahead of D.
    let mut ws_a = app.ws("r2", token(&away)).await;
    let hello = next_of(&mut ws_a, "hello", 5).await;
    assert_eq!(
        (hello["ticket"].clone(), hello["state"].clone()),
        (json!(1), json!("waiting"))
    );
    assert_eq!(
        (hello["position"].clone(), hello["kept_place"].clone()),
        (json!(1), json!(true))
    );
    position_becomes(&mut ws_d, 2).await;

    // One free slot: it goes to the returning fan, not to D.
    app.patch_queue("r2", json!({"max_active": 3})).await;
    let admitted = next_of(&mut ws_a, "admitted", 5).await;
    assert_eq!(admitted["ticket"], 1);
    let s: Value = app
        .status("r2", token(&d))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (s["state"].clone(), s["position"].clone()),
        (json!("waiting"), json!(1))
    );
    position_becomes(&mut ws_d, 1).await;
}
