//! Email: templates, a transport (SMTP, or `.eml` files in a folder for
//! development) and the outbox worker that sends with retries.

pub mod i18n;
pub mod outbox;
pub mod templates;
pub mod turn;

use crate::error::{BookingError, Result};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

/// Where emails go.
pub enum Mailer {
    /// A real SMTP server (`smtp_url`).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per email in a folder (default).
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    /// SMTP when a URL is given, files in `mail_dir` otherwise.
    pub fn new(smtp_url: Option<&str>, mail_dir: PathBuf) -> Result<Self> {
        match smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|b| Self::Smtp(b.build()))
                .map_err(|e| BookingError::internal(format!("smtp_url: {e}"))),
            None => {
                std::fs::create_dir_all(&mail_dir).map_err(|e| {
                    BookingError::internal(format!("mail_dir {}: {e}", mail_dir.display()))
                })?;
                Ok(Self::Files(AsyncFileTransport::<Tokio1Executor>::new(
                    mail_dir,
                )))
            }
        }
    }

    /// Sends one email (text and HTML alternatives).
    pub async fn send(
        &self,
        from: &str,
        to: &str,
        subject: &str,
        text: &str,
        html: &str,
    ) -> std::result::Result<(), String> {
        let from: Mailbox = from.parse().map_err(|e| format!("mail_from: {e}"))?;
        let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(
                text.to_owned(),
                html.to_owned(),
            ))
            .map_err(|e| e.to_string())?;
        match self {
            Self::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Self::Files(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}
