//! Mail delivery through a real SMTP server (aiosmtpd, see `testkit::smtp`): both parts arrive
//! decoded, STARTTLS and TLS with AUTH work, an outage delays mails but loses none and sends
//! none twice, a refused mailbox fails alone, and without an SMTP server mails go to the log.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use forum::mail::metrics::MailMetrics;
use forum::mail::sender::Delivered;
use forum::mail::{Composer, Mail, Mailer, RetryPolicy, Sender, SmtpUrl, outbox};
use testkit::smtp::{CatcherOptions, SmtpCatcher};

const FROM: &str = "Forum <forum@example.org>";

/// A migrated database and its pool.
async fn database() -> (testkit::TestDb, deadpool_postgres::Pool) {
    let db = testkit::TestDb::new().await;
    let pool = forum::db::pool(&db.url, 4).unwrap();
    forum::db::migrate(&pool).await.unwrap();
    (db, pool)
}

fn composer() -> Composer {
    Composer::new("http://127.0.0.1:8080").unwrap()
}

fn reset_mail(to: &str, token: &str) -> Mail {
    composer()
        .password_reset(to, "alice", token, Duration::from_secs(3600))
        .unwrap()
}

async fn queue(pool: &deadpool_postgres::Pool, mail: &Mail) -> i64 {
    outbox::queue(&pool.get().await.unwrap(), mail)
        .await
        .unwrap()
}

async fn scalar<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    pool: &deadpool_postgres::Pool,
    sql: &str,
) -> T {
    pool.get()
        .await
        .unwrap()
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        first: Duration::from_millis(200),
        max: Duration::from_millis(400),
        give_up_after: Duration::from_secs(3600),
        send_timeout: Duration::from_secs(20),
    }
}

fn smtp_mailer(url: &str, ca: Option<&[u8]>) -> Mailer {
    let url: SmtpUrl = url.parse().unwrap();
    Mailer::smtp(&url, FROM, ca, Duration::from_secs(10)).unwrap()
}

/// A private CA and a certificate for 127.0.0.1 it signed, as PEM files in `dir`; returns the
/// CA's PEM and the paths of the server's certificate and key.
fn certificates(dir: &std::path::Path) -> (Vec<u8>, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let (cert_path, key_path) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca.pem().into_bytes(), cert_path, key_path)
}

#[tokio::test]
async fn a_queued_mail_arrives_with_both_parts_and_its_bodies_are_then_erased() {
    let (_db, pool) = database().await;
    let catcher = SmtpCatcher::start_new();
    let sender = Sender::new(
        pool.clone(),
        smtp_mailer(&catcher.url(), None),
        fast_retries(),
        None,
    );
    let id = queue(&pool, &reset_mail("alice@example.com", "tok3n")).await;
    assert_eq!(sender.deliver_one().await.unwrap(), Delivered::Sent(id));
    assert_eq!(sender.deliver_one().await.unwrap(), Delivered::Idle);

    let mails = catcher.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.rcpt_tos, vec!["alice@example.com".to_string()]);
    assert_eq!(m.mail_from, "forum@example.org");
    assert_eq!(m.from, "Forum <forum@example.org>");
    assert_eq!(m.subject, "Reset your password on 127.0.0.1");
    assert!(m.message_id.starts_with('<') && m.message_id.contains('@'));
    let text = m.text.as_deref().unwrap();
    assert!(text.contains("Hello alice,"), "{text}");
    assert!(
        text.contains("http://127.0.0.1:8080/password-reset/tok3n"),
        "{text}"
    );
    let html = m.html.as_deref().unwrap();
    assert!(
        html.contains("<a href=\"http://127.0.0.1:8080/password-reset/tok3n\">"),
        "{html}"
    );

    let row = pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT status, attempts, body_text, body_html, finished_at IS NOT NULL FROM mails WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "sent");
    assert_eq!(row.get::<_, i32>(1), 1);
    assert_eq!(row.get::<_, String>(2), "");
    assert_eq!(row.get::<_, String>(3), "");
    assert!(row.get::<_, bool>(4));
}

#[tokio::test]
async fn an_smtp_outage_delays_mails_but_loses_none_and_sends_none_twice() {
    let (_db, pool) = database().await;
    let mut catcher = SmtpCatcher::start_new();
    catcher.stop();
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(MailMetrics::register(&mut registry));
    let sender = Sender::new(
        pool.clone(),
        smtp_mailer(&catcher.url(), None),
        fast_retries(),
        Some(metrics),
    );
    let mut expected = BTreeSet::new();
    for i in 0..3 {
        let to = format!("member{i}@example.com");
        queue(&pool, &reset_mail(&to, &format!("token{i}"))).await;
        expected.insert(to);
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(sender.clone().run(Duration::from_millis(50), async {
        let _ = stopped.await;
    }));

    // Every mail fails at least once while the server is down, and stays queued.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while scalar::<i64>(
        &pool,
        "SELECT count(*) FROM mails WHERE attempts >= 1 AND last_error IS NOT NULL",
    )
    .await
        < 3
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sender never tried the mails"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        scalar::<i64>(
            &pool,
            "SELECT count(*) FROM mails WHERE status = 'queued' AND body_text <> ''"
        )
        .await,
        3
    );
    assert!(catcher.mails().is_empty());

    catcher.start();
    let mails = catcher.wait_for(3, Duration::from_secs(20)).await;
    // Give a duplicate every chance to show up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mails_after = catcher.mails();
    assert_eq!(
        mails_after.len(),
        3,
        "a mail was sent twice: {mails_after:?}"
    );
    let got: BTreeSet<String> = mails.iter().map(|m| m.rcpt_tos.join(",")).collect();
    assert_eq!(got, expected);
    for m in &mails {
        let text = m.text.as_deref().unwrap();
        let i = m.rcpt_tos[0]
            .trim_start_matches("member")
            .chars()
            .next()
            .unwrap();
        assert!(
            text.contains(&format!("/password-reset/token{i}")),
            "{text}"
        );
    }
    assert_eq!(
        scalar::<i64>(&pool, "SELECT count(*) FROM mails WHERE status = 'sent'").await,
        3
    );
    let _ = stop.send(());
    running.await.unwrap();

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("forum_emails_total{kind=\"password_reset\",result=\"sent\"} 3"),
        "{text}"
    );
    let retries: u64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("forum_emails_total{kind=\"password_reset\",result=\"retry\"} ")
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(retries >= 3, "{text}");
    assert!(text.contains("forum_emails_queued 0"), "{text}");
}

#[tokio::test]
async fn starttls_with_auth_delivers_encrypted_and_authenticated() {
    let (_db, pool) = database().await;
    let dir = std::env::temp_dir().join(format!("forum-mail-tls-{}", std::process::id()));
    let (ca, cert, key) = certificates(&dir.join("starttls"));
    let catcher = SmtpCatcher::with_options(CatcherOptions {
        starttls: Some((cert, key)),
        auth: Some(("mailer".into(), "s3cret pass".into())),
        ..CatcherOptions::default()
    });
    let url = format!(
        "smtp://mailer:s3cret%20pass@127.0.0.1:{}?tls=required",
        catcher.port
    );
    let sender = Sender::new(
        pool.clone(),
        smtp_mailer(&url, Some(&ca)),
        fast_retries(),
        None,
    );
    let id = queue(&pool, &reset_mail("alice@example.com", "t1")).await;
    assert_eq!(sender.deliver_one().await.unwrap(), Delivered::Sent(id));
    let mails = catcher.wait_for(1, Duration::from_secs(5)).await;
    assert!(mails[0].tls, "the mail came in the clear");
    assert!(mails[0].authenticated);

    // The wrong password is the operator's problem, not the mail's: it stays queued.
    let wrong = format!(
        "smtp://mailer:wrong@127.0.0.1:{}?tls=required",
        catcher.port
    );
    let sender = Sender::new(
        pool.clone(),
        smtp_mailer(&wrong, Some(&ca)),
        fast_retries(),
        None,
    );
    let id = queue(&pool, &reset_mail("bob@example.com", "t2")).await;
    assert_eq!(sender.deliver_one().await.unwrap(), Delivered::Retry(id));
    let (status, error): (String, String) = {
        let row = pool
            .get()
            .await
            .unwrap()
            .query_one("SELECT status, last_error FROM mails WHERE id = $1", &[&id])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(status, "queued");
    assert!(
        !error.contains("wrong"),
        "the password leaked into the error: {error}"
    );
    assert_eq!(catcher.mails().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn implicit_tls_delivers_and_an_untrusted_certificate_is_refused() {
    let (_db, pool) = database().await;
    let dir = std::env::temp_dir().join(format!("forum-mail-smtps-{}", std::process::id()));
    let (ca, cert, key) = certificates(&dir);
    let catcher = SmtpCatcher::with_options(CatcherOptions {
        tls: Some((cert, key)),
        auth: Some(("mailer".into(), "pw".into())),
        ..CatcherOptions::default()
    });
    let url = format!("smtps://mailer:pw@127.0.0.1:{}", catcher.port);

    // Without the private CA the certificate is not trusted: nothing is sent, nothing lost.
    let untrusting = Sender::new(pool.clone(), smtp_mailer(&url, None), fast_retries(), None);
    let id = queue(&pool, &reset_mail("alice@example.com", "t1")).await;
    assert_eq!(
        untrusting.deliver_one().await.unwrap(),
        Delivered::Retry(id)
    );
    assert!(catcher.mails().is_empty());

    pool.get()
        .await
        .unwrap()
        .execute("UPDATE mails SET run_at = now()", &[])
        .await
        .unwrap();
    let sender = Sender::new(
        pool.clone(),
        smtp_mailer(&url, Some(&ca)),
        fast_retries(),
        None,
    );
    assert_eq!(sender.deliver_one().await.unwrap(), Delivered::Sent(id));
    let mails = catcher.wait_for(1, Duration::from_secs(5)).await;
    assert!(mails[0].tls && mails[0].authenticated);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_refused_mailbox_fails_for_good_without_holding_up_the_others() {
    let (_db, pool) = database().await;
    let catcher = SmtpCatcher::start_new();
    let sender = Sender::new(
        pool.clone(),
        smtp_mailer(&catcher.url(), None),
        fast_retries(),
        None,
    );
    let refused = queue(&pool, &reset_mail("nobody@example.com", "t1")).await;
    let fine = queue(&pool, &reset_mail("alice@example.com", "t2")).await;
    assert_eq!(
        sender.deliver_one().await.unwrap(),
        Delivered::Failed(refused)
    );
    assert_eq!(sender.deliver_one().await.unwrap(), Delivered::Sent(fine));
    let row = pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT status, last_error, body_text FROM mails WHERE id = $1",
            &[&refused],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "failed");
    assert!(row.get::<_, String>(1).contains("550"));
    assert_eq!(row.get::<_, String>(2), "");
    assert_eq!(catcher.wait_for(1, Duration::from_secs(5)).await.len(), 1);
}

#[tokio::test]
async fn two_senders_never_send_one_mail_twice() {
    let (_db, pool) = database().await;
    let catcher = SmtpCatcher::start_new();
    for i in 0..20 {
        queue(&pool, &reset_mail(&format!("m{i}@example.com"), "t")).await;
    }
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let sender = Sender::new(
            pool.clone(),
            smtp_mailer(&catcher.url(), None),
            fast_retries(),
            None,
        );
        tasks.push(tokio::spawn(async move {
            let mut sent = 0;
            while let Delivered::Sent(_) = sender.deliver_one().await.unwrap() {
                sent += 1;
            }
            sent
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 20);
    let mails = catcher.wait_for(20, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(catcher.mails().len(), 20);
    let distinct: BTreeSet<String> = mails.iter().map(|m| m.rcpt_tos.join(",")).collect();
    assert_eq!(distinct.len(), 20);
}

#[tokio::test]
async fn without_an_smtp_server_mails_are_logged_and_marked_sent() {
    let (_db, pool) = database().await;
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(MailMetrics::register(&mut registry));
    let mailer = Mailer::log(FROM).unwrap();
    assert!(mailer.describe().contains("written to the log"));
    let sender = Sender::new(pool.clone(), mailer, fast_retries(), Some(metrics));
    let id = queue(&pool, &reset_mail("alice@example.com", "t")).await;
    assert_eq!(sender.deliver_one().await.unwrap(), Delivered::Sent(id));
    assert_eq!(
        scalar::<String>(&pool, &format!("SELECT status FROM mails WHERE id = {id}")).await,
        "sent"
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("forum_emails_total{kind=\"password_reset\",result=\"logged\"} 1"),
        "{text}"
    );
}
