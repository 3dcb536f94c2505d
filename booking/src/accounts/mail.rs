//! The account mails: a verification link, the notice an account's owner
//! gets when someone registers with their address, and the welcome once
//! the account exists.

use crate::db::NewEmail;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Outbox kind of the verification link.
pub const VERIFY_KIND: &str = "verify_email";
/// Outbox kind of the "someone tried to register" notice.
pub const ATTEMPT_KIND: &str = "register_attempt";
/// Outbox kind of the welcome.
pub const WELCOME_KIND: &str = "welcome";

/// Sent once, when the account is created (its email confirmed).
pub fn welcome(email: &str, base_url: &str) -> NewEmail {
    let account = format!("{}/account.html", base_url.trim_end_matches('/'));
    let text = format!(
        "Welcome to waitroom! Your account for {email} is ready.\n\n\
         Your orders, and their tickets, are on your account page: {account}\n"
    );
    let html = format!(
        "<!doctype html><html><body><p>Welcome to waitroom! Your account for {} is ready.</p>\
         <p>Your orders, and their tickets, are on <a href=\"{}\">your account page</a>.</p>\
         </body></html>",
        escape(email),
        escape(&account)
    );
    NewEmail {
        kind: WELCOME_KIND.to_owned(),
        recipient: email.to_owned(),
        subject: "Welcome to waitroom".to_owned(),
        body_text: text,
        body_html: html,
    }
}

/// The link that finishes a registration.
pub fn verify_link(email: &str, link: &str, hours: i64) -> NewEmail {
    let text = format!(
        "Someone (we hope you) asked to create a waitroom account for {email}.\n\n\
         To finish, open this link within {hours} hours and enter the password you chose:\n\n\
         {link}\n\n\
         If it was not you, ignore this email: nothing happens unless the link is used \
         with that password.\n"
    );
    let html = format!(
        "<!doctype html><html><body><p>Someone (we hope you) asked to create a waitroom \
         account for {}.</p><p>To finish, open <a href=\"{}\">this link</a> within {hours} \
         hours and enter the password you chose.</p><p>If it was not you, ignore this \
         email: nothing happens unless the link is used with that password.</p></body></html>",
        escape(email),
        escape(link)
    );
    NewEmail {
        kind: VERIFY_KIND.to_owned(),
        recipient: email.to_owned(),
        subject: "Confirm your email for waitroom".to_owned(),
        body_text: text,
        body_html: html,
    }
}

/// Sent instead of a link when the address already has an account.
pub fn register_attempt(email: &str, base_url: &str) -> NewEmail {
    let sign_in = format!("{}/account.html", base_url.trim_end_matches('/'));
    let text = format!(
        "Someone tried to create a waitroom account with {email}, which already has one. \
         Nothing was changed.\n\n\
         If it was you, sign in instead: {sign_in}\n\
         If it was not, you can ignore this email.\n"
    );
    let html = format!(
        "<!doctype html><html><body><p>Someone tried to create a waitroom account with {}, \
         which already has one. Nothing was changed.</p><p>If it was you, \
         <a href=\"{}\">sign in</a> instead. If it was not, you can ignore this email.</p>\
         </body></html>",
        escape(email),
        escape(&sign_in)
    );
    NewEmail {
        kind: ATTEMPT_KIND.to_owned(),
        recipient: email.to_owned(),
        subject: "Someone tried to register with your email".to_owned(),
        body_text: text,
        body_html: html,
    }
}
