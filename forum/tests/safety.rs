//! The forum's defences, each through both doors (pages and API): login limits that cannot be
//! turned against an account's owner, look-alike names, the registration form's honeypot and
//! fill time, registrations per address, flood control, new members' limits, the moderation
//! queue, and bans of addresses and e-mail patterns. Clients come from distinct loopback
//! addresses (127.0.0.2, 127.0.0.3, ...), as the connection's peer.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::{Browser, CSRF, PASSWORD, Resp, TestApp, form_urlencoded};
use forum::config::SpamRules;
use serde_json::{Value, json};

/// `req` as sent from `ip`.
async fn send_from(app: &TestApp, ip: &str, mut req: Request<Body>, b: &Browser) -> Resp {
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    app.send(req, b).await
}

/// A form `POST` (with the CSRF token) from `ip`.
async fn form_from(
    app: &TestApp,
    ip: &str,
    path: &str,
    fields: &[(&str, &str)],
    b: &Browser,
) -> Resp {
    let mut all = vec![("csrf", CSRF)];
    all.extend_from_slice(fields);
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form_urlencoded(&all)))
        .unwrap();
    send_from(app, ip, req, b).await
}

/// A JSON `POST` from `ip` with an optional bearer token.
async fn json_from(app: &TestApp, ip: &str, path: &str, body: Value, bearer: Option<&str>) -> Resp {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    send_from(
        app,
        ip,
        req.body(Body::from(body.to_string())).unwrap(),
        &Browser::default(),
    )
    .await
}

fn page_login(user: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("username", user.to_string()),
        ("password", password.to_string()),
    ]
}

async fn login_page_from(app: &TestApp, ip: &str, user: &str, password: &str) -> StatusCode {
    let fields = page_login(user, password);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form_from(app, ip, "/login", &fields, &Browser::default())
        .await
        .status
}

async fn login_api_from(app: &TestApp, ip: &str, user: &str, password: &str) -> StatusCode {
    json_from(
        app,
        ip,
        "/api/auth/login",
        json!({"username": user, "password": password}),
        None,
    )
    .await
    .status
}

/// The value of the sample `name{labels}` in the app's exposition (0 when absent).
fn metric(app: &TestApp, sample: &str) -> f64 {
    app.state
        .metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn login_config() -> forum::Config {
    forum::Config {
        login_ip_limit: 30,
        login_account_limit: 10,
        login_account_slow_after: 10,
        login_max_delay: Duration::from_millis(300),
        ..common::config()
    }
}

#[tokio::test]
async fn failures_from_one_address_never_keep_the_owner_out_from_another() {
    let app = TestApp::with_config(login_config()).await;
    app.user("alice", "member").await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(login_page_from(&app, "127.0.0.2", "alice", &format!("guess {i}")).await);
    }
    assert_eq!(
        statuses[..10],
        [StatusCode::UNAUTHORIZED; 10],
        "ten wrong passwords are checked"
    );
    assert_eq!(statuses[10..], [StatusCode::TOO_MANY_REQUESTS; 2]);
    assert_eq!(
        login_page_from(&app, "127.0.0.2", "alice", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing address is refused even with the right password"
    );
    assert_eq!(
        login_api_from(&app, "127.0.0.2", "alice", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "by both doors"
    );
    assert_eq!(
        login_page_from(&app, "127.0.0.3", "alice", PASSWORD).await,
        StatusCode::SEE_OTHER,
        "the owner logs in from a page elsewhere"
    );
    assert_eq!(
        login_api_from(&app, "127.0.0.3", "alice", PASSWORD).await,
        StatusCode::OK,
        "and from the API"
    );
    assert!(
        metric(
            &app,
            "forum_login_refused_total{reason=\"address_account\"}"
        ) >= 3.0
    );
}

#[tokio::test]
async fn a_guess_spread_over_many_addresses_only_slows_the_account() {
    let app = TestApp::with_config(login_config()).await;
    app.user("alice", "member").await;
    for i in 0..25 {
        let ip = format!("127.0.1.{}", i + 1);
        let status = if i % 2 == 0 {
            login_page_from(&app, &ip, "alice", "wrong").await
        } else {
            login_api_from(&app, &ip, "alice", "wrong").await
        };
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i} is checked");
    }
    let start = std::time::Instant::now();
    assert_eq!(
        login_page_from(&app, "127.0.0.3", "alice", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        login_api_from(&app, "127.0.0.3", "ALICE", PASSWORD).await,
        StatusCode::OK
    );
    assert!(
        start.elapsed() >= Duration::from_millis(600),
        "each login waited the bounded delay"
    );
    assert!(metric(&app, "forum_login_slowed_total{reason=\"account\"}") >= 2.0);
    assert_eq!(
        metric(
            &app,
            "forum_login_refused_total{reason=\"address_account\"}"
        ),
        0.0
    );
}

#[tokio::test]
async fn an_address_that_fails_on_many_accounts_is_refused_for_all() {
    let app = TestApp::with_config(forum::Config {
        login_ip_limit: 6,
        ..login_config()
    })
    .await;
    app.user("bob", "member").await;
    for i in 0..6 {
        let status = login_api_from(&app, "127.0.0.4", &format!("ghost{i}"), "x").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login_page_from(&app, "127.0.0.4", "bob", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_page_from(&app, "127.0.0.5", "bob", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        metric(&app, "forum_login_refused_total{reason=\"address\"}"),
        1.0
    );
}

async fn register_api(app: &TestApp, ip: &str, name: &str, email: &str) -> Resp {
    json_from(
        app,
        ip,
        "/api/users/",
        json!({"username": name, "email": email, "password": PASSWORD}),
        None,
    )
    .await
}

#[tokio::test]
async fn look_alike_names_cannot_register_beside_the_original() {
    let app = TestApp::new().await;
    let r = register_api(&app, "127.0.0.2", "admin", "admin@example.com").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for (i, name) in ["аdmin", "ａｄｍｉｎ", "ADMIN", "Admin"].iter().enumerate() {
        let email = format!("other{i}@example.com");
        let api = register_api(&app, "127.0.0.2", name, &email).await;
        assert_eq!(
            api.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            api.body
        );
        let page = form_from(
            &app,
            "127.0.0.2",
            "/register",
            &[
                ("username", name),
                ("email", &email),
                ("password", PASSWORD),
            ],
            &Browser::default(),
        )
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
    }
    // Full-width letters are the same name at login too.
    assert_eq!(
        login_api_from(&app, "127.0.0.2", "ａｄｍｉｎ", PASSWORD).await,
        StatusCode::OK
    );
    // Accounts made before names had skeletons get theirs.
    app.user("carol", "member").await;
    let client = app.state.pool.get().await.unwrap();
    forum::models::names::fill_missing_skeletons(&client)
        .await
        .unwrap();
    let r = register_api(&app, "127.0.0.2", "cаrol", "c2@example.com").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM users").await,
        2,
        "admin and carol only"
    );
}

/// The hidden `stamp` of the registration form.
async fn register_stamp(app: &TestApp) -> String {
    let page = app.get("/register", &Browser::default()).await;
    let marker = "name=\"stamp\" value=\"";
    let start = page.body.find(marker).expect("a stamp") + marker.len();
    page.body[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_registration_form_refuses_bots_and_counts_registrations_per_address() {
    let app = TestApp::with_config(forum::Config {
        spam: SpamRules {
            min_fill_time: Duration::from_secs(1),
            registrations_per_hour: 2,
            ..SpamRules::off()
        },
        ..forum::Config::default()
    })
    .await;
    let stamp = register_stamp(&app).await;
    let form = |name: &'static str, stamp: String, website: &'static str| {
        let app = &app;
        async move {
            let email = format!("{name}@example.com");
            form_from(
                app,
                "127.0.0.2",
                "/register",
                &[
                    ("username", name),
                    ("email", &email),
                    ("password", PASSWORD),
                    ("stamp", &stamp),
                    ("website", website),
                ],
                &Browser::default(),
            )
            .await
        }
    };
    let quick = form("quick", stamp.clone(), "").await;
    assert_eq!(quick.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        quick.body.contains("quicker than a person"),
        "{}",
        quick.body
    );
    assert!(
        quick.body.contains("name=\"stamp\""),
        "a new stamp to try again"
    );
    let forged = form("forged", "1.00".into(), "").await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let bot = form("bot", stamp.clone(), "http://spam.example").await;
    assert_eq!(bot.status, StatusCode::UNPROCESSABLE_ENTITY);
    let person = form("person", stamp.clone(), "").await;
    assert_eq!(person.status, StatusCode::SEE_OTHER, "{}", person.body);
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM users").await,
        1,
        "only the person"
    );
    assert_eq!(
        metric(&app, "forum_spam_refused_total{reason=\"honeypot\"}"),
        1.0
    );
    assert_eq!(
        metric(&app, "forum_spam_refused_total{reason=\"fill_time\"}"),
        2.0
    );

    // Two registrations an hour from an address, by either door.
    let second = register_api(&app, "127.0.0.2", "second", "second@example.com").await;
    assert_eq!(second.status, StatusCode::CREATED);
    let third = register_api(&app, "127.0.0.2", "third", "third@example.com").await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    let third_page = form("thirdpage", stamp, "").await;
    assert_eq!(third_page.status, StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = register_api(&app, "127.0.0.3", "third", "third@example.com").await;
    assert_eq!(elsewhere.status, StatusCode::CREATED);
    assert_eq!(
        metric(
            &app,
            "forum_spam_refused_total{reason=\"registration_rate\"}"
        ),
        2.0
    );
}

/// An API token of `name` (password [`PASSWORD`]).
async fn token(app: &TestApp, name: &str) -> String {
    let r = json_from(
        app,
        "127.0.0.1",
        "/api/auth/login",
        json!({"username": name, "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn flood_control_and_new_members_limits_hold_at_both_doors() {
    let app = TestApp::with_config(forum::Config {
        spam: SpamRules {
            post_interval: Duration::from_secs(1),
            new_member_posts: 5,
            new_member_posts_per_hour: 4,
            new_member_links: 1,
            ..SpamRules::off()
        },
        ..common::config()
    })
    .await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bearer = token(&app, "alice").await;
    let t = app.thread(&alice, cat, "First", "Hello").await;
    let reply_api = |body: &'static str| {
        let bearer = bearer.clone();
        let app = &app;
        async move {
            json_from(
                app,
                "127.0.0.2",
                &format!("/api/threads/{t}/posts/"),
                json!({ "body": body }),
                Some(&bearer),
            )
            .await
        }
    };
    let reply_page = |body: &'static str| {
        let app = &app;
        let alice = &alice;
        async move {
            form_from(
                app,
                "127.0.0.2",
                &format!("/t/{t}/reply"),
                &[("body", body)],
                alice,
            )
            .await
        }
    };
    // Flood: a second post within the interval, by either door.
    let r = reply_api("too soon").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("wait"), "{}", r.body);
    let r = reply_page("too soon").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Links: at most one in a new member's post.
    let links = "see https://a.example and https://b.example";
    let r = reply_api(links).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = reply_page(links).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply_api("one https://a.example").await.status,
        StatusCode::CREATED
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(reply_page("second").await.status, StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(reply_api("third").await.status, StatusCode::CREATED);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Four posts this hour (the thread's first and three replies): the limit.
    let r = reply_page("fifth").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("an hour"), "{}", r.body);
    assert_eq!(
        reply_api("fifth").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM posts").await,
        4,
        "no refused post was stored"
    );
    // Moderators are exempt.
    let moderator = app.user("mod", "moderator").await;
    app.reply(&moderator, t, "one").await;
    app.reply(&moderator, t, "https://a.example https://b.example")
        .await;
    assert_eq!(
        metric(&app, "forum_spam_refused_total{reason=\"flood\"}"),
        2.0
    );
    assert_eq!(
        metric(&app, "forum_spam_refused_total{reason=\"links\"}"),
        2.0
    );
    assert_eq!(
        metric(&app, "forum_spam_refused_total{reason=\"hourly_limit\"}"),
        2.0
    );
}

#[tokio::test]
async fn a_new_members_first_posts_wait_for_a_moderator() {
    let app = TestApp::with_config(forum::Config {
        spam: SpamRules {
            moderate_first_posts: 1,
            ..SpamRules::off()
        },
        ..common::config()
    })
    .await;
    let cat = app.category(None, "General", false).await;
    let moderator = app.user("mod", "moderator").await;
    let t = app.thread(&moderator, cat, "Welcome", "Say hello").await;
    let alice = app.user("alice", "member").await;
    app.user("bob", "member").await;
    app.user("carol", "member").await;

    // Alice by the page, Bob and Carol by the API: all wait.
    let r = app
        .post(
            &format!("/t/{t}/reply"),
            &[("body", "Hello from alice")],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/queued");
    assert!(app.get("/queued", &alice).await.body.contains("approval"));
    let bob_token = token(&app, "bob").await;
    let r = app
        .post_json(
            &format!("/api/threads/{t}/posts/"),
            json!({"body": "Buy cheap pills"}),
            Some(&bob_token),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let carol_token = token(&app, "carol").await;
    let r = app
        .post_json(
            "/api/threads/",
            json!({"category_id": cat, "title": "Carol's thread", "body": "Hi all"}),
            Some(&carol_token),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM posts").await, 1);
    let thread_page = app.get(&format!("/t/{t}/"), &Browser::default()).await;
    assert!(!thread_page.body.contains("Hello from alice"));

    // Only moderators see the queue.
    assert_eq!(
        app.get("/moderation/queue", &alice).await.status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .send(
            Request::get("/api/moderation/queue/")
                .header(header::AUTHORIZATION, format!("Bearer {bob_token}"))
                .body(Body::empty())
                .unwrap(),
            &Browser::default(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let page = app.get("/moderation/queue", &moderator).await;
    assert!(page.body.contains("Hello from alice") && page.body.contains("Buy cheap pills"));
    let queue = app
        .send(
            Request::get("/api/moderation/queue/")
                .body(Body::empty())
                .unwrap(),
            &moderator,
        )
        .await
        .json();
    let items = queue["results"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    let id_of = |who: &str| {
        items.iter().find(|i| i["username"] == who).unwrap()["id"]
            .as_i64()
            .unwrap()
    };

    // Approve alice's on the page: it appears.
    let r = app
        .post(
            &format!("/moderation/queue/{}", id_of("alice")),
            &[("action", "approve")],
            &moderator,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let thread_page = app.get(&format!("/t/{t}/"), &Browser::default()).await;
    assert!(thread_page.body.contains("Hello from alice"));
    // Ban bob through the API: banned, his post gone.
    let r = app
        .post_json(
            &format!("/api/moderation/queue/{}/ban", id_of("bob")),
            json!({"days": 30, "reason": "spam"}),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a moderator's call only"
    );
    let req = Request::post(format!("/api/moderation/queue/{}/ban", id_of("bob")))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"days": 30, "reason": "spam"}).to_string(),
        ))
        .unwrap();
    let r = app.send(req, &moderator).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        app.scalar::<bool>("SELECT banned_until > now() FROM users WHERE username = 'bob'")
            .await
    );
    // Approve carol's thread through the API.
    let req = Request::post(format!("/api/moderation/queue/{}/approve", id_of("carol")))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req, &moderator).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM threads WHERE title = 'Carol''s thread'")
            .await,
        1
    );
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM moderation_queue")
            .await,
        0
    );
    // Alice's next post is published at once.
    let r = app
        .post(&format!("/t/{t}/reply"), &[("body", "Now I'm in")], &alice)
        .await;
    assert!(r.location().starts_with("/p/"), "{}", r.location());
}

#[tokio::test]
async fn bans_of_addresses_and_e_mail_patterns_show_their_message() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let admin = app.admin("boss").await;
    let alice = app.user("alice", "member").await;
    let t = app.thread(&admin, cat, "Topic", "text").await;
    for (kind, value, message, days) in [
        ("address", "127.0.9.0/24", "Spam from your network", ""),
        ("email", "*@spam.example", "No spam domains", "30"),
        ("address", "127.0.0.7", "Short one", "0.00001"),
    ] {
        let r = app
            .post(
                "/admin/bans",
                &[
                    ("kind", kind),
                    ("value", value),
                    ("message", message),
                    ("days", days),
                ],
                &admin,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let list = app.get("/admin/bans", &admin).await;
    assert!(list.body.contains("127.0.9.0/24") && list.body.contains("*@spam.example"));

    let r = register_api(&app, "127.0.9.5", "spammer", "s@example.com").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Spam from your network"), "{}", r.body);
    let r = register_api(&app, "127.0.0.2", "spammer", "x@SPAM.example").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("No spam domains"), "{}", r.body);
    let r = form_from(
        &app,
        "127.0.9.5",
        "/login",
        &[("username", "alice"), ("password", PASSWORD)],
        &Browser::default(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Spam from your network"));
    let r = form_from(
        &app,
        "127.0.9.5",
        &format!("/t/{t}/reply"),
        &[("body", "hi")],
        &alice,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Spam from your network"));
    assert_eq!(
        metric(&app, "forum_spam_refused_total{reason=\"banned\"}"),
        4.0
    );

    // An expired ban bans no more.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r = register_api(&app, "127.0.0.7", "latecomer", "l@example.com").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // A removed one neither.
    let id: i64 = app
        .scalar("SELECT id FROM bans WHERE address_range = '127.0.9.0/24'")
        .await;
    let r = app
        .post(&format!("/admin/bans/{id}/delete"), &[], &admin)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = register_api(&app, "127.0.9.5", "spammer", "s@example.com").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Members cannot reach the bans.
    assert_ne!(app.get("/admin/bans", &alice).await.status, StatusCode::OK);
}
