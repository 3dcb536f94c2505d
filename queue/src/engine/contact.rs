//! "Email me when it's my turn": a waiting fan leaves an address, kept in
//! the queue store beside their place; the booking service sends the
//! email through its outbox when a tick admits them (`booking::email::turn`).

use super::Engine;
use crate::error::{QueueError, Result};
use crate::ids::EventId;
use serde::{Deserialize, Serialize};

/// Longest address accepted (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// What is kept for a fan, as JSON in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnContact {
    /// Where the email goes.
    pub email: String,
    /// The page's language when the fan asked (`en`, `fr`, …).
    #[serde(default)]
    pub lang: String,
}

fn invalid(field: &'static str, message: &str) -> QueueError {
    QueueError::Invalid {
        field,
        message: message.to_owned(),
    }
}

/// Checks an address the way booking does (`user@domain.tld`, no spaces,
/// at most [`MAX_EMAIL`]) and a language tag (letters and `-`, at most 35).
pub fn check(email: &str, lang: Option<&str>) -> Result<TurnContact> {
    let email = email.trim();
    let (user, domain) = email.split_once('@').unwrap_or(("", ""));
    let ok = email.chars().count() <= MAX_EMAIL
        && !user.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(invalid(
            "email",
            "an email address (user@domain.tld), at most 254 characters",
        ));
    }
    let lang = lang.unwrap_or("en").trim();
    if lang.is_empty()
        || lang.len() > 35
        || !lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(invalid("lang", "a language tag such as en or fr-CA"));
    }
    Ok(TurnContact {
        email: email.to_owned(),
        lang: lang.to_ascii_lowercase(),
    })
}

impl Engine {
    /// Keeps `contact` for the holder of `token`. Fails with `NotJoined`
    /// when the credential has no place in the event.
    pub async fn set_contact(
        &self,
        event: &EventId,
        token: &str,
        contact: &TurnContact,
    ) -> Result<()> {
        let cred = self.credential(event, token)?;
        let json = serde_json::to_string(contact)
            .map_err(|e| QueueError::Corrupt(format!("contact: {e}")))?;
        if self.track(self.store.set_contact(event, &cred.visitor, &json).await)? {
            Ok(())
        } else {
            Err(QueueError::NotJoined)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_languages_are_checked() {
        let c = check(" fan@example.com ", Some("fr-CA")).expect("valid");
        assert_eq!(c.email, "fan@example.com");
        assert_eq!(c.lang, "fr-ca");
        assert_eq!(check("fan@example.com", None).expect("valid").lang, "en");
        for bad in [
            "",
            "fan",
            "fan@",
            "@example.com",
            "fan@example",
            "a b@example.com",
            "fan@.com",
        ] {
            assert!(check(bad, None).is_err(), "{bad}");
        }
        assert!(check(&format!("{}@example.com", "a".repeat(250)), None).is_err());
        assert!(check("fan@example.com", Some("<script>")).is_err());
    }
}
