//! Accounts end to end, with the mails going through a real SMTP server (aiosmtpd, see
//! `testkit::smtp`) and their links followed: registration modes and activation, a taken
//! address answered as a free one, password reset (single use, one hour, ending every session),
//! e-mail change confirmed from the new address, the admin panel's user management, account
//! deletion and data download, pruning.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Browser, PASSWORD, Resp, TestApp};
use forum::mail::sender::Delivered;
use forum::mail::{Mailer, RetryPolicy, Sender, SmtpUrl};
use forum::registration::RegistrationMode;
use serde_json::json;
use testkit::smtp::{CaughtMail, SmtpCatcher};

const HOME: &str = "http://forum.test";

async fn app_in(mode: RegistrationMode) -> TestApp {
    TestApp::with_config(forum::Config {
        registration: mode,
        public_url: HOME.into(),
        ..forum::Config::default()
    })
    .await
}

/// Sends every queued mail through `catcher`; returns what it caught so far.
async fn deliver(app: &TestApp, catcher: &SmtpCatcher) -> Vec<CaughtMail> {
    let url: SmtpUrl = catcher.url().parse().unwrap();
    let mailer = Mailer::smtp(
        &url,
        "Forum <forum@forum.test>",
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    let sender = Sender::new(app.state.pool.clone(), mailer, RetryPolicy::default(), None);
    let before = catcher.mails().len();
    let mut sent = 0;
    loop {
        match sender.deliver_one().await.unwrap() {
            Delivered::Idle => break,
            Delivered::Sent(_) => sent += 1,
            other => panic!("delivery failed: {other:?}"),
        }
    }
    catcher
        .wait_for(before + sent, Duration::from_secs(10))
        .await
}

/// The mails caught for `to`.
fn mails_to<'a>(mails: &'a [CaughtMail], to: &str) -> Vec<&'a CaughtMail> {
    mails
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == to))
        .collect()
}

/// The path of the link under [`HOME`] starting with `prefix` in a mail's text part.
fn link(mail: &CaughtMail, prefix: &str) -> String {
    let text = mail.text.as_deref().unwrap();
    let start = text
        .find(&format!("{HOME}{prefix}"))
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    text[start + HOME.len()..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

async fn register(app: &TestApp, name: &str, email: &str) -> Resp {
    app.post(
        "/register",
        &[("username", name), ("email", email), ("password", PASSWORD)],
        &Browser::default(),
    )
    .await
}

async fn login(app: &TestApp, name: &str, password: &str) -> Resp {
    app.post(
        "/login",
        &[("username", name), ("password", password)],
        &Browser::default(),
    )
    .await
}

async fn api_login(app: &TestApp, name: &str) -> String {
    let r = app
        .post_json(
            "/api/auth/login",
            json!({"username": name, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["token"].as_str().unwrap().to_string()
}

async fn api_get(app: &TestApp, path: &str, bearer: &str) -> Resp {
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .body(Body::empty())
        .unwrap();
    app.send(req, &Browser::default()).await
}

#[tokio::test]
async fn email_mode_activates_the_account_from_the_mailed_link_once() {
    let app = app_in(RegistrationMode::Email).await;
    let catcher = SmtpCatcher::start_new();
    let r = register(&app, "carol", "carol@example.com").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Check your mail"));
    assert!(r.cookie("forum_session").is_none());
    assert_eq!(
        login(&app, "carol", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED,
        "an account awaiting activation cannot log in"
    );
    let mails = deliver(&app, &catcher).await;
    let mine = mails_to(&mails, "carol@example.com");
    assert_eq!(mine.len(), 1);
    assert!(mine[0].subject.starts_with("Activate your account"));
    let path = link(mine[0], "/activate/");
    let done = app.get(&path, &Browser::default()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Your account is active"));
    assert_eq!(
        login(&app, "carol", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let again = app.get(&path, &Browser::default()).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    let token = path.trim_start_matches("/activate/");
    let api = app
        .post_json("/api/auth/activate", json!({"token": token}), None)
        .await;
    assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.json()["field"], "token");

    let metrics = app.get("/metrics", &Browser::default()).await.body;
    assert!(
        metrics.contains("forum_registrations_total{mode=\"email\",result=\"awaiting_email\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("forum_account_events_total{event=\"activated\"} 1"));
}

#[tokio::test]
async fn a_taken_address_is_answered_as_a_free_one_and_its_owner_is_told() {
    for mode in [RegistrationMode::Email, RegistrationMode::Admin] {
        let app = app_in(mode).await;
        let catcher = SmtpCatcher::start_new();
        app.user("alice", "member").await;
        let taken = register(&app, "mallory", "alice@example.com").await;
        let free = register(&app, "bobby1", "bobby@example.com").await;
        assert_eq!(taken.status, free.status, "{mode}");
        assert_eq!(taken.body, free.body, "{mode}: the pages must be identical");
        let n: i64 = app
            .scalar("SELECT count(*) FROM users WHERE username = 'mallory'")
            .await;
        assert_eq!(n, 0, "no account is made for a taken address");
        let api_taken = app
            .post_json(
                "/api/users/",
                json!({"username": "mallor2", "email": "ALICE@example.com", "password": PASSWORD}),
                None,
            )
            .await;
        let api_free = app
            .post_json(
                "/api/users/",
                json!({"username": "bobby2", "email": "bobby2@example.com", "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(api_taken.status, StatusCode::ACCEPTED, "{}", api_taken.body);
        assert_eq!(api_taken.status, api_free.status);
        assert_eq!(api_taken.json()["status"], api_free.json()["status"]);

        let mails = deliver(&app, &catcher).await;
        let told = mails_to(&mails, "alice@example.com");
        assert_eq!(told.len(), 2, "{mode}: the owner is told of each attempt");
        assert!(told[0].subject.starts_with("Someone tried to register"));
        assert!(told[0].text.as_deref().unwrap().contains("/password-reset"));
        let activations = mails_to(&mails, "bobby@example.com");
        assert_eq!(
            activations.len(),
            usize::from(mode == RegistrationMode::Email),
            "{mode}"
        );
    }
}

#[tokio::test]
async fn closed_and_admin_modes_and_the_panel_setting() {
    let app = app_in(RegistrationMode::Closed).await;
    let catcher = SmtpCatcher::start_new();
    let closed = register(&app, "dave", "dave@example.com").await;
    assert_eq!(closed.status, StatusCode::FORBIDDEN);
    let api = app
        .post_json(
            "/api/users/",
            json!({"username": "dave", "email": "dave@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);

    let admin = app.admin("boss").await;
    let forged = app
        .post_raw(
            "/admin/registration",
            &[("csrf", "wrong"), ("mode", "admin")],
            &admin,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let set = app
        .post("/admin/registration", &[("mode", "admin")], &admin)
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let waiting = register(&app, "dave", "dave@example.com").await;
    assert_eq!(waiting.status, StatusCode::OK);
    assert!(
        waiting
            .body
            .contains("An administrator will look at your account")
    );
    assert_eq!(
        login(&app, "dave", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );

    let list = app.get("/admin/users?awaiting=1", &admin).await;
    assert!(
        list.body.contains("dave") && !list.body.contains(">boss<"),
        "{}",
        list.body
    );
    let dave: i64 = app
        .scalar("SELECT id FROM users WHERE username = 'dave'")
        .await;
    let approve = app
        .post(
            &format!("/admin/users/{dave}"),
            &[("action", "approve")],
            &admin,
        )
        .await;
    assert_eq!(approve.status, StatusCode::SEE_OTHER, "{}", approve.body);
    assert_eq!(
        login(&app, "dave", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let mails = deliver(&app, &catcher).await;
    let told = mails_to(&mails, "dave@example.com");
    assert_eq!(told.len(), 1);
    assert!(told[0].subject.contains("approved"));
    let twice = app
        .post(
            &format!("/admin/users/{dave}"),
            &[("action", "approve")],
            &admin,
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_password_reset_from_the_mail_works_once_and_ends_every_session() {
    let app = app_in(RegistrationMode::Open).await;
    let catcher = SmtpCatcher::start_new();
    let alice = app.user("alice", "member").await;
    let token = api_login(&app, "alice").await;
    assert_eq!(
        api_get(&app, "/api/me/", &token).await.status,
        StatusCode::OK
    );

    // The same answer whatever the address.
    let known = app
        .post(
            "/password-reset",
            &[("email", "Alice@Example.com")],
            &Browser::default(),
        )
        .await;
    let unknown = app
        .post(
            "/password-reset",
            &[("email", "nobody@example.com")],
            &Browser::default(),
        )
        .await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    let api_known = app
        .post_json(
            "/api/auth/password-reset",
            json!({"email": "alice@example.com"}),
            None,
        )
        .await;
    let api_unknown = app
        .post_json(
            "/api/auth/password-reset",
            json!({"email": "nobody@example.com"}),
            None,
        )
        .await;
    assert_eq!(api_known.status, StatusCode::ACCEPTED);
    assert_eq!(
        (api_known.status, &api_known.body),
        (api_unknown.status, &api_unknown.body)
    );

    let mails = deliver(&app, &catcher).await;
    assert!(mails_to(&mails, "nobody@example.com").is_empty());
    let mine = mails_to(&mails, "alice@example.com");
    assert_eq!(mine.len(), 2);
    let old = link(mine[0], "/password-reset/");
    let path = link(mine[1], "/password-reset/");
    assert_eq!(
        app.get(&old, &Browser::default()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only the newest link works"
    );
    let form = app.get(&path, &Browser::default()).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"password\""));
    let short = app
        .post(&path, &[("password", "short")], &Browser::default())
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = app
        .post(
            &path,
            &[("password", "a brand new password")],
            &Browser::default(),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Password changed"));

    assert_eq!(
        api_get(&app, "/api/me/", &token).await.status,
        StatusCode::UNAUTHORIZED,
        "API tokens end"
    );
    assert_eq!(
        app.get("/account", &alice).await.status,
        StatusCode::SEE_OTHER,
        "page sessions end"
    );
    let sessions: i64 = app.scalar("SELECT count(*) FROM sessions").await;
    assert_eq!(sessions, 0);
    assert_eq!(
        login(&app, "alice", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, "alice", "a brand new password").await.status,
        StatusCode::SEE_OTHER
    );
    let reused = app
        .post(
            &path,
            &[("password", "another new password")],
            &Browser::default(),
        )
        .await;
    assert_eq!(
        reused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "single use"
    );
    assert_eq!(
        login(&app, "alice", "a brand new password").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour_and_forged_tokens_fail() {
    let app = app_in(RegistrationMode::Open).await;
    app.user("alice", "member").await;
    let r = app
        .post_json(
            "/api/auth/password-reset",
            json!({"email": "alice@example.com"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let (expires_in, body): (f64, String) = {
        let c = app.state.pool.get().await.unwrap();
        let row = c
            .query_one(
                "SELECT extract(epoch FROM t.expires_at - t.created_at)::float8, m.body_text
                 FROM account_tokens t, mails m WHERE m.kind = 'password_reset'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert!((expires_in - 3600.0).abs() < 1.0, "{expires_in}");
    let start = body.find("/password-reset/").unwrap() + "/password-reset/".len();
    let token: String = body[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let stored: String = app.scalar("SELECT token_hash FROM account_tokens").await;
    assert_ne!(stored, token, "only the token's hash is stored");

    app.scalar::<i64>(
        "WITH u AS (UPDATE account_tokens SET expires_at = now() - interval '1 second' RETURNING 1) SELECT count(*) FROM u",
    )
    .await;
    let expired = app
        .post_json(
            "/api/auth/password-reset/confirm",
            json!({"token": token, "password": "a brand new password"}),
            None,
        )
        .await;
    assert_eq!(expired.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(expired.json()["field"], "token");
    let forged = app
        .post_json(
            "/api/auth/password-reset/confirm",
            json!({"token": stored, "password": "a brand new password"}),
            None,
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        login(&app, "alice", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_email_change_applies_only_when_confirmed_from_the_new_address() {
    let app = app_in(RegistrationMode::Open).await;
    let catcher = SmtpCatcher::start_new();
    let alice = app.user("alice", "member").await;
    app.user("bob", "member").await;
    let wrong = app
        .post(
            "/account/email",
            &[
                ("email", "alice@new.example"),
                ("password", "not the password"),
            ],
            &alice,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let asked = app
        .post(
            "/account/email",
            &[("email", "alice@new.example"), ("password", PASSWORD)],
            &alice,
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let taken = app
        .post(
            "/account/email",
            &[("email", "bob@example.com"), ("password", PASSWORD)],
            &alice,
        )
        .await;
    assert_eq!(
        taken.status, asked.status,
        "a taken address is answered as a free one"
    );
    let email = |app: &TestApp| {
        let pool = app.state.pool.clone();
        async move {
            pool.get()
                .await
                .unwrap()
                .query_one("SELECT email FROM users WHERE username = 'alice'", &[])
                .await
                .unwrap()
                .get::<_, String>(0)
        }
    };
    assert_eq!(
        email(&app).await,
        "alice@example.com",
        "not before confirmation"
    );
    let mails = deliver(&app, &catcher).await;
    assert_eq!(mails.len(), 1, "nothing to the old address nor to bob's");
    let mine = mails_to(&mails, "alice@new.example");
    assert_eq!(mine.len(), 1);
    let path = link(mine[0], "/account/email/");
    let confirmed = app.get(&path, &Browser::default()).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(email(&app).await, "alice@new.example");
    assert_eq!(
        app.get(&path, &Browser::default()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The API asks the same way.
    let token = api_login(&app, "alice").await;
    let r = app
        .post_json(
            "/api/me/email",
            json!({"email": "alice@third.example", "password": "wrong wrong"}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "password");
    let r = app
        .post_json(
            "/api/me/email",
            json!({"email": "alice@third.example", "password": PASSWORD}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

#[tokio::test]
async fn admins_search_page_edit_reset_and_delete_users_through_the_panel() {
    let app = app_in(RegistrationMode::Open).await;
    let catcher = SmtpCatcher::start_new();
    let admin = app.admin("boss").await;
    for i in 0..60 {
        app.user(&format!("member{i:02}"), "member").await;
    }
    let page1 = app.get("/admin/users?q=member", &admin).await;
    assert!(
        page1.body.contains("60 users · page 1 of 2"),
        "{}",
        page1.body
    );
    assert!(page1.body.contains("member59") && !page1.body.contains("member05<"));
    let page2 = app.get("/admin/users?q=member&page=2", &admin).await;
    assert!(page2.body.contains("member05") && !page2.body.contains("member59"));
    let by_mail = app.get("/admin/users?q=member07%40example", &admin).await;
    assert!(by_mail.body.contains("1 users"), "{}", by_mail.body);

    let alice = app.user("alice", "member").await;
    let id = alice.user_id;
    let at = format!("/admin/users/{id}");
    let forged = app
        .post_raw(&at, &[("csrf", "nope"), ("action", "send_reset")], &admin)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let member = app
        .post(
            &at,
            &[
                ("action", "set_password"),
                ("password", "x".repeat(10).as_str()),
            ],
            &alice,
        )
        .await;
    assert_eq!(member.status, StatusCode::SEE_OTHER);
    assert_eq!(
        member.location(),
        "/admin/login",
        "members never reach the panel"
    );

    let sent = app.post(&at, &[("action", "send_reset")], &admin).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let mails = deliver(&app, &catcher).await;
    assert_eq!(mails_to(&mails, "alice@example.com").len(), 1);

    let set = app
        .post(
            &at,
            &[("action", "set_password"), ("password", "set by the admin")],
            &admin,
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/account", &alice).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        login(&app, "alice", "set by the admin").await.status,
        StatusCode::SEE_OTHER
    );
    let short = app
        .post(
            &at,
            &[("action", "set_password"), ("password", "short")],
            &admin,
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);

    let edit = app
        .post(
            &at,
            &[
                ("action", "edit"),
                ("username", "alicia"),
                ("email", "alicia@example.com"),
                ("role", "moderator"),
            ],
            &admin,
        )
        .await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER, "{}", edit.body);
    let row: String = app
        .scalar(&format!(
            "SELECT username || ' ' || email || ' ' || role FROM users WHERE id = {id}"
        ))
        .await;
    assert_eq!(row, "alicia alicia@example.com moderator");
    let clash = app
        .post(
            &at,
            &[
                ("action", "edit"),
                ("username", "member01"),
                ("email", "alicia@example.com"),
                ("role", "member"),
            ],
            &admin,
        )
        .await;
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Delete with or without content.
    let cat = app.category(None, "General", false).await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let t_bob = app.thread(&bob, cat, "Bob's thread", "by bob").await;
    let t_carol = app.thread(&carol, cat, "Carol's thread", "by carol").await;
    app.reply(&bob, t_carol, "bob replies").await;
    app.reply(&carol, t_bob, "carol replies").await;
    let keep = app
        .post(
            &format!("/admin/users/{}", bob.user_id),
            &[("action", "delete_user"), ("content", "keep")],
            &admin,
        )
        .await;
    assert_eq!(keep.status, StatusCode::SEE_OTHER);
    let anonymous: i64 = app
        .scalar("SELECT count(*) FROM posts WHERE user_id IS NULL")
        .await;
    assert_eq!(anonymous, 2, "bob's posts stay without a name");
    let gone = app
        .post(
            &format!("/admin/users/{}", carol.user_id),
            &[("action", "delete_user"), ("content", "delete")],
            &admin,
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let left: i64 = app.scalar("SELECT count(*) FROM posts").await;
    assert_eq!(
        left, 1,
        "carol's thread with its replies and her reply are gone"
    );
    assert_eq!(
        app.get(&format!("/t/{t_carol}/"), &admin).await.status,
        StatusCode::NOT_FOUND
    );
    let myself = app
        .post(
            &format!("/admin/users/{}", admin.user_id),
            &[("action", "delete_user"), ("content", "keep")],
            &admin,
        )
        .await;
    assert_eq!(myself.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn members_download_their_data_and_delete_their_account() {
    let app = app_in(RegistrationMode::Open).await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let t = app
        .thread(&alice, cat, "Alice's thread", "alice's first words")
        .await;
    let page = app.get("/account/export", &alice).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let data = page.json();
    assert_eq!(data["account"]["username"], "alice");
    assert_eq!(data["account"]["email"], "alice@example.com");
    assert_eq!(data["posts"][0]["body"], "alice's first words");
    assert_eq!(data["threads"][0]["id"], t);
    assert!(!page.body.contains("argon2"), "no password hash");
    let token = api_login(&app, "alice").await;
    let api = api_get(&app, "/api/me/export", &token).await;
    assert_eq!(api.json()["account"]["username"], "alice");

    let wrong = app
        .post(
            "/account/delete",
            &[("content", "keep"), ("password", "not my password")],
            &alice,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let forged = app
        .post_raw(
            "/account/delete",
            &[("csrf", "x"), ("content", "keep"), ("password", PASSWORD)],
            &alice,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let done = app
        .post(
            "/account/delete",
            &[("content", "keep"), ("password", PASSWORD)],
            &alice,
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Account deleted"));
    let users: i64 = app
        .scalar("SELECT count(*) FROM users WHERE username = 'alice'")
        .await;
    assert_eq!(users, 0);
    let kept: i64 = app
        .scalar("SELECT count(*) FROM posts WHERE user_id IS NULL")
        .await;
    assert_eq!(kept, 1);
    assert_eq!(
        app.get(&format!("/t/{t}/"), &Browser::default())
            .await
            .status,
        StatusCode::OK
    );

    // Through the API, with the content.
    let bob = app.user("bob", "member").await;
    app.thread(&bob, cat, "Bob's thread", "bob's words").await;
    let token = api_login(&app, "bob").await;
    let r = app
        .post_json(
            "/api/me/delete",
            json!({"password": PASSWORD, "content": "delete"}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let bobs: i64 = app
        .scalar("SELECT count(*) FROM posts WHERE body = 'bob''s words'")
        .await;
    assert_eq!(bobs, 0);

    // The last administrator stays.
    let boss = app.admin("boss").await;
    let last = app
        .post(
            "/account/delete",
            &[("content", "keep"), ("password", PASSWORD)],
            &boss,
        )
        .await;
    assert_eq!(last.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_prune_job_drops_expired_tokens_and_old_mail_metadata() {
    let app = app_in(RegistrationMode::Open).await;
    let alice = app.user("alice", "member").await;
    let c = app.state.pool.get().await.unwrap();
    c.batch_execute(&format!(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at) VALUES
            ('old', {id}, 'password_reset', now() - interval '2 days'),
            ('new', {id}, 'password_reset', now() + interval '1 hour');
         INSERT INTO mails (kind, recipient, subject, body_text, body_html, status, finished_at) VALUES
            ('password_reset', 'a@example.com', 's', '', '', 'sent', now() - interval '8 days'),
            ('password_reset', 'a@example.com', 's', '', '', 'sent', now() - interval '1 day'),
            ('password_reset', 'a@example.com', 's', 't', 'h', 'queued', NULL);",
        id = alice.user_id
    ))
    .await
    .unwrap();
    forum::models::jobs::run(&c, "prune_sessions", &json!({}))
        .await
        .unwrap();
    let tokens: String = app
        .scalar("SELECT string_agg(token_hash, ',') FROM account_tokens")
        .await;
    assert_eq!(tokens, "new");
    let mails: i64 = app.scalar("SELECT count(*) FROM mails").await;
    assert_eq!(mails, 2, "the queued mail and the recent metadata stay");
}
