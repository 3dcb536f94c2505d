//! Email bodies (text and HTML) rendered from an order, in the order's
//! language (`i18n`; the fan's page language at checkout).

use super::i18n::Lang;
use crate::db::{NewEmail, NewTicket, OrderDetail};

/// `12.50 USD`.
pub fn money(minor: i64, currency: &str) -> String {
    format!("{} {}", decimal(minor), currency.to_uppercase())
}

/// Minor units as a decimal amount (`1250` → `12.50`).
pub fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// HTML-escapes text (every value put into an HTML body goes through it).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The language an order's emails are written in.
pub fn lang_of(d: &OrderDetail) -> Lang {
    Lang::from_tag(&d.order.lang)
}

fn render(d: &OrderDetail, kind: &str, subject: String, intro: &str) -> NewEmail {
    let o = &d.order;
    let lang = lang_of(d);
    let reference = lang.fill("order.reference", &[("reference", &o.reference)]);
    let event = lang.fill("order.event", &[("event", &d.event_name)]);
    let mut text = format!("{intro}\n\n{reference}\n{event}\n\n");
    let mut rows = String::new();
    for line in &d.lines {
        let amount = money(line.unit_price * line.quantity, &o.currency);
        text.push_str(&format!(
            "  {} x{}  {}\n",
            line.description, line.quantity, amount
        ));
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&line.description),
            line.quantity,
            escape(&amount)
        ));
    }
    let total = lang.fill("order.total", &[("total", &money(o.total, &o.currency))]);
    text.push_str(&format!("\n{total}\n"));
    let html = format!(
        "<!doctype html><html lang=\"{}\"><body><p>{}</p><p>{}<br>{}</p><table>{rows}</table>\
         <p><strong>{}</strong></p></body></html>",
        lang.code(),
        escape(intro),
        escape(&reference),
        escape(&event),
        escape(&total)
    );
    NewEmail {
        kind: kind.to_owned(),
        recipient: o.email.clone(),
        subject,
        body_text: text,
        body_html: html,
    }
}

/// A ticket as an email shows it: `(id, seat, reference)`.
type TicketLine<'a> = (&'a str, &'a str, &'a str);

/// Appends each ticket's QR code (an image served from `base_url`) with
/// links to its page and its PNG.
fn with_tickets(
    mut email: NewEmail,
    lang: Lang,
    tickets: &[TicketLine<'_>],
    base_url: &str,
) -> NewEmail {
    let base = base_url.trim_end_matches('/');
    let mut text = format!("\n{}\n", lang.text("tickets.text_heading"));
    let mut html = format!(
        "<h2>{}</h2><p>{}</p>",
        escape(lang.text("tickets.heading")),
        escape(lang.text("tickets.show"))
    );
    for (id, seat, reference) in tickets {
        let page = format!("{base}/ticket.html?id={id}");
        let png = format!("{base}/api/v1/tickets/{id}/qr.png");
        text.push_str(&format!("  {seat} — {reference} — {page}\n"));
        html.push_str(&format!(
            "<div><p><strong>{}</strong><br>{}</p>\
             <p><img src=\"{}\" width=\"240\" height=\"240\" alt=\"{}\"></p>\
             <p><a href=\"{}\">{}</a> · <a href=\"{}\">{}</a></p></div>",
            escape(seat),
            escape(&lang.fill("tickets.ticket", &[("reference", reference)])),
            escape(&png),
            escape(&lang.fill("tickets.qr_alt", &[("reference", reference)])),
            escape(&page),
            escape(lang.text("tickets.open")),
            escape(&png),
            escape(lang.text("tickets.png")),
        ));
    }
    email.body_text.push_str(&text);
    email.body_html = email
        .body_html
        .replace("</body></html>", &format!("{html}</body></html>"));
    email
}

/// Sent when payment confirms the order, with its tickets.
pub fn confirmation(d: &OrderDetail, tickets: &[NewTicket], base_url: &str) -> NewEmail {
    let lang = lang_of(d);
    let email = render(
        d,
        "confirmation",
        lang.fill(
            "confirmation.subject",
            &[("event", &d.event_name), ("reference", &d.order.reference)],
        ),
        lang.text("confirmation.intro"),
    );
    let lines: Vec<TicketLine<'_>> = tickets
        .iter()
        .map(|t| (t.id.as_str(), t.seat.as_str(), t.reference.as_str()))
        .collect();
    with_tickets(email, lang, &lines, base_url)
}

/// Sent once, a configured time before the event, with the order's
/// tickets that are still valid.
pub fn reminder(d: &OrderDetail, starts_at: &str, base_url: &str) -> NewEmail {
    let lang = lang_of(d);
    let values = [("event", d.event_name.as_str()), ("date", starts_at)];
    let email = render(
        d,
        "reminder",
        lang.fill("reminder.subject", &values),
        &lang.fill("reminder.intro", &values),
    );
    let lines: Vec<TicketLine<'_>> = d
        .tickets
        .iter()
        .filter(|t| t.status == "valid")
        .map(|t| (t.id.as_str(), t.seat.as_str(), t.reference.as_str()))
        .collect();
    with_tickets(email, lang, &lines, base_url)
}

/// Sent when the customer cancels a confirmed order.
pub fn cancellation(d: &OrderDetail) -> NewEmail {
    let lang = lang_of(d);
    render(
        d,
        "cancellation",
        lang.fill("cancellation.subject", &[("reference", &d.order.reference)]),
        lang.text("cancellation.intro"),
    )
}

/// Sent when a payment arrived after the seats were resold.
pub fn late_refund(d: &OrderDetail) -> NewEmail {
    let lang = lang_of(d);
    render(
        d,
        "refund",
        lang.fill("refund.subject", &[("reference", &d.order.reference)]),
        lang.text("refund.intro"),
    )
}

/// Sent to each buyer when the organiser cancels the event.
pub fn event_cancelled(d: &OrderDetail, reason: &str) -> NewEmail {
    let lang = lang_of(d);
    let values = [
        ("event", d.event_name.as_str()),
        ("reference", d.order.reference.as_str()),
    ];
    let mut intro = lang.fill("event_cancelled.intro", &values);
    if !reason.is_empty() {
        intro.push(' ');
        intro.push_str(&lang.fill("event_cancelled.reason", &[("reason", reason)]));
    }
    render(
        d,
        "event_cancelled",
        lang.fill("event_cancelled.subject", &values),
        &intro,
    )
}
