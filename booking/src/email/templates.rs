//! Email bodies (text and HTML) rendered from an order.

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

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render(d: &OrderDetail, kind: &str, subject: String, intro: &str) -> NewEmail {
    let o = &d.order;
    let mut text = format!(
        "{intro}\n\nBooking reference: {}\nEvent: {}\n\n",
        o.reference, d.event_name
    );
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
    let total = money(o.total, &o.currency);
    text.push_str(&format!("\nTotal: {total}\n"));
    let html = format!(
        "<!doctype html><html><body><p>{}</p><p>Booking reference: <strong>{}</strong><br>\
         Event: {}</p><table>{rows}</table><p>Total: <strong>{}</strong></p></body></html>",
        escape(intro),
        escape(&o.reference),
        escape(&d.event_name),
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
fn with_tickets(mut email: NewEmail, tickets: &[TicketLine<'_>], base_url: &str) -> NewEmail {
    let base = base_url.trim_end_matches('/');
    let mut text = String::from("\nYour tickets (show the QR code at the door):\n");
    let mut html = String::from("<h2>Your tickets</h2><p>Show the QR code at the door.</p>");
    for (id, seat, reference) in tickets {
        let page = format!("{base}/ticket.html?id={id}");
        let png = format!("{base}/api/v1/tickets/{id}/qr.png");
        text.push_str(&format!("  {seat} — {reference} — {page}\n"));
        html.push_str(&format!(
            "<div><p><strong>{}</strong><br>Ticket {}</p>\
             <p><img src=\"{}\" width=\"240\" height=\"240\" alt=\"QR code of ticket {}\"></p>\
             <p><a href=\"{}\">Open the ticket</a> · <a href=\"{}\">Download PNG</a></p></div>",
            escape(seat),
            escape(reference),
            escape(&png),
            escape(reference),
            escape(&page),
            escape(&png),
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
    let email = render(
        d,
        "confirmation",
        format!("Your tickets for {} ({})", d.event_name, d.order.reference),
        "Thank you! Your order is confirmed.",
    );
    let lines: Vec<TicketLine<'_>> = tickets
        .iter()
        .map(|t| (t.id.as_str(), t.seat.as_str(), t.reference.as_str()))
        .collect();
    with_tickets(email, &lines, base_url)
}

/// Sent once, a configured time before the event, with the order's
/// tickets that are still valid.
pub fn reminder(d: &OrderDetail, starts_at: &str, base_url: &str) -> NewEmail {
    let email = render(
        d,
        "reminder",
        format!("Reminder: {} on {starts_at}", d.event_name),
        &format!("See you soon: {} starts on {starts_at}.", d.event_name),
    );
    let lines: Vec<TicketLine<'_>> = d
        .tickets
        .iter()
        .filter(|t| t.status == "valid")
        .map(|t| (t.id.as_str(), t.seat.as_str(), t.reference.as_str()))
        .collect();
    with_tickets(email, &lines, base_url)
}

/// Sent when the customer cancels a confirmed order.
pub fn cancellation(d: &OrderDetail) -> NewEmail {
    render(
        d,
        "cancellation",
        format!("Order {} cancelled", d.order.reference),
        "Your order was cancelled and the payment refunded.",
    )
}

/// Sent when a payment arrived after the seats were resold.
pub fn late_refund(d: &OrderDetail) -> NewEmail {
    render(
        d,
        "refund",
        format!("Order {} could not be completed", d.order.reference),
        "Your payment arrived after your hold expired and the seats were sold; it has been refunded.",
    )
}

/// Sent to each buyer when the organiser cancels the event.
pub fn event_cancelled(d: &OrderDetail, reason: &str) -> NewEmail {
    let mut intro = format!(
        "{} has been cancelled by the organiser. Your payment has been refunded in full.",
        d.event_name
    );
    if !reason.is_empty() {
        intro.push_str(&format!(" Reason: {reason}"));
    }
    render(
        d,
        "event_cancelled",
        format!(
            "{} is cancelled: order {} refunded",
            d.event_name, d.order.reference
        ),
        &intro,
    )
}
