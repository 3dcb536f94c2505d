//! Where a fan's place comes from. The join and status handlers, the
//! status body, the credential cookie and the WebSocket's tasks, buffers
//! and keep-alive are the same code for every fan; only the place behind
//! them differs. A real fan's place is in the queue store ([`Engine`]);
//! the edge's infinite queue computes one from the live queue view (see
//! the gateway's `edge::shadow`). A bot is told apart only by the values,
//! never by the shape of an answer.

use crate::engine::mailbox;
use crate::engine::{Engine, VisitorStatus};
use crate::error::Result;
use crate::ids::EventId;
use async_trait::async_trait;

/// What keeps a socket's place source feeding it; dropping it stops the
/// feed (an engine attachment, a follower task).
pub type Feed = Box<dyn Send>;

/// A source of places for the fan API (see the module docs).
#[async_trait]
pub trait PlaceSource: Send + Sync + std::fmt::Debug {
    /// Joins, or returns the place of the presented credential.
    async fn join(&self, event: &EventId, presented: Option<&str>) -> Result<VisitorStatus>;

    /// The place of the presented credential.
    async fn status(&self, event: &EventId, token: &str) -> Result<VisitorStatus>;

    /// Starts feeding a socket: queues its first messages (`hello`, …) on
    /// `tx` and keeps sending updates while the returned value lives.
    async fn attach(&self, event: &EventId, token: &str, tx: mailbox::Sender) -> Result<Feed>;
}

/// Real places: the queue store, through the engine.
#[async_trait]
impl PlaceSource for Engine {
    async fn join(&self, event: &EventId, presented: Option<&str>) -> Result<VisitorStatus> {
        Engine::join(self, event, presented).await
    }

    async fn status(&self, event: &EventId, token: &str) -> Result<VisitorStatus> {
        Engine::status(self, event, token).await
    }

    async fn attach(&self, event: &EventId, token: &str, tx: mailbox::Sender) -> Result<Feed> {
        Ok(Box::new(Engine::attach(self, event, token, tx).await?))
    }
}
