//! A shadow place (the infinite queue) and a real place answer alike, byte
//! for byte apart from the values: join, rejoin and status (status line,
//! headers with the cookie's attributes, the JSON's keys in order and the
//! type of every value) and the WebSocket (handshake, hello, position
//! messages). Values differ by design: a shadow is never admitted.

use crate::bots::{bot_app, challenge, guarded_queue, solved};
use crate::helpers::*;
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// One token of a JSON text with its values blanked: punctuation and keys
/// as written, each value as its type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Punct(char),
    Key(String),
    Str,
    Num,
    Bool,
    Null,
}

/// The JSON text's shape, in the order the server wrote it (a parsed
/// `Value` would sort the keys).
fn shape(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' | b'}' | b'[' | b']' | b',' | b':' => {
                out.push(Tok::Punct(b[i] as char));
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let s = &text[start..i.min(b.len())];
                i += 1;
                let mut j = i;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                out.push(if j < b.len() && b[j] == b':' {
                    Tok::Key(s.to_owned())
                } else {
                    Tok::Str
                });
            }
            b't' | b'f' => {
                out.push(Tok::Bool);
                i += if b[i] == b't' { 4 } else { 5 };
            }
            b'n' => {
                out.push(Tok::Null);
                i += 4;
            }
            c if c == b'-' || c.is_ascii_digit() => {
                out.push(Tok::Num);
                while i < b.len() && matches!(b[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether two shapes agree; `null` and a number stand for the same
/// optional number (an ETA is unknown until a rate is measured).
fn alike(a: &[Tok], b: &[Tok]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || matches!((x, y), (Tok::Null, Tok::Num) | (Tok::Num, Tok::Null)))
}

/// An answer's status and headers (see [`head`]).
type Head = (u16, Vec<(String, String)>);

/// An answer's head and body text.
type Answer = (Head, String);

/// Status, header names in order, and the values that are not values of
/// the answer (the cookie's attributes without the credential).
fn head(r: &reqwest::Response) -> Head {
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| {
            let v = v.to_str().unwrap_or("<binary>");
            let v = match k.as_str() {
                // Values of the answer, not of its form.
                "date" | "content-length" => String::new(),
                "set-cookie" => match v.split_once(';') {
                    Some((pair, attrs)) => {
                        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
                        format!("{name}=…;{attrs}")
                    }
                    None => v.to_owned(),
                },
                _ => v.to_owned(),
            };
            (k.as_str().to_owned(), v)
        })
        .collect();
    (r.status().as_u16(), headers)
}

/// Head and body text of an answer.
async fn answer(r: reqwest::Response) -> Answer {
    let h = head(&r);
    (h, r.text().await.expect("body"))
}

fn assert_alike(what: &str, real: &Answer, bot: &Answer) {
    assert_eq!(real.0, bot.0, "{what}: status and headers differ");
    assert!(
        alike(&shape(&real.1), &shape(&bot.1)),
        "{what}: bodies differ in shape\nreal: {}\nbot:  {}",
        real.1,
        bot.1
    );
}

async fn join(
    app: &TestApp,
    event: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(&format!("/api/v1/queue/{event}/join")))
        .header(queue::api::TOKEN_IN_BODY_HEADER, "1");
    if let Some(t) = token {
        req = req.header("x-queue-token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("join")
}

/// Waits until the queue's view counts `n` waiters (a tick ran).
async fn waiting(app: &TestApp, event: &str, n: u64) {
    for _ in 0..100 {
        let info: Value = app
            .http
            .get(app.url(&format!("/api/v1/queue/{event}")))
            .send()
            .await
            .expect("info")
            .json()
            .await
            .expect("json");
        if info["waiting"].as_u64() == Some(n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the queue never counted {n} waiters");
}

/// Opens a socket; the handshake's status and header names, and the socket.
async fn socket(app: &TestApp, event: &str, token: &str) -> (Vec<String>, Ws) {
    let mut req = format!("ws://{}/api/v1/queue/{event}/ws", app.addr)
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("x-queue-token", token.parse().expect("header"));
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("ws connect");
    let names = resp
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect();
    (names, ws)
}

/// The next text message, raw.
async fn next_text(ws: &mut Ws, secs: u64) -> Option<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.to_string()),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

async fn next_typed(ws: &mut Ws, kind: &str, secs: u64) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let text = next_text(ws, left.as_secs().max(1))
            .await
            .unwrap_or_else(|| panic!("no {kind} message in time"));
        let v: Value = serde_json::from_str(&text).expect("json message");
        if v["type"] == kind {
            return text;
        }
    }
}

#[tokio::test]
async fn a_shadow_place_answers_byte_for_byte_like_a_real_one() {
    let app = bot_app(|_| {}).await;
    let e = "alike";
    app.create_queue(
        e,
        guarded_queue(json!({"captcha_failure": "infinite_queue"})),
    )
    .await;
    // Two fans ahead, then a real fan and a bot side by side.
    for _ in 0..2 {
        let r = join(&app, e, Some(solved(&challenge(&app, e).await)), None).await;
        assert_eq!(r.status(), 201);
    }
    let real = answer(join(&app, e, Some(solved(&challenge(&app, e).await)), None).await).await;
    waiting(&app, e, 3).await;
    let bot = answer(join(&app, e, Some(json!({"captcha": null})), None).await).await;
    assert_alike("join", &real, &bot);
    let real_v: Value = serde_json::from_str(&real.1).expect("json");
    let bot_v: Value = serde_json::from_str(&bot.1).expect("json");
    assert_eq!(
        (real_v["position"].as_u64(), bot_v["position"].as_u64()),
        (Some(3), Some(4)),
        "the bot is just behind the real queue"
    );
    let real_token = real_v["queue_token"].as_str().expect("token").to_owned();
    let bot_token = bot_v["queue_token"].as_str().expect("token").to_owned();

    // Joining again with the credential: the same place, alike.
    let real_again = answer(join(&app, e, None, Some(&real_token)).await).await;
    let bot_again = answer(join(&app, e, None, Some(&bot_token)).await).await;
    assert_eq!(real_again.0 .0, 200);
    assert_alike("rejoin", &real_again, &bot_again);

    // Status, by header and by cookie.
    let real_status = answer(app.status(e, &real_token).await).await;
    let bot_status = answer(app.status(e, &bot_token).await).await;
    assert_eq!(real_status.0 .0, 200);
    assert_alike("status", &real_status, &bot_status);
    let by_cookie = |token: String| {
        app.http
            .get(app.url(&format!("/api/v1/queue/{e}/status")))
            .header("cookie", format!("wr_queue_{e}={token}"))
            .send()
    };
    let real_cookie = answer(by_cookie(real_token.clone()).await.expect("status")).await;
    let bot_cookie = answer(by_cookie(bot_token.clone()).await.expect("status")).await;
    assert_alike("status by cookie", &real_cookie, &bot_cookie);

    // A socket from another site is refused alike.
    for token in [&real_token, &bot_token] {
        let r = app
            .http
            .get(app.url(&format!("/api/v1/queue/{e}/ws")))
            .header("x-queue-token", token.as_str())
            .header("origin", "https://elsewhere.example")
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .expect("upgrade");
        assert_eq!(r.status(), 403, "a foreign origin is refused");
    }

    // The socket: the same handshake and hello.
    let (real_names, mut real_ws) = socket(&app, e, &real_token).await;
    let (bot_names, mut bot_ws) = socket(&app, e, &bot_token).await;
    assert_eq!(real_names, bot_names, "handshake headers");
    let real_hello = next_typed(&mut real_ws, "hello", 5).await;
    let bot_hello = next_typed(&mut bot_ws, "hello", 5).await;
    assert!(
        alike(&shape(&real_hello), &shape(&bot_hello)),
        "hello differs in shape\nreal: {real_hello}\nbot:  {bot_hello}"
    );

    // Admission starts: both hear their positions fall, in the same form.
    app.patch_queue(e, json!({"admit_per_minute": 600})).await;
    let real_pos = next_typed(&mut real_ws, "position", 10).await;
    let bot_pos = next_typed(&mut bot_ws, "position", 10).await;
    assert!(
        alike(&shape(&real_pos), &shape(&bot_pos)),
        "first position differs in shape\nreal: {real_pos}\nbot:  {bot_pos}"
    );
    next_typed(&mut real_ws, "admitted", 10).await;
    // Later messages: positions in that same form, down to the front,
    // and never an admission.
    let mut front = false;
    while let Some(text) = next_text(&mut bot_ws, 3).await {
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_ne!(v["type"], "admitted", "a shadow is never admitted");
        if v["type"] == "position" {
            assert!(
                alike(&shape(&real_pos), &shape(&text)),
                "later position: {text}"
            );
            front |= v["position"] == 1;
        }
        if front {
            break;
        }
    }
    assert!(front, "the shadow reaches the front");
}
