//! Tickets and the door, on both databases: one ticket per seat and GA
//! place, signed so a standard JOSE library verifies it from the published
//! keys; one admission under concurrent scans; every kind of bad ticket
//! refused with its reason; offline scans synced with first-scan-wins.

use crate::common::{demo, Backend, Fan, TestApp};
use crate::payments::payment_of;
use booking::db::OrderDetail;
use booking::holds::HoldRequest;
use booking::payment::checkout::CheckoutRequest;
use booking::tickets::checkin::{CheckinRequest, CheckinResult, OfflineScan, SyncRequest};
use booking::tickets::{TicketClaims, TicketKeys};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use queue::keys::SigningKeys;
use std::sync::Arc;

crate::per_backend!(
    a_confirmed_order_gets_one_verifiable_ticket_per_place,
    fifty_concurrent_scans_admit_once,
    bad_tickets_scan_invalid_with_their_reason,
    offline_scans_sync_first_scan_wins,
);

/// Holds `seats` and `ga` places of the demo event as a new fan, checks
/// out and pays: the confirmed order.
pub async fn confirmed_order(app: &TestApp, seats: usize, ga: i64) -> (Fan, OrderDetail) {
    let fan = app.admit("demo");
    let ids: Vec<i64> = app
        .seats()
        .await
        .into_iter()
        .filter(|(_, s)| s == "available")
        .take(seats)
        .map(|s| s.0)
        .collect();
    let req = HoldRequest {
        seats: (!ids.is_empty()).then_some(ids),
        quantity: (ga > 0).then_some(ga),
        pool: None,
    };
    let hold = app
        .state
        .holds()
        .place_hold(&demo(), &fan.creds(), &req)
        .await
        .unwrap();
    let email = CheckoutRequest {
        email: "fan@example.com".to_owned(),
        lang: None,
    };
    let checkout = app
        .state
        .orders()
        .checkout(&hold.hold_id, &fan.session(), &email)
        .await
        .unwrap();
    let payment = payment_of(app, &checkout.order_id).await;
    app.state
        .payments()
        .payment_succeeded(&payment, None)
        .await
        .unwrap();
    let detail = app
        .state
        .orders()
        .order_detail(&checkout.order_id)
        .await
        .unwrap();
    assert_eq!(detail.order.status, "confirmed");
    (fan, detail)
}

async fn scan(app: &TestApp, ticket: &str, gate: &str, event: Option<&str>) -> CheckinResult {
    let req = CheckinRequest {
        ticket: ticket.to_owned(),
        gate: gate.to_owned(),
        event: event.map(str::to_owned),
    };
    app.state.tickets().check_in(&req).await.unwrap()
}

async fn a_confirmed_order_gets_one_verifiable_ticket_per_place(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, seated) = confirmed_order(&app, 2, 0).await;
    let (_, detail) = confirmed_order(&app, 0, 2).await;
    assert_eq!(seated.tickets.len(), 2, "{:?}", seated.tickets);
    assert!(seated.tickets.iter().all(|t| t.seat.contains(" seat ")));
    let tickets: Vec<_> = seated
        .tickets
        .iter()
        .chain(&detail.tickets)
        .cloned()
        .collect();
    assert_eq!(tickets.len(), 4, "2 seats + 2 GA places: {tickets:?}");
    assert!(tickets.iter().all(|t| t.status == "valid"));
    let mut refs: Vec<&str> = tickets.iter().map(|t| t.reference.as_str()).collect();
    refs.sort_unstable();
    refs.dedup();
    assert_eq!(refs.len(), 4);
    assert!(tickets.iter().any(|t| t.seat.contains("place 2 of 2")));

    // A redelivered payment webhook issues nothing more.
    let payment = payment_of(&app, &detail.order.id).await;
    app.state
        .payments()
        .payment_succeeded(&payment, None)
        .await
        .unwrap();
    let again = app
        .state
        .orders()
        .order_detail(&detail.order.id)
        .await
        .unwrap();
    assert_eq!(again.tickets.len(), 2);

    // Verified the way any JOSE client would: the JWKS, the kid in the
    // header, jsonwebtoken's own Ed25519 check. Nothing of ours.
    let jwks: JwkSet = serde_json::from_value(app.state.tickets().ticket_jwks()).unwrap();
    for t in &tickets {
        let header = jsonwebtoken::decode_header(&t.qr).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.typ.as_deref(), Some("wr-ticket"));
        let kid = header.kid.unwrap();
        let jwk = jwks.find(&kid).expect("kid published");
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(&t.qr, &key, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["jti"], t.id.as_str());
        assert_eq!(claims["evt"], "demo");
        assert_eq!(claims["seat"], t.seat.as_str());
        assert!(!t.qr.contains("fan@example.com"));
    }
    let published = app.state.tickets().ticket_jwks();
    assert!(published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["purpose"] == "ticket"));

    // The confirmation email links every ticket and inlines its QR code.
    let mail = app.queued_emails("confirmation").await;
    assert_eq!(mail.len(), 2);
    for t in &tickets {
        let png = format!("/api/v1/tickets/{}/qr.png", t.id);
        assert_eq!(
            mail.iter().filter(|m| m.body_html.contains(&png)).count(),
            1
        );
        assert!(mail.iter().any(|m| m.body_text.contains(&t.reference)));
    }
    // The PNG reads back, with a decoder that is not our encoder, to the
    // ticket, which the door accepts.
    let png = booking::tickets::qr::png(&tickets[0].qr).unwrap();
    assert_eq!(decode_qr(&png), tickets[0].qr);
    let read = decode_qr(&png);
    assert_eq!(
        scan(&app, &read, "north", Some("demo")).await.result,
        "valid"
    );
    assert!(booking::tickets::qr::svg(&tickets[0].qr)
        .unwrap()
        .contains("<svg"));
    app.cleanup().await;
}

/// The text of the one QR code in a greyscale PNG.
fn decode_qr(png: &[u8]) -> String {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

async fn fifty_concurrent_scans_admit_once(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let (_, detail) = confirmed_order(&app, 1, 0).await;
    let qr = detail.tickets[0].qr.clone();
    let scans = (0..50).map(|i| {
        let app = app.clone();
        let qr = qr.clone();
        tokio::spawn(async move { scan(&app, &qr, &format!("gate-{}", i % 2), Some("demo")).await })
    });
    let results: Vec<CheckinResult> = futures::future::join_all(scans)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let valid: Vec<_> = results.iter().filter(|r| r.result == "valid").collect();
    assert_eq!(valid.len(), 1, "{results:?}");
    let first = valid[0].first_scan.clone().unwrap();
    for r in results.iter().filter(|r| r.result != "valid") {
        assert_eq!(r.result, "already_used", "{r:?}");
        assert_eq!(r.first_scan.as_ref(), Some(&first));
    }
    let counts = app.db.tickets().checkin_counts("demo").await.unwrap();
    assert_eq!((counts.sold, counts.arrived), (1, 1));
    assert_eq!(counts.by_gate.len(), 1);
    assert_eq!(counts.by_gate[0].gate, first.gate);
    if let Ok(app) = Arc::try_unwrap(app) {
        app.cleanup().await;
    }
}

async fn bad_tickets_scan_invalid_with_their_reason(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (fan, detail) = confirmed_order(&app, 2, 0).await;
    let (a, b) = (&detail.tickets[0], &detail.tickets[1]);

    // Altered: one claim changed, the signature kept.
    let parts: Vec<&str> = a.qr.split('.').collect();
    let other: Vec<&str> = b.qr.split('.').collect();
    let altered = format!("{}.{}.{}", parts[0], other[1], parts[2]);
    let r = scan(&app, &altered, "north", None).await;
    assert_eq!(
        (r.result, r.reason.as_deref()),
        ("invalid", Some("bad_signature"))
    );
    // Forged: well-formed, signed with a key that is not ours.
    let forger = TicketKeys::new(SigningKeys::generate());
    let claims = TicketClaims {
        jti: a.id.clone(),
        evt: "demo".into(),
        seat: a.seat.clone(),
        sub: "x".into(),
        iat: 0,
        ver: 1,
    };
    let forged = forger.sign(&claims).unwrap();
    let r = scan(&app, &forged, "north", None).await;
    assert_eq!(
        (r.result, r.reason.as_deref()),
        ("invalid", Some("unknown_key"))
    );
    // An admission token is not a ticket; nor is noise.
    let r = scan(&app, &fan.token, "north", None).await;
    assert_eq!(
        (r.result, r.reason.as_deref()),
        ("invalid", Some("not_a_ticket"))
    );
    let r = scan(&app, "T-00000-00000", "north", None).await;
    assert_eq!(
        (r.result, r.reason.as_deref()),
        ("invalid", Some("unknown_ticket"))
    );
    // Another event's door.
    let r = scan(&app, &a.qr, "north", Some("other-event")).await;
    assert_eq!(r.result, "wrong_event");
    let r = scan(&app, &a.reference, "north", Some("other-event")).await;
    assert_eq!(r.result, "wrong_event");
    // Bad input is a 422, not a result.
    let bad = CheckinRequest {
        ticket: a.qr.clone(),
        gate: String::new(),
        event: None,
    };
    assert_eq!(
        app.state
            .tickets()
            .check_in(&bad)
            .await
            .unwrap_err()
            .status(),
        422
    );
    let bad = CheckinRequest {
        ticket: a.qr.clone(),
        gate: "north".into(),
        event: Some("no/such event".into()),
    };
    assert_eq!(
        app.state
            .tickets()
            .check_in(&bad)
            .await
            .unwrap_err()
            .status(),
        422
    );

    // A reissue revokes the old ticket; the new one gets in.
    let new = app.state.tickets().reissue_ticket(&a.id).await.unwrap();
    assert_ne!(new.qr, a.qr);
    let r = scan(&app, &a.qr, "north", Some("demo")).await;
    assert_eq!(
        (r.result, r.reason.as_deref()),
        ("invalid", Some("reissued"))
    );
    assert!(app.state.tickets().reissue_ticket(&a.id).await.is_err());
    // Manual entry by reference, in any case.
    let typed = new.reference.to_lowercase();
    assert_eq!(
        scan(&app, &typed, "north", Some("demo")).await.result,
        "valid"
    );
    let r = scan(&app, &new.qr, "south", Some("demo")).await;
    assert_eq!(r.result, "already_used");
    assert_eq!(r.first_scan.unwrap().gate, "north");
    assert!(
        app.state.tickets().reissue_ticket(&new.id).await.is_err(),
        "used"
    );

    // Cancelling (refunding) the order revokes what is left.
    app.state
        .orders()
        .cancel_order(&detail.order.id, &fan.session())
        .await
        .unwrap();
    let r = scan(&app, &b.qr, "north", Some("demo")).await;
    assert_eq!(
        (r.result, r.reason.as_deref()),
        ("invalid", Some("order_cancelled"))
    );
    let order = app
        .state
        .orders()
        .order_detail(&detail.order.id)
        .await
        .unwrap();
    assert!(order.tickets.iter().all(|t| t.status == "revoked"));
    assert!(app.state.tickets().live_ticket(&b.id).await.is_err());
    app.cleanup().await;
}

async fn offline_scans_sync_first_scan_wins(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, detail) = confirmed_order(&app, 3, 0).await;
    let [a, b, c] = [&detail.tickets[0], &detail.tickets[1], &detail.tickets[2]];
    // Gate north is online and admits `a`.
    assert_eq!(
        scan(&app, &a.qr, "north", Some("demo")).await.result,
        "valid"
    );
    let list = app.state.tickets().offline_list("demo").await.unwrap();
    let used: Vec<_> = list.tickets.iter().filter(|t| t.status == "used").collect();
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].id, a.id);
    assert!(list.keys["keys"].as_array().is_some_and(|k| !k.is_empty()));

    // Gate south was offline: it admitted `a` (a conflict), `b`, and `c`
    // with a clock years off.
    let earlier = chrono::Utc::now() - chrono::Duration::minutes(10);
    let wrong_clock = chrono::Utc::now() + chrono::Duration::days(900);
    let sync = SyncRequest {
        gate: "south".into(),
        event: Some("demo".into()),
        scans: vec![
            OfflineScan {
                ticket: a.qr.clone(),
                scanned_at: earlier,
            },
            OfflineScan {
                ticket: b.reference.clone(),
                scanned_at: earlier,
            },
            OfflineScan {
                ticket: c.qr.clone(),
                scanned_at: wrong_clock,
            },
        ],
    };
    let out = app.state.tickets().sync_scans(&sync).await.unwrap();
    assert_eq!(out.conflicts, 1, "{out:?}");
    let r = &out.results;
    assert!(r[0].conflict);
    assert_eq!(r[0].result.result, "already_used");
    assert_eq!(r[0].result.first_scan.as_ref().unwrap().gate, "north");
    assert_eq!((r[1].conflict, r[1].result.result), (false, "valid"));
    let b_at = r[1].result.first_scan.as_ref().unwrap().at;
    assert!(
        (b_at - earlier).num_seconds().abs() < 2,
        "the scanner's time is kept"
    );
    let c_at = r[2].result.first_scan.as_ref().unwrap().at;
    assert!(
        c_at < chrono::Utc::now() + chrono::Duration::minutes(1),
        "a wrong clock is not"
    );

    // The answer was lost and the scanner sends the same queue again: the
    // scan recorded at its own time is recognised; the one recorded at the
    // server's time (wrong clock) cannot be told from a second scan.
    let again = app.state.tickets().sync_scans(&sync).await.unwrap();
    assert_eq!(again.conflicts, 2, "{again:?}");
    assert!(!again.results[1].conflict);
    assert!(again.results[2].conflict);
    let counts = app
        .state
        .sales()
        .sales_summary("demo")
        .await
        .unwrap()
        .checkins;
    assert_eq!((counts.sold, counts.arrived), (3, 3));
    let per_minute: i64 = counts.per_minute.iter().map(|m| m.arrived).sum();
    assert_eq!(per_minute, 3, "{:?}", counts.per_minute);
    let gates: Vec<_> = counts
        .by_gate
        .iter()
        .map(|g| (g.gate.as_str(), g.arrived))
        .collect();
    assert_eq!(gates, vec![("north", 1), ("south", 2)]);
    app.cleanup().await;
}
