//! People and search, through the pages and the API alike: the member list (name prefix,
//! name order, pages and their bounds), who is online (and `last_seen_at` refreshed at most once
//! a minute; on the index too), avatars beside posts; search pages and filters (category, author, dates), hits
//! linking to their post, hidden threads and deleted posts never found.

mod common;

use axum::http::StatusCode;
use common::{Browser, TestApp};
use serde_json::Value;

async fn sql(app: &TestApp, statement: &str) {
    app.state
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute(statement)
        .await
        .unwrap();
}

fn names(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_member_list_searches_by_name_prefix_in_name_order_and_pages() {
    let app = TestApp::new().await;
    let anon = Browser::default();
    for i in (0..35).rev() {
        app.user(&format!("Member{i:02}"), "member").await;
    }
    app.user("zoe", "moderator").await;
    app.user("Percent_%", "member").await;
    sql(&app, "INSERT INTO users (username, email, password_hash, awaiting) VALUES ('memberwaiting', 'w@example.com', 'x', 'admin')").await;

    let r = app.get("/api/users/?q=mem", &anon).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let first = r.json();
    assert_eq!(first["total"], 35);
    assert_eq!(first["pages"], 2);
    assert_eq!(first["next_page"], 2);
    let page1 = names(&first);
    assert_eq!(page1.len(), 30);
    assert_eq!(page1[0], "Member00");
    assert_eq!(page1[29], "Member29");
    let second = app.get("/api/users/?q=MEM&page=2", &anon).await.json();
    assert_eq!(
        names(&second),
        (30..35)
            .map(|i| format!("Member{i:02}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(second["next_page"], Value::Null);
    // Past the last page: empty, not an error; outside the bounds: 422.
    assert!(names(&app.get("/api/users/?q=mem&page=3", &anon).await.json()).is_empty());
    for bad in ["0", "-1", "x", "10001"] {
        let r = app.get(&format!("/api/users/?page={bad}"), &anon).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(
            app.get(&format!("/members?page={bad}"), &anon).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    // LIKE wildcards are plain characters.
    assert_eq!(
        names(&app.get("/api/users/?q=member0", &anon).await.json()).len(),
        10
    );
    assert_eq!(
        names(&app.get("/api/users/?q=%25", &anon).await.json()),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app.get("/api/users/?q=percent_%25", &anon).await.json()),
        vec!["Percent_%"]
    );
    // Everyone but the account awaiting approval, by name.
    let all = app.get("/api/users/", &anon).await.json();
    assert_eq!(all["total"], 37);

    // The page: the same list and pager.
    let r = app.get("/members?q=mem&page=2", &anon).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("35 members · page 2 of 2"), "{}", r.body);
    assert!(r.body.contains(">Member34</a>"));
    assert!(!r.body.contains(">Member29</a>"));
    assert!(
        r.body.contains("href=\"/members?q=mem&amp;page=1\"")
            || r.body.contains("href=\"/members?q=mem&page=1\""),
        "{}",
        r.body
    );
    assert!(!r.body.contains("memberwaiting"));
    let r = app.get("/members?q=zo", &anon).await;
    assert!(
        r.body
            .contains(">zoe</a> <span class=\"tag\">moderator</span>"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn who_is_online_lists_members_seen_in_the_last_five_minutes() {
    let app = TestApp::new().await;
    let anon = Browser::default();
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    app.user("carol", "member").await;
    sql(
        &app,
        &format!(
            "UPDATE users SET last_seen_at = now() - interval '10 minutes' WHERE id = {}",
            bob.user_id
        ),
    )
    .await;
    sql(
        &app,
        &format!(
            "UPDATE users SET avatar = '/media/avatars/alice.png' WHERE id = {}",
            alice.user_id
        ),
    )
    .await;

    // Alice's request marks her seen; a second one within the minute writes nothing.
    app.get("/", &alice).await;
    let seen = app
        .scalar::<String>(&format!(
            "SELECT last_seen_at::text FROM users WHERE id = {}",
            alice.user_id
        ))
        .await;
    app.get("/", &alice).await;
    let again = app
        .scalar::<String>(&format!(
            "SELECT last_seen_at::text FROM users WHERE id = {}",
            alice.user_id
        ))
        .await;
    assert_eq!(seen, again);

    let r = app.get("/api/users/online/", &anon).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["total"], 1);
    assert_eq!(names(&r.json()), vec!["alice"]);
    assert_eq!(r.json()["results"][0]["online"], true);
    assert_eq!(r.json()["minutes"], 5);

    // Bob comes back: online again.
    app.get("/", &bob).await;
    let r = app.get("/api/users/online/", &anon).await.json();
    assert_eq!(r["total"], 2);

    let page = app.get("/members", &anon).await;
    assert!(
        page.body.contains("(2 in the last 5 minutes)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("src=\"/media/avatars/alice.png\""));
    // The index shows who is online too (loaded at alice's first request, kept a few seconds).
    let index = app.get("/", &anon).await.body;
    let online = index
        .split("id=\"online\"")
        .nth(1)
        .unwrap()
        .split("</p>")
        .next()
        .unwrap();
    assert!(online.contains(">alice</a>"), "{online}");
    assert!(!online.contains("carol"), "{online}");
    let carol_row = page
        .body
        .split("carol</a>")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(!carol_row.contains("online"), "{carol_row}");
}

#[tokio::test]
async fn avatars_are_shown_beside_posts() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    sql(
        &app,
        &format!(
            "UPDATE users SET avatar = '/media/avatars/a1.png' WHERE id = {}",
            alice.user_id
        ),
    )
    .await;
    let t = app.thread(&alice, cat, "Hello there", "hi").await;
    let page = app.get(&format!("/t/{t}/"), &Browser::default()).await;
    let post = page.body.split("<article").nth(1).unwrap();
    assert!(
        post.contains("<img class=\"avatar\" src=\"/media/avatars/a1.png\""),
        "{post}"
    );
}

async fn hits(app: &TestApp, query: &str) -> (StatusCode, Value) {
    let r = app
        .get(&format!("/api/search/?{query}"), &Browser::default())
        .await;
    let status = r.status;
    (status, r.json())
}

fn hit_ids(v: &Value) -> Vec<i64> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["post_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn search_pages_and_filters_by_category_author_and_date() {
    let app = TestApp::new().await;
    let news = app.category(None, "News", false).await;
    let sub = app.category(Some(news), "Local news", false).await;
    let chat = app.category(None, "Chat", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;
    let t = app.thread(&alice, chat, "Animals", "about animals").await;
    let tn = app
        .thread(&bob, sub, "Zoo opening", "the zebra arrived at the zoo")
        .await;
    let bob_first = app
        .scalar::<i64>(&format!("SELECT min(id) FROM posts WHERE thread_id = {tn}"))
        .await;
    let b2 = app.reply(&bob, tn, "another zebra photo").await;
    let mut alices = Vec::new();
    for i in 0..25 {
        alices.push(
            app.reply(&alice, t, &format!("a zebra sighting number {i}"))
                .await,
        );
    }
    sql(
        &app,
        &format!("UPDATE posts SET created_at = '2020-01-01 12:00+00' WHERE thread_id = {tn}"),
    )
    .await;
    // Never found: a deleted post, a post of a hidden thread.
    let deleted = app.reply(&alice, t, "a deleted zebra").await;
    assert_eq!(
        app.post(&format!("/p/{deleted}/delete"), &[], &alice)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let th = app
        .thread(&bob, chat, "Hidden zebra thread", "secret zebra")
        .await;
    app.post(&format!("/t/{th}/moderate"), &[("action", "hide")], &moder)
        .await;
    assert!(
        app.scalar::<bool>(&format!("SELECT is_hidden FROM threads WHERE id = {th}"))
            .await
    );

    // Pages: 27 hits, 20 then 7, newest first.
    let (s, p1) = hits(&app, "q=zebra").await;
    assert_eq!(s, StatusCode::OK, "{p1}");
    assert_eq!(p1["total"], 27);
    assert_eq!(p1["next_page"], 2);
    let ids1 = hit_ids(&p1);
    assert_eq!(ids1.len(), 20);
    assert_eq!(ids1[0], *alices.last().unwrap());
    let (_, p2) = hits(&app, "q=zebra&page=2").await;
    let ids2 = hit_ids(&p2);
    assert_eq!(ids2.len(), 7);
    assert_eq!(p2["next_page"], Value::Null);
    assert!(ids2.contains(&b2) && ids2.contains(&bob_first));
    let all: Vec<i64> = ids1.iter().chain(&ids2).copied().collect();
    assert!(!all.contains(&deleted));
    let hidden_post = app
        .scalar::<i64>(&format!("SELECT min(id) FROM posts WHERE thread_id = {th}"))
        .await;
    assert!(!all.contains(&hidden_post));
    let (_, past) = hits(&app, "q=zebra&page=3").await;
    assert!(hit_ids(&past).is_empty());
    assert_eq!(
        past["total"], 27,
        "past the last page the total is still told"
    );
    assert_eq!(past["next_page"], Value::Null);
    for bad in ["page=0", "page=51", "page=x"] {
        let (s, body) = hits(&app, &format!("q=zebra&{bad}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["field"], "page");
    }
    assert!(hit_ids(&hits(&app, "q=secret").await.1).is_empty());
    assert!(hit_ids(&hits(&app, "q=").await.1).is_empty());

    // A category takes its subcategories along; author; dates (both days included).
    let (_, r) = hits(&app, &format!("q=zebra&category={news}")).await;
    assert_eq!(hit_ids(&r), vec![b2, bob_first]);
    assert_eq!(r["results"][0]["category_name"], "Local news");
    assert_eq!(
        hit_ids(&hits(&app, &format!("q=zebra&category={sub}")).await.1).len(),
        2
    );
    assert_eq!(
        hits(&app, &format!("q=zebra&category={chat}")).await.1["total"],
        25
    );
    assert_eq!(hits(&app, "q=zebra&author=BOB").await.1["total"], 2);
    assert_eq!(
        hits(&app, "q=zebra&from=2020-01-01&until=2020-01-01")
            .await
            .1["total"],
        2
    );
    assert_eq!(hits(&app, "q=zebra&until=2019-12-31").await.1["total"], 0);
    assert_eq!(hits(&app, "q=zebra&from=2020-01-02").await.1["total"], 25);
    for (bad, field) in [
        ("author=nobody", "author"),
        ("category=99999", "category"),
        ("category=x", "category"),
        ("from=yesterday", "from"),
        ("from=2021-01-02&until=2021-01-01", "until"),
    ] {
        let (s, body) = hits(&app, &format!("q=zebra&{bad}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["field"], field, "{bad}");
    }

    // The page: the same filters and pager, each hit linking to its post.
    let page = app
        .get(
            &format!("/search?q=zebra&author=bob&category={news}"),
            &Browser::default(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("2 results for"), "{}", page.body);
    assert!(page.body.contains(&format!("href=\"/p/{b2}/\"")));
    assert!(
        page.body
            .contains(&format!("<option value=\"{news}\" selected>"))
    );
    let page = app.get("/search?q=zebra", &Browser::default()).await;
    assert!(page.body.contains("id=\"next-page\""));
    assert!(!page.body.contains(&format!("href=\"/p/{deleted}/\"")));
    let page = app
        .get("/search?q=zebra&author=nobody", &Browser::default())
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("no member has that name"));

    // A hit's link leads to the post on its page of the thread (20 posts a page).
    let late = alices[22];
    let r = app.get(&format!("/p/{late}/"), &Browser::default()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), format!("/t/{t}/?page=2#post-{late}"));
    let path = r.location().split('#').next().unwrap().to_string();
    let thread_page = app.get(&path, &Browser::default()).await;
    assert!(thread_page.body.contains(&format!("id=\"post-{late}\"")));
}
