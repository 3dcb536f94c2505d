//! Tickets as a PDF: one A4 page per ticket with the event, its date and
//! venue, the seat, the reference for manual entry and the QR code.
//!
//! Written with `pdf-writer`. The text uses the standard Helvetica fonts,
//! which every reader has, so nothing is embedded; they cover Latin-1 only
//! (WinAnsi), so other characters print as `?` (the QR code and the
//! reference, which the door reads, are ASCII). The QR code is an image of
//! one sample per module, scaled up without smoothing so its edges stay
//! sharp at any zoom.

use super::qr;
use crate::db::{EventRecord, TicketRecord};
use crate::error::Result;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// A4 in points.
const PAGE: (f32, f32) = (595.0, 842.0);
/// Left margin.
const LEFT: f32 = 56.0;
/// Side of the QR code on the page: about 9 cm, easy for door scanners.
const QR_SIDE: f32 = 260.0;

const FONT: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const CODE: Name<'static> = Name(b"F3");
const IMAGE: Name<'static> = Name(b"Im1");

/// What one page shows.
pub struct TicketPage<'a> {
    /// The ticket.
    pub ticket: &'a TicketRecord,
    /// Its event.
    pub event: &'a EventRecord,
}

/// `text` in WinAnsi (Latin-1 for the printable range), `?` for the rest.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            n @ (0x20..=0x7e | 0xa0..=0xff) => n as u8,
            _ => b'?',
        })
        .collect()
}

fn line(content: &mut Content, font: Name<'_>, size: f32, y: f32, text: &str) {
    content
        .begin_text()
        .set_font(font, size)
        .next_line(LEFT, y)
        .show(Str(&win_ansi(text)))
        .end_text();
}

/// The PDF with one page per ticket (at least one).
pub fn render(pages: &[TicketPage<'_>]) -> Result<Vec<u8>> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let fonts = [
        (FONT, Ref::new(3), "Helvetica"),
        (BOLD, Ref::new(4), "Helvetica-Bold"),
        (CODE, Ref::new(5), "Courier-Bold"),
    ];
    let info = Ref::new(6);
    // Each page takes three ids: the page, its content and its QR image.
    let page_ref = |i: usize| Ref::new(10 + 3 * i as i32);
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..pages.len()).map(page_ref))
        .count(pages.len() as i32);
    for (_, id, base) in fonts {
        pdf.type1_font(id)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let title = match pages.first() {
        Some(p) => format!("Ticket {} - {}", p.ticket.reference, p.event.name),
        None => "Tickets".to_owned(),
    };
    pdf.document_info(info)
        .title(TextStr(&title))
        .producer(TextStr("waitroom"));
    for (i, p) in pages.iter().enumerate() {
        let (id, content_id, image_id) =
            (page_ref(i), page_ref(i).next(), page_ref(i).next().next());
        let mut page = pdf.page(id);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .contents(content_id);
        let mut resources = page.resources();
        let mut font_dict = resources.fonts();
        for (name, font_id, _) in fonts {
            font_dict.pair(name, font_id);
        }
        font_dict.finish();
        resources.x_objects().pair(IMAGE, image_id);
        resources.finish();
        page.finish();

        let (side, dark) = qr::modules(&p.ticket.qr)?;
        let samples: Vec<u8> = dark.iter().map(|d| if *d { 0 } else { 255 }).collect();
        let mut image = pdf.image_xobject(image_id, &samples);
        image
            .width(side as i32)
            .height(side as i32)
            .bits_per_component(8)
            .interpolate(false);
        image.color_space().device_gray();
        image.finish();

        let e = p.event;
        let mut c = Content::new();
        let top = PAGE.1 - 72.0;
        line(&mut c, FONT, 11.0, top, "TICKET - ONE ENTRY");
        line(&mut c, BOLD, 24.0, top - 34.0, &e.name);
        let when = e.starts_at.format("%A %-d %B %Y, %H:%M UTC").to_string();
        line(&mut c, FONT, 14.0, top - 60.0, &when);
        let place = [e.venue_name.as_str(), e.city.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        line(&mut c, FONT, 14.0, top - 80.0, &place);
        line(&mut c, FONT, 11.0, top - 118.0, "SEAT");
        line(&mut c, BOLD, 20.0, top - 142.0, &p.ticket.seat);
        line(
            &mut c,
            FONT,
            11.0,
            top - 176.0,
            "REFERENCE (for manual entry at the door)",
        );
        line(&mut c, CODE, 20.0, top - 200.0, &p.ticket.reference);
        let qr_bottom = top - 230.0 - QR_SIDE;
        c.save_state()
            .transform([QR_SIDE, 0.0, 0.0, QR_SIDE, LEFT, qr_bottom])
            .x_object(IMAGE)
            .restore_state();
        line(
            &mut c,
            FONT,
            11.0,
            qr_bottom - 28.0,
            "Show this code at the door. It admits one person once; a copy does not admit twice.",
        );
        pdf.stream(content_id, c.finish().as_slice());
    }
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_passes_and_the_rest_becomes_a_question_mark() {
        assert_eq!(win_ansi("Café (A) 東京"), b"Caf\xe9 (A) ??".to_vec());
    }
}
