//! Reminder emails, on both databases: none before the window, one per
//! order once the event is within `reminder_hours`, with two processes
//! sending at once and again after.

use crate::common::{Backend, TestApp};
use crate::tickets::confirmed_order;
use booking::db::EventChanges;

crate::per_backend!(two_processes_remind_each_order_once);

async fn two_processes_remind_each_order_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, first) = confirmed_order(&app, 2, 0).await;
    let (_, second) = confirmed_order(&app, 0, 1).await;
    let other = app.second_process().await;
    // The demo event is a month away: not yet.
    assert_eq!(app.state.tickets().send_reminders().await.unwrap(), 0);

    let soon = chrono::Utc::now() + chrono::Duration::hours(2);
    let changes = EventChanges {
        starts_at: Some(soon),
        ..Default::default()
    };
    assert!(app.db.sales().update_event("demo", &changes).await.unwrap());
    let (a, b) = tokio::join!(
        app.state.tickets().send_reminders(),
        other.tickets().send_reminders()
    );
    assert_eq!(a.unwrap() + b.unwrap(), 2, "one reminder per order");
    // A restart, or the next minute's run, sends nothing more.
    assert_eq!(other.tickets().send_reminders().await.unwrap(), 0);
    assert_eq!(app.state.tickets().send_reminders().await.unwrap(), 0);

    let mail = app.queued_emails("reminder").await;
    assert_eq!(mail.len(), 2);
    for order in [&first, &second] {
        let theirs: Vec<_> = mail
            .iter()
            .filter(|m| m.body_text.contains(&order.order.reference))
            .collect();
        assert_eq!(theirs.len(), 1, "{}", order.order.reference);
        for t in &order.tickets {
            assert!(theirs[0]
                .body_html
                .contains(&format!("/api/v1/tickets/{}/qr.png", t.id)));
        }
    }
    app.cleanup().await;
}
