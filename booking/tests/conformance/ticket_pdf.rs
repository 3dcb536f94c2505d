//! The printable ticket on both databases: a PDF whose page names the
//! event, seat and reference and whose QR image reads back to the ticket;
//! refused exactly as the QR images are.

use crate::api::{call, get};
use crate::common::{Backend, TestApp};
use crate::tickets::confirmed_order;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;

crate::per_backend!(a_ticket_downloads_as_a_pdf_and_is_refused_like_its_qr_image);

async fn raw(router: &axum::Router, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let res = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, kind, body.to_vec())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The one image of the PDF (8-bit grey, unfiltered), scaled up four
/// times and decoded with a QR reader that is not our encoder.
fn qr_of_pdf(pdf: &[u8]) -> String {
    let at = find(pdf, b"/Subtype /Image").expect("an image");
    let dict = &pdf[at..];
    let number = |key: &[u8]| -> usize {
        let i = find(dict, key).expect("image size") + key.len();
        let digits: String = dict[i..]
            .iter()
            .skip_while(|b| **b == b' ')
            .take_while(|b| b.is_ascii_digit())
            .map(|b| *b as char)
            .collect();
        digits.parse().unwrap()
    };
    let (w, h) = (number(b"/Width"), number(b"/Height"));
    let start = find(dict, b"stream\n").unwrap() + b"stream\n".len();
    let samples = &dict[start..start + w * h];
    let scale = 4;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w * scale, h * scale, |x, y| {
        samples[(y / scale) * w + x / scale]
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

async fn a_ticket_downloads_as_a_pdf_and_is_refused_like_its_qr_image(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, detail) = confirmed_order(&app, 1, 0).await;
    let ticket = &detail.tickets[0];
    let r = booking::router(app.state.clone());

    let (status, kind, pdf) = raw(&r, &format!("/api/v1/tickets/{}/ticket.pdf", ticket.id)).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"), "a PDF header");
    assert!(find(&pdf, b"%%EOF").is_some(), "a complete PDF");
    for text in [
        ticket.reference.as_str(),
        ticket.seat.as_str(),
        "Demo Night",
    ] {
        assert!(
            find(&pdf, format!("({text})").as_bytes()).is_some(),
            "the page shows {text}"
        );
    }
    assert_eq!(qr_of_pdf(&pdf), ticket.qr, "the QR image is the ticket");

    // Refused as the PNG is: malformed id, unknown ticket, revoked ticket.
    let new = app
        .state
        .tickets()
        .reissue_ticket(&ticket.id)
        .await
        .unwrap();
    for (id, want) in [
        ("b%21d", StatusCode::BAD_REQUEST),
        ("tkt_nobody", StatusCode::NOT_FOUND),
        (ticket.id.as_str(), StatusCode::CONFLICT),
    ] {
        let (png, png_body) = call(&r, get(&format!("/api/v1/tickets/{id}/qr.png"))).await;
        let (pdf, pdf_body) = call(&r, get(&format!("/api/v1/tickets/{id}/ticket.pdf"))).await;
        assert_eq!((png, pdf), (want, want), "{id}");
        assert_eq!(png_body["error"]["code"], pdf_body["error"]["code"], "{id}");
    }
    let (status, _, pdf) = raw(&r, &format!("/api/v1/tickets/{}/ticket.pdf", new.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(find(&pdf, new.reference.as_bytes()).is_some());
    app.cleanup().await;
}
