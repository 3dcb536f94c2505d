//! The waiting-room page is served, compressed, within its budget.

use crate::helpers::*;

#[tokio::test]
async fn the_waiting_room_page_transfers_under_30_kb() {
    let app = spawn_app().await;
    // Everything a phone fetches to show the waiting room and solve the
    // proof of work, as transferred (reqwest does not decompress here).
    let mut total = 0usize;
    for path in [
        "/queue/demo",
        "/style.css",
        "/queue.js",
        "/pow.js",
        "/pow-worker.js",
    ] {
        let r = app
            .http
            .get(app.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("page");
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
            Some("gzip"),
            "{path} is compressed"
        );
        total += r.bytes().await.expect("body").len();
    }
    assert!(total < 30 * 1024, "waiting room transfers {total} bytes");
}
