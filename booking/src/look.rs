//! Checks on an event's look before it is stored: plain-text fields of
//! bounded length, an `#rrggbb` accent, and a logo that is a PNG, JPEG or
//! WebP by its first bytes (never by its name or declared type: an SVG or
//! HTML file dressed up as an image is refused), at most [`MAX_LOGO_BYTES`].

use crate::db::{EventLook, Logo, LookFields};
use queue::api::{ApiError, ErrorCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 280;

fn invalid(field: &'static str, why: impl Into<String>) -> ApiError {
    ApiError::of(ErrorCode::ValidationFailed, why.into()).field(field)
}

/// Trims a text field; empty means "not set". Refuses control characters
/// (line breaks only where `lines`) and text over `max` characters.
fn text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
    lines: bool,
) -> Result<Option<String>, ApiError> {
    let Some(value) = raw.map(|r| r.trim().replace("\r\n", "\n")) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(lines && c == '\n'))
    {
        return Err(invalid(field, "plain text only: no control characters"));
    }
    Ok(Some(value).filter(|v| !v.is_empty()))
}

/// Checks the text fields as an operator sent them.
pub fn check_fields(
    display_name: Option<&str>,
    accent: Option<&str>,
    message: Option<&str>,
) -> Result<LookFields, ApiError> {
    let accent = accent.map(str::trim).filter(|a| !a.is_empty());
    if let Some(a) = accent {
        let hex = a.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("accent", "a colour as #rrggbb, e.g. #0a4fa3"));
        }
    }
    Ok(LookFields {
        display_name: text("display_name", display_name, MAX_NAME_CHARS, false)?,
        accent: accent.map(str::to_ascii_lowercase),
        message: text("message", message, MAX_MESSAGE_CHARS, true)?,
    })
}

/// The media type of an image by its magic bytes, if it is one we serve.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Checks an uploaded logo and makes it storable.
pub fn check_logo(bytes: Vec<u8>) -> Result<Logo, ApiError> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(ApiError::of(
            ErrorCode::LogoTooLarge,
            format!(
                "the logo is {} bytes; at most {MAX_LOGO_BYTES} (256 KiB)",
                bytes.len()
            ),
        ));
    }
    let content_type = sniff(&bytes).ok_or_else(|| {
        ApiError::of(
            ErrorCode::LogoUnsupported,
            "the logo must be a PNG, JPEG or WebP image (judged by its content)",
        )
        .field("image")
    })?;
    Ok(Logo {
        content_type: content_type.to_owned(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes,
    })
}

/// The look as pages read it: fields (null when unset) and the logo's URL
/// on our origin (null when none), versioned by the logo's hash.
pub fn public_json(event: &str, look: Option<&EventLook>) -> Value {
    let fields = look.map(|l| l.fields.clone()).unwrap_or_default();
    let logo_url = look.and_then(|l| l.logo_sha256.as_deref()).map(|sha| {
        format!(
            "/api/v1/events/{event}/logo?v={}",
            sha.get(..16).unwrap_or(sha)
        )
    });
    json!({
        "event": event,
        "display_name": fields.display_name,
        "accent": fields.accent,
        "message": fields.message,
        "logo_url": logo_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_judged_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert!(check_logo(b"<html>".to_vec()).is_err());
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert!(check_logo(big).is_err());
    }

    #[test]
    fn fields_are_plain_bounded_text() {
        let f = check_fields(Some(" Tour "), Some("#A1B2C3"), Some("a\r\nb")).expect("valid");
        assert_eq!(f.display_name.as_deref(), Some("Tour"));
        assert_eq!(f.accent.as_deref(), Some("#a1b2c3"));
        assert_eq!(f.message.as_deref(), Some("a\nb"));
        assert!(check_fields(None, Some("red"), None).is_err());
        assert!(check_fields(None, Some("#12345"), None).is_err());
        assert!(check_fields(Some("a\nb"), None, None).is_err());
        assert!(check_fields(Some(&"x".repeat(MAX_NAME_CHARS + 1)), None, None).is_err());
        assert_eq!(
            check_fields(Some("  "), None, None).expect("valid"),
            LookFields::default()
        );
    }
}

/// The looks service: read by the fan pages, written by operators.
#[derive(Clone)]
pub struct Looks {
    pub(crate) db: crate::db::Db,
}

impl Looks {
    /// The event's look as stored; `NotFound` when there is no such event
    /// (an event without a look answers `None`).
    pub async fn look(&self, event: &str) -> crate::error::Result<Option<EventLook>> {
        let look = self.db.looks().look(event).await?;
        if look.is_none() && self.db.catalog().event(event).await?.is_none() {
            return Err(crate::BookingError::NotFound("event"));
        }
        Ok(look)
    }

    /// The event's logo, if it has one.
    pub async fn logo(&self, event: &str) -> crate::error::Result<Option<Logo>> {
        self.db.looks().logo(event).await
    }

    /// Stores the text fields; `false` when there is no such event.
    pub async fn put_fields(
        &self,
        event: &str,
        fields: &LookFields,
        now_ms: i64,
    ) -> crate::error::Result<bool> {
        self.db.looks().put_fields(event, fields, now_ms).await
    }

    /// Stores (or, with `None`, removes) the logo; `false` when there is
    /// no such event.
    pub async fn put_logo(
        &self,
        event: &str,
        logo: Option<&Logo>,
        now_ms: i64,
    ) -> crate::error::Result<bool> {
        self.db.looks().put_logo(event, logo, now_ms).await
    }

    /// The name fans know the event by: the operator's display name, the
    /// catalog's name, or the id of a queue without a catalog entry.
    pub async fn display_name(&self, event: &str) -> crate::error::Result<String> {
        if let Some(name) = self
            .db
            .looks()
            .look(event)
            .await?
            .and_then(|l| l.fields.display_name)
        {
            return Ok(name);
        }
        Ok(self
            .db
            .catalog()
            .event(event)
            .await?
            .map_or_else(|| event.to_owned(), |e| e.name))
    }
}
