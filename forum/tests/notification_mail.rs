//! Notification mails through a real SMTP server (aiosmtpd, `testkit::smtp`): one mail per
//! notification for members who want one each time, one digest per period for those who want
//! a digest, none for `never` or what was read on the site; nothing lost and nothing sent
//! twice when the worker or the SMTP server is down; the notification metrics.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestApp;
use forum::mail::{Composer, Mailer, RetryPolicy, Sender, SmtpUrl};
use forum::notify_mail::{NotifyMailer, NotifyMetrics};
use testkit::smtp::SmtpCatcher;

fn composer() -> Composer {
    Composer::new("http://127.0.0.1:8080").unwrap()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        first: Duration::from_millis(200),
        max: Duration::from_millis(400),
        give_up_after: Duration::from_secs(3600),
        send_timeout: Duration::from_secs(20),
    }
}

fn smtp_sender(app: &TestApp, catcher: &SmtpCatcher) -> Sender {
    let url: SmtpUrl = catcher.url().parse().unwrap();
    let mailer = Mailer::smtp(
        &url,
        "Forum <forum@example.org>",
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    Sender::new(app.state.pool.clone(), mailer, fast_retries(), None)
}

async fn set_pref(app: &TestApp, user: i64, pref: &str) {
    app.state
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE users SET notify_email = $2 WHERE id = $1",
            &[&user, &pref],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_smtp_outage_then_recovery_delivers_each_notification_exactly_once() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let t = app.thread(&alice, cat, "Mail me", "first").await;
    app.reply(&carol, t, "carol watches").await;
    // The worker is not running yet: notifications wait in the outbox.
    app.reply(&bob, t, "a reply for both").await;
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            .await,
        3
    );
    let mut catcher = SmtpCatcher::start_new();
    catcher.stop();
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(NotifyMetrics::register(&mut registry));
    let notices = NotifyMailer::new(
        app.state.pool.clone(),
        composer(),
        Duration::from_secs(86_400),
        Some(metrics.clone()),
    );
    notices.update_metrics().await.unwrap();
    let step = notices.step().await.unwrap();
    assert_eq!(step.instant, 3);
    // A second step (or a second worker) finds nothing left to mail.
    assert_eq!(notices.step().await.unwrap().instant, 0);
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM mails WHERE kind = 'notification'")
            .await,
        3
    );

    // SMTP is down: the sender retries and keeps them.
    let sender = smtp_sender(&app, &catcher);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(sender.run(Duration::from_millis(50), async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app
        .scalar::<i64>("SELECT count(*) FROM mails WHERE attempts >= 1 AND last_error IS NOT NULL")
        .await
        < 3
    {
        assert!(tokio::time::Instant::now() < deadline, "never tried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(catcher.mails().is_empty());

    catcher.start();
    let mails = catcher.wait_for(3, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(notices.step().await.unwrap(), Default::default());
    let all = catcher.mails();
    assert_eq!(all.len(), 3, "a mail was sent twice: {all:?}");
    let _ = stop.send(());
    running.await.unwrap();
    let mut to: Vec<String> = mails.iter().map(|m| m.rcpt_tos.join(",")).collect();
    to.sort();
    assert_eq!(
        to,
        vec![
            "alice@example.com",
            "alice@example.com",
            "carol@example.com"
        ]
    );
    let to_carol = mails
        .iter()
        .find(|m| m.rcpt_tos[0] == "carol@example.com")
        .unwrap();
    assert!(
        to_carol.subject.contains("Bob replied in “Mail me”"),
        "{}",
        to_carol.subject
    );
    let text = to_carol.text.as_deref().unwrap();
    assert!(text.contains("http://127.0.0.1:8080/p/"), "{text}");
    assert!(text.contains("/account/notifications"), "{text}");

    notices.update_metrics().await.unwrap();
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    assert!(
        out.contains("forum_notifications_total{kind=\"reply\",channel=\"email\"} 3"),
        "{out}"
    );
    assert!(
        out.contains("forum_notifications_total{kind=\"mention\",channel=\"site\"} 0"),
        "{out}"
    );
    assert!(out.contains("forum_notification_outbox_due 0"), "{out}");
    // Written after the metrics started counting: one more reply notifies two watchers.
    app.reply(&alice, t, "thanks").await;
    notices.update_metrics().await.unwrap();
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    assert!(
        out.contains("forum_notifications_total{kind=\"reply\",channel=\"site\"} 2"),
        "{out}"
    );
    assert!(out.contains("forum_notification_outbox_due 2"), "{out}");
}

#[tokio::test]
async fn never_and_already_read_notifications_get_no_mail() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let t = app.thread(&alice, cat, "Quiet", "first").await;
    app.reply(&carol, t, "carol watches").await;
    set_pref(&app, carol.user_id, "never").await;
    app.reply(&bob, t, "reply").await;
    // Alice reads hers on the site before the worker comes round.
    app.post("/notifications/read", &[("all", "1")], &alice)
        .await;
    let notices = NotifyMailer::new(
        app.state.pool.clone(),
        composer(),
        Duration::from_secs(60),
        None,
    );
    let step = notices.step().await.unwrap();
    assert_eq!(step.instant, 0);
    assert!(step.skipped >= 2, "{step:?}");
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM mails").await, 0);
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            .await,
        0
    );
    // Members choosing `never` before the notification get no outbox row at all.
    assert_eq!(
        app.scalar::<i64>(&format!(
            "SELECT count(*) FROM outbox o JOIN notifications n ON n.id = o.notification_id
             WHERE o.user_id = {} AND n.post_id = (SELECT max(id) FROM posts)",
            carol.user_id
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn a_digest_groups_a_periods_notifications_into_one_mail() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    set_pref(&app, alice.user_id, "digest").await;
    let t = app.thread(&alice, cat, "Digest me", "first").await;
    app.reply(&bob, t, "one").await;
    app.reply(&bob, t, "two @alice").await;
    let catcher = SmtpCatcher::start_new();
    let notices = NotifyMailer::new(
        app.state.pool.clone(),
        composer(),
        Duration::from_secs(2),
        None,
    );
    // Within the period: nothing yet.
    assert_eq!(notices.step().await.unwrap(), Default::default());
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let step = notices.step().await.unwrap();
    assert_eq!(step.digests, 1);
    assert_eq!(notices.step().await.unwrap().digests, 0);
    let sender = smtp_sender(&app, &catcher);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(sender.run(Duration::from_millis(50), async {
        let _ = stopped.await;
    }));
    let mails = catcher.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(mails[0].rcpt_tos, vec!["alice@example.com"]);
    assert!(
        mails[0].subject.starts_with("2 new notifications"),
        "{}",
        mails[0].subject
    );
    let text = mails[0].text.as_deref().unwrap();
    assert!(text.contains("bob replied in “Digest me”"), "{text}");
    assert!(text.contains("bob mentioned you in “Digest me”"), "{text}");

    // The next notification waits for a period of its own.
    app.reply(&bob, t, "three").await;
    assert_eq!(notices.step().await.unwrap().digests, 0);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(notices.step().await.unwrap().digests, 1);
    let mails = catcher.wait_for(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(catcher.mails().len(), 2);
    assert!(
        mails
            .iter()
            .any(|m| m.subject.starts_with("1 new notification "))
    );
    let _ = stop.send(());
    running.await.unwrap();
}
