//! Validated identifiers. Both end up inside Redis keys and JSON, so they
//! are restricted to a small, safe alphabet at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

fn valid_slug(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! slug_id {
    ($name:ident, $field:literal, $max:literal, $doc:literal) => {
        #[doc = $doc]
        ///
        /// Shared, not copied, when cloned: the in-process store keeps a
        /// visitor's id in several maps, and a join would otherwise copy it
        /// into each.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(Arc<str>);

        /// Written from the shared text (serde's `into` would copy it first).
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl $name {
            /// Accepts 1 to
            #[doc = stringify!($max)]
            /// characters of `[A-Za-z0-9_-]`.
            pub fn parse(s: &str) -> crate::error::Result<Self> {
                if valid_slug(s, $max) {
                    Ok(Self(Arc::from(s)))
                } else {
                    Err(crate::QueueError::Invalid {
                        field: $field,
                        message: concat!(
                            "must be 1 to ",
                            stringify!($max),
                            " characters of A-Z, a-z, 0-9, '-' and '_'"
                        )
                        .to_owned(),
                    })
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = crate::QueueError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.as_ref().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(
    EventId,
    "event",
    64,
    "An event (sale) id, as in the URL path."
);
slug_id!(
    VisitorId,
    "visitor_id",
    64,
    "A visitor id: random, issued at first join, carried in the visitor credential."
);

impl VisitorId {
    /// A fresh random id (UUID v4, simple form: 32 hex characters).
    /// From the thread's CSPRNG (ChaCha, seeded from the OS), not a
    /// `getrandom` system call per id: a join mints one.
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::Rng::gen(&mut rand::thread_rng());
        let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
        Self(Arc::from(
            id.simple().encode_lower(&mut uuid::Uuid::encode_buffer()) as &str,
        ))
    }
}
