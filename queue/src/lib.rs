//! The waiting-room engine.
//!
//! `store` keeps the authoritative queue state (in process or in Redis),
//! `engine` runs on every node: it drives admission ticks when it holds the
//! lease, follows tick messages and computes exact positions for the waiters
//! connected to this node. `keys`, `visitor` and `admission` hold the
//! credentials: signing keys (JWKS), the opaque visitor credential and the
//! Ed25519 admission token with its verifier, which `booking` uses. `api`
//! serves fans over HTTP and WebSocket.

pub mod admission;
pub mod announce;
pub mod api;
pub mod engine;
pub mod error;
pub mod ids;
pub mod keys;
pub mod ledger;
pub mod protocol;
pub mod secret;
pub mod settings;
pub mod shuffle;
pub mod store;
pub mod visitor;

pub use admission::{AdmissionClaims, AdmissionIssuer, AdmissionVerifier, TokenError};
pub use error::QueueError;
pub use ids::{EventId, VisitorId};
pub use keys::{KeyError, PublicKeySet, SigningKeys};
pub use secret::Secret;
pub use settings::{CaptchaFailure, CaptchaPolicy, QueuePolicy, QueueSettings, QueueState};
pub use store::{QueueStore, Tick};
pub use visitor::{CredentialCodec, CredentialError, VisitorCredential};
