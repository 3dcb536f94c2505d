//! The waiting-room page is served, compressed, within its budget, and a
//! browser asking for a page that does not exist gets the "not found" page.

use crate::helpers::*;

#[tokio::test]
async fn the_waiting_room_page_transfers_under_30_kb() {
    let app = spawn_app().await;
    // Everything a phone fetches to show the waiting room in its language
    // (English plus the largest other catalog) and solve the proof of
    // work, as transferred (reqwest does not decompress here).
    let mut total = 0usize;
    for path in [
        "/queue/demo",
        "/style.css",
        "/format.js",
        "/lang-en.js",
        "/i18n.js",
        "/pow.js",
        "/away.js",
        "/queue.js",
        "/pow-worker.js",
        "/lang-ja.json",
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

#[tokio::test]
async fn a_missing_page_is_a_404_page_for_browsers_and_json_for_the_rest() {
    let app = spawn_app().await;
    let page = app
        .http
        .get(app.url("/no-such-page"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 404);
    assert!(page.headers().contains_key("content-security-policy"));
    let ctype = page
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    assert_eq!(ctype, Some("text/html; charset=utf-8"));
    let body = page.text().await.expect("body");
    assert!(body.contains(r#"data-i18n="e.not_found.head""#), "{body}");

    for (path, accept) in [("/no-such.js", "*/*"), ("/api/v1/nope", "text/html")] {
        let r = app
            .http
            .get(app.url(path))
            .header("accept", accept)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 404, "{path}");
        let json: serde_json::Value = r.json().await.expect("JSON error");
        assert_eq!(json["error"]["code"], "not_found", "{path}");
    }
}
