//! Failed logins are counted by door and by the role of the account tried
//! (`forum_login_failures_total{door,account}`), so a burst against an administrator's account
//! raises the headline alert whichever door it comes through.

mod common;

use axum::http::StatusCode;
use common::{Browser, PASSWORD, TestApp};
use serde_json::json;

/// The value of `forum_login_failures_total{door,account}` in the app's exposition.
async fn failures(app: &TestApp, door: &str, account: &str) -> u64 {
    let text = app.get("/metrics", &Browser::default()).await.body;
    let prefix = format!("forum_login_failures_total{{door=\"{door}\",account=\"{account}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn each_door_counts_its_failures_by_the_role_of_the_account_tried() {
    let app = TestApp::new().await;
    app.admin("boss").await;
    app.user("mod", "moderator").await;
    app.user("alice", "member").await;
    let anon = Browser::default();
    // Every door and account starts at 0, so a first burst is an increase.
    for door in ["page", "api", "admin"] {
        for account in ["admin", "moderator", "member", "unknown"] {
            assert_eq!(failures(&app, door, account).await, 0, "{door} {account}");
        }
    }

    // The login page: two guesses at the admin (names are case-insensitive), one at the
    // moderator, one at a name nobody has.
    for user in ["boss", "BOSS", "mod", "nobody"] {
        let r = app
            .post(
                "/login",
                &[("username", user), ("password", "wrong")],
                &anon,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{user}");
    }
    // The API: three guesses at the admin, one at a member.
    for user in ["boss", "boss", "boss", "alice"] {
        let r = app
            .post_json(
                "/api/auth/login",
                json!({"username": user, "password": "wrong"}),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{user}");
    }
    // The admin panel: a guess at the admin, and a member with the right password (not an
    // administrator: refused with 401 too).
    for (user, password) in [("boss", "wrong"), ("alice", PASSWORD)] {
        let r = app
            .post(
                "/admin/login",
                &[("username", user), ("password", password)],
                &anon,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{user}");
    }
    // A success counts nothing.
    let ok = app
        .post(
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &anon,
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);

    let expected = [
        ("page", "admin", 2),
        ("page", "moderator", 1),
        ("page", "member", 0),
        ("page", "unknown", 1),
        ("api", "admin", 3),
        ("api", "moderator", 0),
        ("api", "member", 1),
        ("api", "unknown", 0),
        ("admin", "admin", 1),
        ("admin", "moderator", 0),
        ("admin", "member", 1),
        ("admin", "unknown", 0),
    ];
    for (door, account, n) in expected {
        assert_eq!(failures(&app, door, account).await, n, "{door} {account}");
    }
}
