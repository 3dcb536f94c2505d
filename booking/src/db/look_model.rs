//! An event's fan-facing look (name, accent, message, logo), stored beside
//! the catalog because it is the event's public face: the seat page reads
//! it with the event, and it outlives any queue store.

use crate::error::Result;
use async_trait::async_trait;
use serde::Serialize;

/// The look's text fields; `None` leaves the catalog's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LookFields {
    /// Shown instead of the catalog name on the fan pages.
    pub display_name: Option<String>,
    /// `#rrggbb`.
    pub accent: Option<String>,
    /// A short message under the title.
    pub message: Option<String>,
}

/// What is stored of a look, without the logo's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventLook {
    /// The event.
    pub event_id: String,
    /// The text fields.
    #[serde(flatten)]
    pub fields: LookFields,
    /// The logo's media type, when there is a logo.
    pub logo_type: Option<String>,
    /// Hex SHA-256 of the logo.
    pub logo_sha256: Option<String>,
    /// Its size in bytes.
    pub logo_bytes: Option<i64>,
    /// Last change, ms since the epoch.
    pub updated_at: i64,
}

/// A logo to store or serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// `image/png`, `image/jpeg` or `image/webp`, sniffed.
    pub content_type: String,
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
    /// The image.
    pub bytes: Vec<u8>,
}

/// Looks of events.
#[async_trait]
pub trait LookRepo: Send + Sync {
    /// The event's look, `None` when none was ever set.
    async fn look(&self, event: &str) -> Result<Option<EventLook>>;
    /// The event's logo, `None` when it has none.
    async fn logo(&self, event: &str) -> Result<Option<Logo>>;
    /// Replaces the text fields (keeping the logo); `false`, writing
    /// nothing, when there is no such event.
    async fn put_fields(&self, event: &str, fields: &LookFields, now_ms: i64) -> Result<bool>;
    /// Replaces (or with `None` removes) the logo, keeping the text
    /// fields; `false` when there is no such event.
    async fn put_logo(&self, event: &str, logo: Option<&Logo>, now_ms: i64) -> Result<bool>;
}
