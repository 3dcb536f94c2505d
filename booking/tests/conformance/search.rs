//! Finding events on both databases: every filter, the three sort orders,
//! keyset pages that neither skip nor repeat, and every bad parameter
//! refused with the parameter's name.

use crate::api::{call, get};
use crate::common::{Backend, TestApp};
use crate::tickets::confirmed_order;
use axum::http::StatusCode;
use axum::Router;
use booking::db::{CatalogSeed, EventChanges, SeedSection};
use chrono::{Duration, Utc};
use serde_json::Value;

crate::per_backend!(
    filters_match_category_city_dates_prices_and_text,
    sorts_page_through_every_event_once,
    bad_parameters_are_refused_by_name,
);

/// `id` in `category` and `city`, `days` from now, one tier at `price`.
async fn add_event(app: &TestApp, id: &str, category: &str, city: &str, days: i64, price: i64) {
    let now = Utc::now();
    let seed = CatalogSeed {
        venue: format!("{id} hall"),
        city: city.to_owned(),
        category: category.to_owned(),
        event_id: id.to_owned(),
        name: format!("The {id} show"),
        description: String::new(),
        starts_at: now + Duration::days(days),
        status: "published".to_owned(),
        currency: "usd".to_owned(),
        tiers: vec![("Only".to_owned(), price)],
        sections: vec![SeedSection {
            name: "Floor".to_owned(),
            rows: Vec::new(),
            general: Some((100, 0)),
        }],
        now,
    };
    assert!(app.db.catalog().insert_catalog(&seed).await.unwrap());
}

/// The demo event (music, Springfield, 30 days, 49.00 and 89.00) and:
/// cheap (comedy, Shelbyville, 10 days, 15.00), pricey (sports,
/// Springfield, 60 days, 200.00), and a draft that is never listed.
async fn catalog(backend: Backend) -> (TestApp, Router) {
    let app = TestApp::new(backend).await;
    add_event(&app, "cheap", "comedy", "Shelbyville", 10, 1500).await;
    add_event(&app, "pricey", "sports", "Springfield", 60, 20000).await;
    add_event(&app, "later", "music", "Ogdenville", 90, 3000).await;
    let draft = CatalogSeed {
        status: "draft".to_owned(),
        event_id: "hidden".to_owned(),
        ..booking::db::seed::demo_catalog(Utc::now())
    };
    assert!(app.db.catalog().insert_catalog(&draft).await.unwrap());
    let router = booking::router(app.state.clone());
    (app, router)
}

async fn ids(r: &Router, query: &str) -> Vec<String> {
    let (status, body) = call(r, get(&format!("/api/v1/events?{query}"))).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn filters_match_category_city_dates_prices_and_text(backend: Backend) {
    let (app, r) = catalog(backend).await;
    assert_eq!(ids(&r, "").await, ["cheap", "demo", "pricey", "later"]);
    assert_eq!(ids(&r, "category=music").await, ["demo", "later"]);
    assert_eq!(ids(&r, "category=").await.len(), 4, "empty is any");
    assert_eq!(ids(&r, "city=SPRINGFIELD").await, ["demo", "pricey"]);
    assert_eq!(
        ids(&r, "city=spring").await,
        Vec::<String>::new(),
        "a city is whole"
    );
    let in_20 = (Utc::now() + Duration::days(20)).format("%Y-%m-%d");
    let in_70 = (Utc::now() + Duration::days(70)).format("%Y-%m-%d");
    assert_eq!(
        ids(&r, &format!("from={in_20}")).await,
        ["demo", "pricey", "later"]
    );
    assert_eq!(
        ids(&r, &format!("from={in_20}&to={in_70}")).await,
        ["demo", "pricey"]
    );
    // A tier in range: demo's 49.00 is, its 89.00 is not.
    assert_eq!(ids(&r, "min_price=4000&max_price=5000").await, ["demo"]);
    assert_eq!(ids(&r, "min_price=10000").await, ["pricey"]);
    assert_eq!(ids(&r, "max_price=3000").await, ["cheap", "later"]);
    // Upside-down ranges are well-formed and match nothing.
    assert!(ids(&r, "min_price=5000&max_price=4000").await.is_empty());
    assert!(ids(&r, &format!("from={in_70}&to={in_20}"))
        .await
        .is_empty());
    // Text searches the name, the venue and the city.
    assert_eq!(ids(&r, "q=CHEAP").await, ["cheap"]);
    assert_eq!(ids(&r, "q=waitroom%20arena").await, ["demo"]);
    assert_eq!(ids(&r, "q=shelby").await, ["cheap"]);
    assert_eq!(
        ids(&r, "q=100%25").await,
        Vec::<String>::new(),
        "% is literal"
    );
    assert_eq!(
        ids(&r, "category=music&city=springfield&max_price=5000").await,
        ["demo"]
    );
    // Operators change both; the listing follows.
    let changes = EventChanges {
        category: Some("family".to_owned()),
        city: Some("Capital City".to_owned()),
        ..Default::default()
    };
    let edited = app
        .state
        .sales()
        .update_event("later", &changes)
        .await
        .unwrap();
    assert_eq!(
        (edited.category.as_str(), edited.city.as_str()),
        ("family", "Capital City")
    );
    assert_eq!(
        ids(&r, "category=family&city=capital%20city").await,
        ["later"]
    );
    let (_, body) = call(&r, get("/api/v1/events?q=demo")).await;
    let demo = &body["events"][0];
    assert_eq!(
        (&demo["category"], &demo["city"], &demo["price_from"]),
        (
            &Value::from("music"),
            &Value::from("Springfield"),
            &Value::from(4900)
        )
    );
    assert!(
        demo.get("sold").is_none(),
        "sales figures are not published"
    );
    app.cleanup().await;
}

/// Follows `next_cursor` with pages of `limit`, collecting ids.
async fn all_pages(r: &Router, sort: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut uri = format!("/api/v1/events?sort={sort}&limit={limit}");
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = call(r, get(&uri)).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        let page = body["events"].as_array().unwrap();
        assert!(page.len() <= limit);
        out.extend(page.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
    panic!("pagination did not end: {out:?}");
}

async fn sorts_page_through_every_event_once(backend: Backend) {
    let (app, r) = catalog(backend).await;
    // Two places sold for demo; the others sold none.
    confirmed_order(&app, 2, 0).await;
    let date = ["cheap", "demo", "pricey", "later"];
    let price = ["cheap", "later", "demo", "pricey"];
    for limit in [1, 2, 3, 10] {
        assert_eq!(all_pages(&r, "date", limit).await, date, "limit {limit}");
        assert_eq!(all_pages(&r, "price", limit).await, price, "limit {limit}");
        // Demo sold most; the rest tie at 0 and go by id.
        assert_eq!(
            all_pages(&r, "popularity", limit).await,
            ["demo", "cheap", "later", "pricey"],
            "limit {limit}"
        );
    }
    // A cursor belongs to its order.
    let (_, body) = call(&r, get("/api/v1/events?sort=price&limit=1")).await;
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &r,
        get(&format!("/api/v1/events?sort=popularity&cursor={cursor}")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "cursor");
    app.cleanup().await;
}

async fn bad_parameters_are_refused_by_name(backend: Backend) {
    let (app, r) = catalog(backend).await;
    let long = "x".repeat(101);
    let cases: Vec<(String, &str)> = vec![
        ("sort=name".into(), "sort"),
        ("sort=".into(), "sort"),
        ("category=opera".into(), "category"),
        (format!("city={long}"), "city"),
        (format!("q={long}"), "q"),
        ("min_price=-1".into(), "min_price"),
        ("min_price=1.5".into(), "min_price"),
        ("max_price=abc".into(), "max_price"),
        ("max_price=1000000000001".into(), "max_price"),
        ("min_price=".into(), "min_price"),
        ("from=".into(), "from"),
        ("to=soon".into(), "to"),
        ("limit=101".into(), "limit"),
        ("cursor=bm90LWEtY3Vyc29y".into(), "cursor"),
    ];
    for (query, field) in cases {
        let (status, body) = call(&r, get(&format!("/api/v1/events?{query}"))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed", "{query}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    app.cleanup().await;
}
