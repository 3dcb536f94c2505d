//! The account mails: a verification link, the notice an account's owner
//! gets when someone registers with their address, and the welcome once
//! the account exists; each in the page's language at registration.

use crate::db::NewEmail;
use crate::email::i18n::Lang;
use crate::email::templates::escape;

/// Outbox kind of the verification link.
pub const VERIFY_KIND: &str = "verify_email";
/// Outbox kind of the "someone tried to register" notice.
pub const ATTEMPT_KIND: &str = "register_attempt";
/// Outbox kind of the welcome.
pub const WELCOME_KIND: &str = "welcome";

/// A mail of paragraphs, one of them a link: text and HTML alike.
fn letter(
    kind: &str,
    email: &str,
    lang: Lang,
    subject: String,
    before: &[String],
    link: (&str, &str),
    after: &[String],
) -> NewEmail {
    let (href, label) = link;
    let mut text = before.join("\n\n");
    text.push_str(&format!("\n\n{href}\n"));
    for p in after {
        text.push_str(&format!("\n{p}\n"));
    }
    let para = |ps: &[String]| {
        ps.iter()
            .map(|p| format!("<p>{}</p>", escape(p)))
            .collect::<String>()
    };
    let html = format!(
        "<!doctype html><html lang=\"{}\"><body>{}<p><a href=\"{}\">{}</a></p>{}</body></html>",
        lang.code(),
        para(before),
        escape(href),
        escape(label),
        para(after),
    );
    NewEmail {
        kind: kind.to_owned(),
        recipient: email.to_owned(),
        subject,
        body_text: text,
        body_html: html,
    }
}

/// Sent once, when the account is created (its email confirmed).
pub fn welcome(email: &str, base_url: &str, lang: Lang) -> NewEmail {
    let account = format!("{}/account.html", base_url.trim_end_matches('/'));
    letter(
        WELCOME_KIND,
        email,
        lang,
        lang.text("welcome.subject").to_owned(),
        &[
            lang.fill("welcome.ready", &[("email", email)]),
            lang.text("welcome.orders").to_owned(),
        ],
        (&account, lang.text("welcome.link")),
        &[],
    )
}

/// The link that finishes a registration.
pub fn verify_link(email: &str, link: &str, hours: i64, lang: Lang) -> NewEmail {
    letter(
        VERIFY_KIND,
        email,
        lang,
        lang.text("verify.subject").to_owned(),
        &[
            lang.fill("verify.intro", &[("email", email)]),
            lang.fill("verify.action", &[("hours", &hours.to_string())]),
        ],
        (link, lang.text("verify.link")),
        &[lang.text("verify.ignore").to_owned()],
    )
}

/// Sent instead of a link when the address already has an account.
pub fn register_attempt(email: &str, base_url: &str, lang: Lang) -> NewEmail {
    let sign_in = format!("{}/account.html", base_url.trim_end_matches('/'));
    letter(
        ATTEMPT_KIND,
        email,
        lang,
        lang.text("attempt.subject").to_owned(),
        &[
            lang.fill("attempt.intro", &[("email", email)]),
            lang.text("attempt.sign_in").to_owned(),
        ],
        (&sign_in, lang.text("attempt.link")),
        &[lang.text("attempt.ignore").to_owned()],
    )
}
