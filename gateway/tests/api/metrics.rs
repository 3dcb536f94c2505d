//! `/metrics` on its own listener when `metrics_listen` is set: scrapes and
//! fans never share a port, and the figures are not public.

use crate::helpers::*;

#[tokio::test]
async fn metrics_move_to_their_own_listener() {
    // A free port for the metrics listener (the server binds it itself).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let app = spawn_with(move |s| s.metrics_listen = Some(([127, 0, 0, 1], port).into())).await;
    let public = app.http.get(app.url("/metrics")).send().await.expect("get");
    assert_eq!(public.status(), 404, "not on the public listener");
    let internal = app
        .http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics listener answers");
    assert_eq!(internal.status(), 200);
    let text = internal.text().await.expect("text");
    assert!(text.contains("waitroom_http_requests_total"), "{text}");
}
