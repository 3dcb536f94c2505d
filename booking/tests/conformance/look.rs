//! An event's look, the "it's your turn" email and emails in the fan's
//! language, on both databases.

use crate::common::{now_ms, Backend, TestApp};
use booking::db::{Logo, LookFields};
use booking::email::i18n::Lang;
use queue::engine::contact::TurnContact;
use queue::{EventId, QueueSettings, QueueState, QueueStore, VisitorId};

crate::per_backend!(
    looks_are_stored_per_event,
    admission_queues_one_turn_email_across_processes,
    account_mails_follow_the_page_language
);

async fn looks_are_stored_per_event(backend: Backend) {
    let app = TestApp::new(backend).await;
    let looks = app.db.looks();
    assert_eq!(looks.look("demo").await.unwrap(), None);
    let fields = LookFields {
        display_name: Some("<b>Gala</b> night".to_owned()),
        accent: Some("#aa3300".to_owned()),
        message: Some("Doors at 7\nBring ID".to_owned()),
    };
    // An unknown event gets nothing.
    assert!(!looks.put_fields("nope", &fields, 1).await.unwrap());
    assert!(looks.look("nope").await.unwrap().is_none());
    assert!(looks.put_fields("demo", &fields, 1).await.unwrap());
    let logo = Logo {
        content_type: "image/png".to_owned(),
        sha256: "ab".repeat(32),
        bytes: b"\x89PNG\r\n\x1a\nbytes".to_vec(),
    };
    assert!(looks.put_logo("demo", Some(&logo), 2).await.unwrap());
    let look = looks.look("demo").await.unwrap().expect("look");
    // Text comes back as stored (pages render it as text), the logo kept
    // beside the fields.
    assert_eq!(look.fields, fields);
    assert_eq!(look.logo_type.as_deref(), Some("image/png"));
    assert_eq!(look.logo_bytes, Some(logo.bytes.len() as i64));
    assert_eq!(look.updated_at, 2);
    assert_eq!(looks.logo("demo").await.unwrap(), Some(logo));
    // Replacing the fields keeps the logo; removing the logo keeps them.
    assert!(looks
        .put_fields("demo", &LookFields::default(), 3)
        .await
        .unwrap());
    assert!(looks.logo("demo").await.unwrap().is_some());
    assert!(looks.put_fields("demo", &fields, 4).await.unwrap());
    assert!(looks.put_logo("demo", None, 5).await.unwrap());
    let look = looks.look("demo").await.unwrap().expect("look");
    assert_eq!((look.fields, look.logo_bytes), (fields, None));
    assert_eq!(looks.logo("demo").await.unwrap(), None);
    app.cleanup().await;
}

async fn admission_queues_one_turn_email_across_processes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let other = app.second_process().await;
    let event = EventId::parse("demo").unwrap();
    let settings = QueueSettings {
        state: QueueState::Open,
        admit_per_minute: 600,
        max_active: 10,
        ..QueueSettings::default()
    };
    app.queue.put_settings(&event, &settings).await.unwrap();
    let (fan, quiet) = (VisitorId::random(), VisitorId::random());
    let t0 = now_ms();
    for v in [&fan, &quiet] {
        app.queue.join(&event, v, t0).await.unwrap();
    }
    let contact = TurnContact {
        email: "fan@example.com".to_owned(),
        lang: "fr".to_owned(),
    };
    let json = serde_json::to_string(&contact).unwrap();
    assert!(app.queue.set_contact(&event, &fan, &json).await.unwrap());

    // The first tick starts the clock; the next admits both.
    assert!(app.queue.acquire_lease(&event, "n", 60_000).await.unwrap());
    app.queue.tick(&event, "n", t0).await.unwrap();
    let tick = app
        .queue
        .tick(&event, "n", t0 + 1_000)
        .await
        .unwrap()
        .expect("ran");
    assert_eq!(tick.admitted.len(), 2, "both fans admitted");
    // Both processes follow the tick, at once and once more (a repeat).
    let (a, b) = tokio::join!(
        app.state.outbox().queue_turn_emails(&tick),
        other.outbox().queue_turn_emails(&tick)
    );
    assert_eq!(
        a.unwrap() + b.unwrap(),
        1,
        "one email for the one fan who asked"
    );
    assert_eq!(
        app.state.outbox().queue_turn_emails(&tick).await.unwrap(),
        0
    );

    let mail = app.queued_emails("your_turn").await;
    assert_eq!(mail.len(), 1, "exactly one \"your turn\" email");
    let m = &mail[0];
    assert_eq!(m.recipient, "fan@example.com");
    assert!(m.subject.starts_with("C'est votre tour"), "{}", m.subject);
    assert!(m.body_text.contains("http://booking.test/queue/demo"));
    assert!(m
        .body_html
        .contains("href=\"http://booking.test/queue/demo\""));
    app.cleanup().await;
}

async fn account_mails_follow_the_page_language(backend: Backend) {
    let app = TestApp::new(backend).await;
    let req = |email: &str, lang: Option<&str>| booking::accounts::AccountRequest {
        email: email.to_owned(),
        password: "correct horse battery".to_owned(),
        lang: lang.map(str::to_owned),
    };
    app.state
        .accounts()
        .register(&req("ja@example.com", Some("ja-JP")))
        .await
        .unwrap();
    app.state
        .accounts()
        .register(&req("xx@example.com", Some("xx")))
        .await
        .unwrap();
    let mail = app.queued_emails("verify_email").await;
    let to = |who: &str| mail.iter().find(|m| m.recipient == who).expect("mail");
    assert_eq!(
        to("ja@example.com").subject,
        Lang::Ja.text("verify.subject")
    );
    assert!(to("ja@example.com").body_html.contains("lang=\"ja\""));
    // An unknown language falls back to English.
    assert_eq!(
        to("xx@example.com").subject,
        "Confirm your email for waitroom"
    );
    app.cleanup().await;
}
