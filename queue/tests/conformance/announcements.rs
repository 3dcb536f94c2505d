//! Live announcements: stored per event, published to every node.

use crate::common::{open, Harness, T0};
use queue::announce::Announcement;
use queue::QueueError;
use std::time::Duration;

/// The next announcement a subscriber hears for `event`, skipping other
/// checks' events (they share the Redis channel).
async fn next_for(
    rx: &mut tokio::sync::broadcast::Receiver<Announcement>,
    h: &Harness,
) -> Announcement {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(a) if a.event == h.event => return a,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("announcement feed closed: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the announcement was published within 10 s")
}

pub async fn announcements_are_stored_published_and_cleared(h: Harness) {
    let said = Announcement {
        event: h.event.clone(),
        message: "Doors open at 19:00 <b>not bold</b>".to_owned(),
        at: T0,
    };
    // No queue, no announcement: refused, nothing stored.
    assert!(matches!(
        h.store.announce(&said).await,
        Err(QueueError::UnknownEvent(_))
    ));
    h.store
        .put_settings(&h.event, &open(60, 10))
        .await
        .expect("put");
    assert_eq!(h.peer.announcement(&h.event).await.expect("read"), None);

    // Subscribed before the change, as every node's engine is.
    let mut rx = h.peer.subscribe_announcements();
    h.store.announce(&said).await.expect("announce");
    assert_eq!(next_for(&mut rx, &h).await, said);
    assert_eq!(
        h.peer.announcement(&h.event).await.expect("read"),
        Some(said.clone())
    );

    // A newer one replaces it; an empty one clears it and is published too.
    let newer = Announcement {
        message: "Sold out in section B".to_owned(),
        at: T0 + 1,
        ..said.clone()
    };
    h.store.announce(&newer).await.expect("announce");
    assert_eq!(next_for(&mut rx, &h).await, newer);
    let cleared = Announcement {
        message: String::new(),
        at: T0 + 2,
        ..said
    };
    h.store.announce(&cleared).await.expect("clear");
    assert_eq!(next_for(&mut rx, &h).await, cleared);
    assert_eq!(h.peer.announcement(&h.event).await.expect("read"), None);

    // Removing the event removes its announcement.
    h.store.announce(&newer).await.expect("announce");
    h.store.remove_event(&h.event).await.expect("remove");
    assert_eq!(h.peer.announcement(&h.event).await.expect("read"), None);
}

pub async fn contacts_are_kept_for_known_visitors(h: Harness) {
    let fan = crate::common::visitor(1);
    let stranger = crate::common::visitor(2);
    assert!(matches!(
        h.store.set_contact(&h.event, &fan, "x").await,
        Err(QueueError::UnknownEvent(_))
    ));
    h.store
        .put_settings(&h.event, &open(60, 10))
        .await
        .expect("put");
    h.join(1, T0).await;
    // Only a visitor the event knows may leave a contact.
    assert!(!h
        .store
        .set_contact(&h.event, &stranger, r#"{"email":"b@example.com"}"#)
        .await
        .expect("set"));
    assert!(h
        .store
        .set_contact(&h.event, &fan, r#"{"email":"a@example.com"}"#)
        .await
        .expect("set"));
    // The last one left wins; another node reads it.
    assert!(h
        .store
        .set_contact(&h.event, &fan, r#"{"email":"c@example.com"}"#)
        .await
        .expect("set"));
    let found = h
        .peer
        .contacts(&h.event, &[fan.clone(), stranger.clone()])
        .await
        .expect("contacts");
    assert_eq!(
        found,
        vec![(fan.clone(), r#"{"email":"c@example.com"}"#.to_owned())]
    );
    assert!(h
        .peer
        .contacts(&h.event, &[])
        .await
        .expect("none")
        .is_empty());
    h.store.remove_event(&h.event).await.expect("remove");
    assert!(h
        .peer
        .contacts(&h.event, &[fan])
        .await
        .expect("gone")
        .is_empty());
}
