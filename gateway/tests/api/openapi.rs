//! The OpenAPI document at `/api/v1/openapi.json`: well formed, generated
//! from the routers (each handler's `#[utoipa::path]`), and true to the
//! running server. `scripts/contract-test.sh` fuzzes the server against it.

use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The HTTP methods the routers use (`get(…)`, `.post(…)`, …).
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

const TAGS: [&str; 6] = [
    "queue",
    "booking",
    "payments",
    "accounts",
    "admin",
    "operations",
];

async fn served_document(app: &TestApp) -> Value {
    let r = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("GET openapi.json");
    assert_eq!(r.status(), 200, "openapi.json status");
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        ctype.starts_with("application/json"),
        "content-type {ctype}"
    );
    let text = r.text().await.expect("body");
    serde_json::from_str(&text).expect("the OpenAPI document is not valid JSON")
}

/// Every documented operation: (path, method) → operation object.
fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    let mut ops = BTreeMap::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for (method, op) in item {
            if METHODS.contains(&method.as_str()) {
                ops.insert((path.clone(), method.clone()), op);
            }
        }
    }
    ops
}

/// Every `$ref` in `v`, with the JSON pointer where it stands.
fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("$ref", Value::String(r)) => out.push((at.clone(), r)),
                    _ => refs(
                        child,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    ),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Follows a local `$ref` (one level at a time, until there is none).
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        v = r
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .unwrap_or(&Value::Null);
    }
    v
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi is {version:?}");

    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(!found.is_empty(), "the document uses no $ref at all");
    let broken: Vec<String> = found
        .iter()
        .filter(|(_, r)| {
            !r.starts_with("#/components/")
                || r.strip_prefix('#').and_then(|p| doc.pointer(p)).is_none()
        })
        .map(|(at, r)| format!("{at}: {r}"))
        .collect();
    assert!(broken.is_empty(), "unresolved $ref:\n{}", broken.join("\n"));

    // Every operation is named, tagged with a known tag, and its errors
    // use the shared shape (429/503 with Retry-After).
    let error = "#/components/schemas/Error";
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    for ((path, method), op) in operations(&doc) {
        let at = format!("{} {path}", method.to_uppercase());
        match op["operationId"].as_str() {
            Some(id) if ids.insert(id.to_owned()) => {}
            other => problems.push(format!("{at}: operationId {other:?} missing or repeated")),
        }
        if op["summary"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{at}: no summary"));
        }
        let tags: Vec<&str> = op["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if tags.is_empty() || tags.iter().any(|t| !TAGS.contains(t)) {
            problems.push(format!("{at}: tags {tags:?} not among {TAGS:?}"));
        }
        let responses = op["responses"].as_object().cloned().unwrap_or_default();
        if !responses.keys().any(|s| s.starts_with('2') || s == "101") {
            problems.push(format!("{at}: no success response"));
        }
        for (status, response) in &responses {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let response = resolve(&doc, response);
            let json_body = &response["content"]["application/json"]["schema"];
            let mut inner = Vec::new();
            refs(json_body, String::new(), &mut inner);
            // A named body (e.g. `JoinRefused`, an error or a challenge):
            // one level down.
            refs(resolve(&doc, json_body), String::new(), &mut inner);
            let is_error = inner.iter().any(|(_, r)| {
                *r == error || resolve(&doc, &json!({"$ref": r}))["allOf"][0]["$ref"] == error
            });
            // The readiness report is the body of readyz's 503 by design.
            if !is_error && op["operationId"] != "readyz" {
                problems.push(format!("{at} {status}: not the shared Error schema"));
            }
            if is_error
                && (status == "429" || status == "503")
                && response["headers"]["Retry-After"].is_null()
            {
                problems.push(format!("{at} {status}: no Retry-After header"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `path` with each `{param}` replaced: `demo` for events, `x` otherwise
/// (ids that do not exist, so no destructive route finds anything to do).
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("unclosed {param}") + open;
        out.push_str(if &rest[open + 1..close] == "event" {
            "demo"
        } else {
            "x"
        });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    let ops = operations(&doc);
    assert!(ops.len() > 40, "only {} operations documented", ops.len());
    let mut problems = Vec::new();
    for ((path, method), op) in &ops {
        let url = app.url(&concrete(path));
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let mut req = app.http.request(m, &url);
        if path.starts_with("/api/v1/admin/") {
            req = req.bearer_auth(ADMIN);
        }
        if !matches!(method.as_str(), "get" | "delete") {
            req = req.json(&json!({}));
        }
        // WebSocket routes get a plain GET: no upgrade, a 4xx from the route.
        let r = req.send().await.expect("request");
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        let at = format!("{} {path} ({url})", method.to_uppercase());
        if status == 405 {
            problems.push(format!("{at}: 405, the method is not routed"));
            continue;
        }
        let message = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if status == 404 && message.starts_with("no such path") {
            problems.push(format!(
                "{at}: 404 from the catch-all, the path is not routed"
            ));
            continue;
        }
        if op["responses"].get(status.as_str()).is_none()
            && op["responses"].get("default").is_none()
        {
            problems.push(format!(
                "{at}: answered {status} ({body:.200}), which is not documented"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The routers register each handler with its `#[utoipa::path]` (utoipa-axum
/// `routes!`), so every routed operation is documented by construction.
/// This checks the other side on the running server: the document served
/// is the one the code builds, every name it uses is defined, and on every
/// documented path each method it does not document is refused with 405
/// (the router has no undocumented method there).
#[tokio::test]
async fn the_served_document_is_the_generated_one_and_undocumented_methods_are_not_routed() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    assert_eq!(doc, gateway::openapi::document(), "served ≠ generated");
    let problems = gateway::openapi::component_problems();
    assert!(problems.is_empty(), "components: {problems:?}");

    let documented: BTreeSet<(String, String)> = operations(&doc).into_keys().collect();
    let paths: BTreeSet<&String> = documented.iter().map(|(p, _)| p).collect();
    let mut problems = Vec::new();
    let mut probed = 0;
    for path in paths {
        for method in METHODS {
            if documented.contains(&(path.clone(), method.to_owned())) {
                continue;
            }
            probed += 1;
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = app
                .http
                .request(m, app.url(&concrete(path)))
                .bearer_auth(ADMIN)
                .send()
                .await
                .expect("request");
            if r.status() != 405 {
                problems.push(format!(
                    "{} {path}: {} (undocumented, but not 405)",
                    method.to_uppercase(),
                    r.status()
                ));
            }
        }
    }
    assert!(probed > 100, "only {probed} undocumented methods probed");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// README's "Error codes" table and the document's `Error.code` enum are
/// the code table, exactly. `WAITROOM_BLESS=1` rewrites README's table
/// from `queue::api::ErrorCode` after changing it.
#[test]
fn error_codes_are_documented_from_the_one_table() {
    use queue::api::ErrorCode;
    let bless = std::env::var_os("WAITROOM_BLESS").is_some();
    let (begin, end) = ("<!-- error-codes:begin -->\n", "<!-- error-codes:end -->");
    let readme_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(readme_path).expect("README.md");
    let (Some(b), Some(e)) = (readme.find(begin), readme.find(end)) else {
        panic!("README.md lacks the error-codes markers");
    };
    let documented = &readme[b + begin.len()..e];
    let table = ErrorCode::markdown_table();
    if bless && documented != table {
        let fresh = format!("{}{table}{}", &readme[..b + begin.len()], &readme[e..]);
        std::fs::write(readme_path, fresh).expect("write README.md");
    } else {
        assert_eq!(
            documented, table,
            "README's error table differs from queue::api::ErrorCode (WAITROOM_BLESS=1 rewrites it)"
        );
    }

    let doc = gateway::openapi::document();
    let codes: Vec<Value> = ErrorCode::ALL.iter().map(|c| json!(c.as_str())).collect();
    assert_eq!(
        doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"],
        Value::Array(codes),
        "the document's Error.code enum is queue::api::ErrorCode, in order"
    );
}
