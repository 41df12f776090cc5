//! Permissions per category, through the pages and the API alike: a category a role may not
//! see does not exist for it (404 on its pages, its threads and posts, absent from lists, the
//! tree, counts and search); see without read lists threads but refuses their contents (403);
//! a read-only category refuses a member's thread and reply; a moderator of another category
//! is refused; custom roles grant access; a child inherits its parent's settings unless it has
//! its own; the settings are the administrators' (API and admin panel); the read cache serves
//! each role only its own view.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Browser, Resp, TestApp};
use serde_json::{Value, json};

/// An API token of `b`'s user.
async fn token(app: &TestApp, b: &Browser) -> String {
    forum::auth::create_session(
        &app.state.pool,
        b.user_id,
        forum::auth::SessionKind::Api,
        app.state.config.session_ttl,
    )
    .await
    .unwrap()
}

/// An API call with an optional bearer token and JSON body.
async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
    t: Option<&str>,
) -> Resp {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = t {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    app.send(req, &Browser::default()).await
}

fn flags(see: bool, read: bool, start: bool, reply: bool, moderate: bool) -> Value {
    json!({"see": see, "read": read, "start": start, "reply": reply, "moderate": moderate})
}

fn nothing() -> Value {
    flags(false, false, false, false, false)
}

fn read_only() -> Value {
    flags(true, true, false, false, false)
}

/// Sets permissions of `category` as the administrator holding `admin_token`.
async fn set(app: &TestApp, admin_token: &str, category: i64, body: Value) {
    let r = api(
        app,
        "PUT",
        &format!("/api/categories/{category}/permissions"),
        Some(body),
        Some(admin_token),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The first post of thread `t`.
async fn first_post(app: &TestApp, t: i64) -> i64 {
    app.scalar(&format!("SELECT min(id) FROM posts WHERE thread_id = {t}"))
        .await
}

fn error(r: &Resp) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_category_hidden_from_a_role_does_not_exist_for_it_anywhere() {
    let app = TestApp::new().await;
    let public = app.category(None, "Lobby", false).await;
    let staff = app.category(None, "Backstage", false).await;
    let secret_child = app.category(Some(public), "Lobby secrets", false).await;
    let admin = app.admin("root").await;
    let at = token(&app, &admin).await;
    let member = app.user("mia", "member").await;
    let mt = token(&app, &member).await;
    let moder = app.user("moe", "moderator").await;
    for c in [staff, secret_child] {
        set(
            &app,
            &at,
            c,
            json!({"guest": nothing(), "member": nothing()}),
        )
        .await;
    }
    let t = app
        .thread(&moder, staff, "Payroll zanzibar", "salaries quixotic")
        .await;
    let p = first_post(&app, t).await;
    let t2 = app
        .thread(
            &moder,
            secret_child,
            "Hidden child thread",
            "childish quixotic",
        )
        .await;
    app.thread(&member, public, "Open thread", "hello all")
        .await;

    let guest = Browser::default();
    for (who, tok) in [(&member, Some(mt.as_str())), (&guest, None)] {
        // Pages: 404 on the category, its thread, its post, a reply and a new thread.
        for path in [
            format!("/c/{staff}/"),
            format!("/c/{secret_child}/"),
            format!("/t/{t}/"),
            format!("/t/{t2}/"),
            format!("/p/{p}/"),
            format!("/p/{p}/history"),
        ] {
            assert_eq!(
                app.get(&path, who).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        if who.session.is_some() {
            let r = app.get(&format!("/c/{staff}/new"), who).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            let r = app
                .post(
                    &format!("/c/{staff}/new"),
                    &[("title", "Sneaky"), ("body", "x")],
                    who,
                )
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            let r = app
                .post(&format!("/t/{t}/reply"), &[("body", "x")], who)
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
        }
        // The API: the same.
        for path in [
            format!("/api/threads/{t}/"),
            format!("/api/threads/{t}/posts/"),
            format!("/api/threads/{t}/poll/"),
            format!("/api/posts/{p}/"),
            format!("/api/posts/{p}/edits/"),
            format!("/api/threads/?category={staff}"),
        ] {
            let r = api(&app, "GET", &path, None, tok).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        }
        if let Some(tok) = tok {
            let r = api(
                &app,
                "POST",
                "/api/threads/",
                Some(json!({"category_id": staff, "title": "Sneaky", "body": "x"})),
                Some(tok),
            )
            .await;
            // As for a category that does not exist: the body names it.
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
            assert!(error(&r).contains("does not exist"));
            let r = api(
                &app,
                "POST",
                &format!("/api/threads/{t}/posts/"),
                Some(json!({"body": "x"})),
                Some(tok),
            )
            .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        }
        // Absent from the lists, the tree, the counts and search.
        let index = app.get("/", who).await.body;
        assert!(index.contains("Open thread"));
        for absent in ["Backstage", "Payroll", "Lobby secrets", "Hidden child"] {
            assert!(!index.contains(absent), "{absent} on the index");
        }
        let list = api(&app, "GET", "/api/threads/", None, tok).await.body;
        assert!(
            list.contains("Open thread")
                && !list.contains("Payroll")
                && !list.contains("Hidden child")
        );
        let lobby = api(
            &app,
            "GET",
            &format!("/api/threads/?category={public}"),
            None,
            tok,
        )
        .await
        .body;
        assert!(!lobby.contains("Hidden child"), "{lobby}");
        let cats = api(&app, "GET", "/api/categories/", None, tok).await.json();
        let names: Vec<&str> = cats["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Lobby"]);
        assert_eq!(
            cats["results"][0]["total_threads"], 1,
            "the hidden child is not counted"
        );
        assert!(
            !app.get("/search?q=quixotic", who)
                .await
                .body
                .contains("Payroll")
        );
        let hits = api(&app, "GET", "/api/search/?q=quixotic", None, tok)
            .await
            .json();
        assert_eq!(hits["results"].as_array().unwrap().len(), 0, "{hits}");
        let profile = app.get(&format!("/u/{}/", moder.user_id), who).await.body;
        assert!(!profile.contains("Payroll"));
    }
    // The moderator (default: moderators see and moderate everything) sees all of it.
    let mot = token(&app, &moder).await;
    assert_eq!(
        app.get(&format!("/t/{t}/"), &moder).await.status,
        StatusCode::OK
    );
    assert!(app.get("/", &moder).await.body.contains("Backstage"));
    let hits = api(&app, "GET", "/api/search/?q=quixotic", None, Some(&mot))
        .await
        .json();
    assert_eq!(hits["results"].as_array().unwrap().len(), 2, "{hits}");
    let cats = api(&app, "GET", "/api/categories/", None, Some(&mot))
        .await
        .json();
    assert_eq!(cats["results"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn seeing_without_reading_lists_the_threads_and_refuses_their_contents() {
    let app = TestApp::new().await;
    let teasers = app.category(None, "Teasers", false).await;
    let admin = app.admin("root").await;
    let at = token(&app, &admin).await;
    let member = app.user("mia", "member").await;
    let mt = token(&app, &member).await;
    let moder = app.user("moe", "moderator").await;
    set(
        &app,
        &at,
        teasers,
        json!({"member": flags(true, false, false, false, false)}),
    )
    .await;
    let t = app
        .thread(&moder, teasers, "Coming soon", "the plot twist xylophone")
        .await;
    let p = first_post(&app, t).await;
    let page = app.get(&format!("/c/{teasers}/"), &member).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Coming soon"), "listed");
    let r = app.get(&format!("/t/{t}/"), &member).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.body.contains("xylophone"));
    assert_eq!(
        app.get(&format!("/p/{p}/"), &member).await.status,
        StatusCode::FORBIDDEN
    );
    for path in [
        format!("/api/threads/{t}/"),
        format!("/api/threads/{t}/posts/"),
        format!("/api/posts/{p}/"),
    ] {
        let r = api(&app, "GET", &path, None, Some(&mt)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(error(&r).contains("not read"), "{}", r.body);
    }
    let list = api(
        &app,
        "GET",
        &format!("/api/threads/?category={teasers}"),
        None,
        Some(&mt),
    )
    .await;
    assert!(list.body.contains("Coming soon"));
    let hits = api(&app, "GET", "/api/search/?q=xylophone", None, Some(&mt))
        .await
        .json();
    assert_eq!(
        hits["results"].as_array().unwrap().len(),
        0,
        "contents are not searched"
    );
    let r = app
        .post(&format!("/t/{t}/reply"), &[("body", "let me in")], &member)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Guests keep their default (see and read): each role has its own row.
    assert_eq!(
        app.get(&format!("/t/{t}/"), &Browser::default())
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_read_only_category_refuses_a_members_thread_and_reply_through_both_doors() {
    let app = TestApp::new().await;
    let news = app.category(None, "Announcements", false).await;
    let admin = app.admin("root").await;
    let at = token(&app, &admin).await;
    let member = app.user("mia", "member").await;
    let mt = token(&app, &member).await;
    let moder = app.user("moe", "moderator").await;
    set(&app, &at, news, json!({"member": read_only()})).await;
    let t = app
        .thread(&moder, news, "We moved", "to a new server")
        .await;
    let threads_before: i64 = app.scalar("SELECT count(*) FROM threads").await;
    let posts_before: i64 = app.scalar("SELECT count(*) FROM posts").await;

    // Pages: no button, no form; the form and its post answer 403 with a clear message.
    let page = app.get(&format!("/c/{news}/"), &member).await.body;
    assert!(!page.contains("id=\"new-thread\"") && page.contains("Read-only"));
    let thread = app.get(&format!("/t/{t}/"), &member).await.body;
    assert!(thread.contains("to a new server"), "members read it");
    assert!(!thread.contains("id=\"reply\"") && thread.contains("read-only for you"));
    let r = app.get(&format!("/c/{news}/new"), &member).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &format!("/c/{news}/new"),
            &[("title", "Me too"), ("body", "x")],
            &member,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("read-only"), "{}", r.body);
    let r = app
        .post(&format!("/t/{t}/reply"), &[("body", "+1")], &member)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("read-only"), "{}", r.body);
    // The API.
    let r = api(
        &app,
        "POST",
        "/api/threads/",
        Some(json!({"category_id": news, "title": "Me too", "body": "x"})),
        Some(&mt),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(error(&r).contains("read-only"), "{}", r.body);
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{t}/posts/"),
        Some(json!({"body": "+1"})),
        Some(&mt),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(error(&r).contains("read-only"));
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM threads").await,
        threads_before
    );
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM posts").await,
        posts_before
    );
    // Moderators still post there.
    app.reply(&moder, t, "and it is faster").await;
    let denied = app.get("/metrics", &Browser::default()).await.body;
    assert!(
        denied.lines().any(
            |l| l.starts_with("forum_permission_denied_total{action=\"start\"}")
                && !l.ends_with(" 0")
        ),
        "{denied}"
    );
}

#[tokio::test]
async fn a_moderator_of_another_category_is_refused() {
    let app = TestApp::new().await;
    let garden = app.category(None, "Garden", false).await;
    let kitchen = app.category(None, "Kitchen", false).await;
    let admin = app.admin("root").await;
    let at = token(&app, &admin).await;
    let gardener = app.user("gus", "member").await;
    let gt = token(&app, &gardener).await;
    let moder = app.user("moe", "moderator").await;
    let mot = token(&app, &moder).await;
    let author = app.user("ann", "member").await;
    // A custom role that moderates the garden only.
    let r = api(
        &app,
        "POST",
        "/api/roles/",
        Some(json!({"name": "gardeners"})),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    set(
        &app,
        &at,
        garden,
        json!({"gardeners": flags(false, false, false, false, true)}),
    )
    .await;
    let r = api(
        &app,
        "PUT",
        &format!("/api/users/{}/roles", gardener.user_id),
        Some(json!({"roles": ["gardeners"]})),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // And built-in moderators do not moderate the kitchen.
    set(
        &app,
        &at,
        kitchen,
        json!({"moderator": flags(true, true, true, true, false)}),
    )
    .await;
    let tg = app.thread(&author, garden, "Roses", "red").await;
    let tk = app.thread(&author, kitchen, "Soup", "hot").await;

    let r = api(
        &app,
        "PATCH",
        &format!("/api/threads/{tg}/"),
        Some(json!({"is_closed": true})),
        Some(&gt),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the gardener moderates the garden: {}",
        r.body
    );
    let r = app
        .post(
            &format!("/t/{tg}/moderate"),
            &[("action", "pin")],
            &gardener,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        app.get(&format!("/t/{tg}/"), &gardener)
            .await
            .body
            .contains("class=\"card moderation\"")
    );
    for (who, tok) in [(&gardener, &gt), (&moder, &mot)] {
        let r = api(
            &app,
            "PATCH",
            &format!("/api/threads/{tk}/"),
            Some(json!({"is_pinned": true})),
            Some(tok),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app
            .post(&format!("/t/{tk}/moderate"), &[("action", "hide")], who)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            !app.get(&format!("/t/{tk}/"), who)
                .await
                .body
                .contains("class=\"card moderation\"")
        );
    }
    // Moving needs both ends: the gardener cannot move a garden thread to the kitchen.
    let r = api(
        &app,
        "PATCH",
        &format!("/api/threads/{tg}/"),
        Some(json!({"category_id": kitchen})),
        Some(&gt),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let pinned: bool = app
        .scalar(&format!("SELECT is_pinned FROM threads WHERE id = {tk}"))
        .await;
    assert!(!pinned);
    let hidden: bool = app
        .scalar(&format!("SELECT is_hidden FROM threads WHERE id = {tk}"))
        .await;
    assert!(!hidden);
    // The gardener reads and replies to the closed garden thread as its moderator.
    app.reply(&gardener, tg, "pruned").await;
    let r = app
        .post(&format!("/t/{tg}/reply"), &[("body", "me too")], &author)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "closed for the author");
}

#[tokio::test]
async fn a_custom_role_opens_a_staff_only_category() {
    let app = TestApp::new().await;
    let staff = app.category(None, "Staff room", false).await;
    let admin = app.admin("root").await;
    let at = token(&app, &admin).await;
    let member = app.user("mia", "member").await;
    let worker = app.user("wes", "member").await;
    let wt = token(&app, &worker).await;
    let r = api(
        &app,
        "POST",
        "/api/roles/",
        Some(json!({"name": "Staff"})),
        Some(&at),
    )
    .await;
    let role_id = r.json()["id"].as_i64().unwrap();
    set(
        &app,
        &at,
        staff,
        json!({"guest": nothing(), "member": nothing(), "Staff": flags(true, true, true, true, false)}),
    )
    .await;
    assert_eq!(
        app.get(&format!("/c/{staff}/"), &worker).await.status,
        StatusCode::NOT_FOUND
    );
    // Assigned in the admin panel (the page door).
    let r = app
        .post(
            &format!("/admin/users/{}/roles", worker.user_id),
            &[("role", &role_id.to_string())],
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let roles = api(
        &app,
        "GET",
        &format!("/api/users/{}/roles", worker.user_id),
        None,
        Some(&at),
    )
    .await;
    assert_eq!(roles.json()["roles"], json!(["Staff"]));
    assert_eq!(
        app.get(&format!("/c/{staff}/"), &worker).await.status,
        StatusCode::OK
    );
    let t = app.thread(&worker, staff, "Rota", "who is on call").await;
    let r = api(&app, "GET", &format!("/api/threads/{t}/"), None, Some(&wt)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("/t/{t}/"), &member).await.status,
        StatusCode::NOT_FOUND
    );
    // The same decision about someone else (whom a mention or a notification may reach).
    let client = app.state.pool.get().await.unwrap();
    let may = |u: i64| forum::models::visibility::user_may_read_thread(&client, u, t);
    assert!(may(worker.user_id).await.unwrap());
    assert!(!may(member.user_id).await.unwrap());
    // Deleting the role takes the access away.
    let r = api(
        &app,
        "DELETE",
        &format!("/api/roles/{role_id}/"),
        None,
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/t/{t}/"), &worker).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!may(worker.user_id).await.unwrap());
    let r = api(&app, "DELETE", "/api/roles/2/", None, Some(&at)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "built-in roles stay");
}

#[tokio::test]
async fn a_child_inherits_its_parents_permissions_unless_it_has_its_own() {
    let app = TestApp::new().await;
    let parent = app.category(None, "Archive", false).await;
    let child = app.category(Some(parent), "Old news", false).await;
    let open_child = app.category(Some(parent), "Comments", false).await;
    let admin = app.admin("root").await;
    let at = token(&app, &admin).await;
    let member = app.user("mia", "member").await;
    let mt = token(&app, &member).await;
    set(&app, &at, parent, json!({"member": read_only()})).await;
    set(
        &app,
        &at,
        open_child,
        json!({"member": flags(true, true, true, true, false)}),
    )
    .await;
    let grid = api(
        &app,
        "GET",
        &format!("/api/categories/{child}/permissions"),
        None,
        Some(&at),
    )
    .await
    .json();
    assert_eq!(grid["member"]["start"], false);
    assert_eq!(grid["member"]["inherited"], true);
    assert_eq!(grid["guest"]["read"], true);
    let start = |c: i64| json!({"category_id": c, "title": "Hello there", "body": "x"});
    let r = api(&app, "POST", "/api/threads/", Some(start(child)), Some(&mt)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "inherited: {}", r.body);
    let r = api(
        &app,
        "POST",
        "/api/threads/",
        Some(start(open_child)),
        Some(&mt),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "its own: {}", r.body);
    // Back to inheriting (null), and the parent opened in the admin panel's grid.
    set(&app, &at, open_child, json!({"member": null})).await;
    let r = api(
        &app,
        "POST",
        "/api/threads/",
        Some(start(open_child)),
        Some(&mt),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let grid_page = app
        .get(&format!("/admin/categories/{parent}/permissions"), &admin)
        .await;
    assert_eq!(grid_page.status, StatusCode::OK);
    assert!(grid_page.body.contains("id=\"role-member\""));
    // Roles 1-3 are guest, member, moderator; the form sets member (2) to everything but
    // moderate and leaves the others inheriting.
    let r = app
        .post(
            &format!("/admin/categories/{parent}/permissions"),
            &[
                ("1_inherit", "on"),
                ("2_see", "on"),
                ("2_read", "on"),
                ("2_start", "on"),
                ("2_reply", "on"),
                ("3_inherit", "on"),
            ],
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = api(&app, "POST", "/api/threads/", Some(start(child)), Some(&mt)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn the_permissions_api_is_for_administrators_and_knows_its_roles() {
    let app = TestApp::new().await;
    let c = app.category(None, "General", false).await;
    let admin = app.admin("root").await;
    let at = token(&app, &admin).await;
    let member = app.user("mia", "member").await;
    let mt = token(&app, &member).await;
    let moder = app.user("moe", "moderator").await;
    let mot = token(&app, &moder).await;
    let path = format!("/api/categories/{c}/permissions");
    let body = json!({"member": read_only()});
    assert_eq!(
        api(&app, "PUT", &path, Some(body.clone()), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    for t in [&mt, &mot] {
        assert_eq!(
            api(&app, "PUT", &path, Some(body.clone()), Some(t))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            api(&app, "GET", &path, None, Some(t)).await.status,
            StatusCode::FORBIDDEN
        );
    }
    for bad in [
        json!({"wizard": read_only()}),
        json!({"administrator": read_only()}),
        json!({"member": {"see": true}}),
        json!({"member": {"see": true, "read": true, "start": true, "reply": true, "moderate": true, "fly": true}}),
        json!({}),
    ] {
        let r = api(&app, "PUT", &path, Some(bad.clone()), Some(&at)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
    }
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM category_permissions")
            .await,
        0,
        "nothing set by a refused request"
    );
    let r = api(
        &app,
        "PUT",
        "/api/categories/9999/permissions",
        Some(body.clone()),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api(&app, "PUT", &path, Some(body), Some(&at)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["member"]["start"], false);
    assert_eq!(r.json()["member"]["inherited"], false);
    // What GET answers can be sent back unchanged: inherited roles stay inherited.
    let grid = api(&app, "GET", &path, None, Some(&at)).await.json();
    assert_eq!(grid["guest"]["inherited"], true);
    let r = api(&app, "PUT", &path, Some(grid.clone()), Some(&at)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json(), grid);
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM category_permissions")
            .await,
        1
    );
    let r = api(
        &app,
        "POST",
        "/api/roles/",
        Some(json!({"name": "moderator"})),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = api(
        &app,
        "POST",
        "/api/roles/",
        Some(json!({"name": "Helpers"})),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = api(
        &app,
        "POST",
        "/api/roles/",
        Some(json!({"name": "helpers"})),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = api(
        &app,
        "PUT",
        &format!("/api/users/{}/roles", member.user_id),
        Some(json!({"roles": ["member"]})),
        Some(&at),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "built-in roles are not assigned"
    );
    // The private category is no category of the grid.
    let r = api(
        &app,
        "GET",
        "/api/categories/0/permissions",
        None,
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_read_cache_serves_each_role_only_its_own_view() {
    let mut app = TestApp::new().await;
    let (pg, tls) = forum::db::connection(&app.db.url).unwrap();
    let listen = forum::cache::ListenerConfig::new(pg, tls);
    app.state = app.state.clone().with_read_cache(listen);
    assert!(app.state.cache.wait_listening(Duration::from_secs(5)).await);
    let open = app.category(None, "Open", false).await;
    let staff = app.category(None, "Staff", false).await;
    let admin = app.admin("root").await;
    let at = token(&app, &admin).await;
    let member = app.user("mia", "member").await;
    let mt = token(&app, &member).await;
    let moder = app.user("moe", "moderator").await;
    set(
        &app,
        &at,
        staff,
        json!({"guest": nothing(), "member": nothing()}),
    )
    .await;
    app.thread(&moder, staff, "Staff only agenda", "x").await;
    app.thread(&member, open, "Everyone welcome", "x").await;
    let guest = Browser::default();

    // Twice each, interleaved: the second answers come from the cache and are still right.
    for round in 0..3 {
        let before = app.state.cache.stats().hits;
        for who in [&guest, &member] {
            let index = app.get("/", who).await.body;
            assert!(index.contains("Everyone welcome"));
            assert!(!index.contains("Staff only agenda"), "round {round}");
            assert!(!index.contains(">Staff<"), "round {round}");
        }
        let list = api(&app, "GET", "/api/threads/", None, Some(&mt))
            .await
            .body;
        assert!(!list.contains("Staff only agenda"), "round {round}");
        let list = api(&app, "GET", "/api/threads/", None, None).await.body;
        assert!(!list.contains("Staff only agenda"), "round {round}");
        assert_eq!(
            app.get(&format!("/c/{staff}/"), &member).await.status,
            StatusCode::NOT_FOUND
        );
        let mine = app.get("/", &moder).await.body;
        assert!(mine.contains("Staff only agenda"), "round {round}");
        let open_page = app.get(&format!("/c/{open}/"), &member).await.body;
        assert!(open_page.contains("Everyone welcome"));
        if round > 0 {
            assert!(
                app.state.cache.stats().hits > before,
                "served from the cache"
            );
        }
    }
    // A change of permissions empties the caches: members see the staff room at once.
    set(&app, &at, staff, json!({"member": read_only()})).await;
    let index = app.get("/", &member).await.body;
    assert!(index.contains("Staff only agenda"), "{index}");
    let list = api(&app, "GET", "/api/threads/", None, Some(&mt))
        .await
        .body;
    assert!(list.contains("Staff only agenda"));
    let list = api(&app, "GET", "/api/threads/", None, None).await.body;
    assert!(!list.contains("Staff only agenda"), "guests still do not");
}
