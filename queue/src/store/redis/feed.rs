//! The tick feed: one pub/sub connection per process, fanned out in process.
//!
//! A fred `SubscriberClient` listens on [`TICKS_CHANNEL`] (and on
//! [`ANNOUNCEMENTS_CHANNEL`], forwarded the same way to its own channel); its
//! `manage_subscriptions` task re-subscribes after every reconnect. A
//! forwarding task decodes each message and re-broadcasts it on a tokio
//! channel, which is what `QueueStore::subscribe` hands out. Ticks published
//! while this process was disconnected are lost; receivers notice the `seq`
//! gap and reload a snapshot.

use super::codec::redis_error;
use super::keys::{ANNOUNCEMENTS_CHANNEL, TICKS_CHANNEL};
use crate::announce::Announcement;
use crate::error::Result;
use crate::store::Tick;
use fred::clients::SubscriberClient;
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use fred::types::Builder;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// Owns the subscriber connection and its tasks; dropping it stops them.
pub(super) struct TickFeed {
    tasks: Vec<JoinHandle<()>>,
    connection: JoinHandle<std::result::Result<(), fred::error::Error>>,
}

impl TickFeed {
    /// Connects, subscribes (the subscription is live when this returns, so
    /// no tick published afterwards is missed) and starts forwarding.
    pub(super) async fn start(
        builder: &Builder,
        ticks: broadcast::Sender<Tick>,
        announcements: broadcast::Sender<Announcement>,
    ) -> Result<Self> {
        let subscriber = builder.build_subscriber_client().map_err(redis_error)?;
        let connection = subscriber.init().await.map_err(redis_error)?;
        let messages = subscriber.message_rx();
        let resubscribe = subscriber.manage_subscriptions();
        if let Err(e) = subscriber
            .subscribe(vec![TICKS_CHANNEL, ANNOUNCEMENTS_CHANNEL])
            .await
        {
            resubscribe.abort();
            connection.abort();
            return Err(redis_error(e));
        }
        let forward = tokio::spawn(forward(subscriber, messages, ticks, announcements));
        Ok(Self {
            tasks: vec![resubscribe, forward],
            connection,
        })
    }
}

impl Drop for TickFeed {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.connection.abort();
    }
}

/// Decodes every message into a [`Tick`] and re-broadcasts it. Holds the
/// client so the connection lives as long as the task.
async fn forward(
    _subscriber: SubscriberClient,
    mut messages: broadcast::Receiver<fred::types::Message>,
    ticks: broadcast::Sender<Tick>,
    announcements: broadcast::Sender<Announcement>,
) {
    loop {
        let message = match messages.recv().await {
            Ok(message) => message,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "tick feed lagged; receivers will see a seq gap");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(text) = message.value.as_str() else {
            tracing::warn!(channel = %message.channel, "non-text message on the tick channel");
            continue;
        };
        if message.channel == ANNOUNCEMENTS_CHANNEL {
            match serde_json::from_str::<Announcement>(&text) {
                Ok(a) => drop(announcements.send(a)),
                Err(error) => tracing::warn!(%error, "undecodable announcement message"),
            }
            continue;
        }
        match serde_json::from_str::<Tick>(&text) {
            // No receivers is fine: nobody is listening right now.
            Ok(tick) => drop(ticks.send(tick)),
            Err(error) => tracing::warn!(%error, "undecodable tick message"),
        }
    }
}
