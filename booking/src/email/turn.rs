//! "It's your turn": a fan who left an address on the waiting page
//! (`POST /api/v1/queue/{event}/notify`, kept in the queue store) gets one
//! email when a tick admits them, through the outbox. Every booking process
//! follows every tick, so each queues it with a key naming the admission
//! (`enqueue_once`): one email however many processes saw the tick. A tick
//! a process missed (its subscription lagged) is skipped there; another
//! process, or none, queues it: the email is a convenience, the page is
//! the way in.

use super::i18n::Lang;
use super::outbox::Outbox;
use super::templates::escape;
use crate::db::NewEmail;
use crate::error::Result;
use crate::state::now;
use queue::engine::contact::TurnContact;
use queue::store::Tick;
use tokio::sync::broadcast::error::RecvError;

/// Outbox kind of the email.
pub const KIND: &str = "your_turn";

/// The email for `contact`, with a link to the event's waiting page.
pub fn your_turn(
    contact: &TurnContact,
    event_id: &str,
    event_name: &str,
    base_url: &str,
) -> NewEmail {
    let lang = Lang::from_tag(&contact.lang);
    let page = format!("{}/queue/{event_id}", base_url.trim_end_matches('/'));
    let intro = lang.fill("your_turn.intro", &[("event", event_name)]);
    let action = lang.text("your_turn.action");
    let why = lang.text("your_turn.why");
    let text = format!("{intro}\n\n{action}\n\n{page}\n\n{why}\n");
    let html = format!(
        "<!doctype html><html lang=\"{}\"><body><p><strong>{}</strong></p><p>{}</p>\
         <p><a href=\"{}\">{}</a></p><p>{}</p></body></html>",
        lang.code(),
        escape(&intro),
        escape(action),
        escape(&page),
        escape(lang.text("your_turn.link")),
        escape(why),
    );
    NewEmail {
        kind: KIND.to_owned(),
        recipient: contact.email.clone(),
        subject: lang.fill("your_turn.subject", &[("event", event_name)]),
        body_text: text,
        body_html: html,
    }
}

impl Outbox {
    /// Queues the email of every fan `tick` admitted who left an address;
    /// returns how many were queued by this call (0 for those another
    /// process queued first).
    pub async fn queue_turn_emails(&self, tick: &Tick) -> Result<usize> {
        if tick.admitted.is_empty() {
            return Ok(0);
        }
        let visitors: Vec<_> = tick.admitted.iter().map(|a| a.visitor.clone()).collect();
        let contacts = self
            .queue
            .contacts(&tick.event, &visitors)
            .await
            .map_err(|e| crate::error::BookingError::Unavailable {
                what: "queue store",
                detail: e.to_string(),
            })?;
        if contacts.is_empty() {
            return Ok(0);
        }
        let event = tick.event.as_str();
        let name = self.looks.display_name(event).await?;
        let mut queued = 0;
        for (visitor, raw) in contacts {
            let Ok(contact) = serde_json::from_str::<TurnContact>(&raw) else {
                tracing::warn!(event, %visitor, "unreadable contact in the queue store");
                continue;
            };
            let ticket = tick
                .admitted
                .iter()
                .find(|a| a.visitor == visitor)
                .map_or(0, |a| a.ticket);
            let email = your_turn(&contact, event, &name, &self.config.public_base_url);
            let key = format!("{KIND}:{event}:{visitor}:{ticket}");
            if self.db.outbox().enqueue_once(&email, &key, now()).await? {
                queued += 1;
            }
        }
        if queued > 0 {
            metrics::counter!("waitroom_turn_emails_queued_total").increment(queued as u64);
            self.mail_wakeup.notify_one();
        }
        Ok(queued)
    }
}

/// The worker: follows every tick until its task is aborted.
pub async fn run(state: Outbox) {
    let mut ticks = state.queue.subscribe();
    loop {
        match ticks.recv().await {
            Ok(tick) => {
                if let Err(error) = state.queue_turn_emails(&tick).await {
                    tracing::warn!(%error, event = %tick.event, "queuing \"your turn\" emails failed");
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the \"your turn\" mailer missed ticks");
            }
            Err(RecvError::Closed) => return,
        }
    }
}
