//! Route tests (no socket) of the pages added for moderation and administration: restoring a
//! soft-deleted post, and a category's description and order among its siblings.

mod common;

use axum::http::StatusCode;
use common::{Browser, TestApp};

#[tokio::test]
async fn a_moderator_restores_a_deleted_post_from_the_thread_page() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;
    let t = app.thread(&alice, cat, "Restore", "first").await;
    let p = app.reply(&bob, t, "deleted by mistake").await;
    assert_eq!(
        app.post(&format!("/p/{p}/delete"), &[], &moder)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let restore = format!("/p/{p}/restore");
    let button = format!("action=\"{restore}\"");
    // Only moderators see the button.
    let page = app.get(&format!("/t/{t}/"), &moder).await;
    assert!(page.body.contains(&button), "{}", page.body);
    assert!(page.body.contains("This post was deleted."));
    for b in [&alice, &bob, &Browser::default()] {
        assert!(!app.get(&format!("/t/{t}/"), b).await.body.contains(&button));
    }
    // Anonymous: to the login page; members (the author too): 403; no CSRF token: 403.
    let anon = app.post(&restore, &[], &Browser::default()).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.location(), "/login");
    for b in [&alice, &bob] {
        let r = app.post(&restore, &[], b).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("only moderators"));
    }
    assert_eq!(
        app.post_raw(&restore, &[], &moder).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_raw(&restore, &[("csrf", "wrong")], &moder)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(
        app.scalar::<bool>(&format!("SELECT is_deleted FROM posts WHERE id = {p}"))
            .await
    );
    let ok = app.post(&restore, &[], &moder).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location(), format!("/p/{p}/"));
    assert!(
        !app.scalar::<bool>(&format!("SELECT is_deleted FROM posts WHERE id = {p}"))
            .await
    );
    let page = app.get(&format!("/t/{t}/"), &Browser::default()).await;
    assert!(page.body.contains("deleted by mistake"));
    assert!(!page.body.contains(&button));
    assert_eq!(
        app.post("/p/999999/restore", &[], &moder).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn order_of(app: &TestApp, parent: Option<i64>) -> Vec<String> {
    let tree = forum::models::CategoryTree::load(&app.state.pool.get().await.unwrap())
        .await
        .unwrap();
    tree.flatten()
        .into_iter()
        .filter(|e| e.category.parent_id == parent)
        .map(|e| e.category.name)
        .collect()
}

#[tokio::test]
async fn admins_edit_a_category_s_description_and_its_order_among_siblings() {
    let app = TestApp::new().await;
    let admin = app.admin("boss").await;
    let alice = app.user("alice", "member").await;
    let a = app.category(None, "Alpha", false).await;
    let b = app.category(None, "Beta", false).await;
    let c = app.category(None, "Gamma", false).await;
    let parent = app.category(None, "Parent", false).await;
    let kid1 = app.category(Some(parent), "Kid one", false).await;
    let kid2 = app.category(Some(parent), "Kid two", false).await;
    // Same positions (as old data might have): the order falls back to the id, and reordering
    // still works.
    app.state
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE categories SET position = 7 WHERE id = ANY($1)",
            &[&vec![kid1, kid2]],
        )
        .await
        .unwrap();

    let url = |id: i64| format!("/admin/categories/{id}");
    let described = app
        .post(
            &url(b),
            &[
                ("action", "describe"),
                ("description", "  All about <b>beta</b>  "),
            ],
            &admin,
        )
        .await;
    assert_eq!(described.status, StatusCode::SEE_OTHER);
    assert!(described.location().contains("Description"));
    assert_eq!(
        app.scalar::<String>(&format!(
            "SELECT description FROM categories WHERE id = {b}"
        ))
        .await,
        "All about <b>beta</b>"
    );
    let index = app.get("/admin/", &admin).await;
    assert!(
        index.body.contains("All about &#60;b&#62;beta&#60;/b&#62;")
            || index.body.contains("All about &lt;b&gt;beta&lt;/b&gt;"),
        "escaped in the form: {}",
        index.body
    );
    let long = "x".repeat(1001);
    assert_eq!(
        app.post(
            &url(b),
            &[("action", "describe"), ("description", &long)],
            &admin
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Cleared with an empty description.
    app.post(
        &url(a),
        &[("action", "describe"), ("description", "temp")],
        &admin,
    )
    .await;
    app.post(
        &url(a),
        &[("action", "describe"), ("description", "")],
        &admin,
    )
    .await;
    assert_eq!(
        app.scalar::<String>(&format!(
            "SELECT description FROM categories WHERE id = {a}"
        ))
        .await,
        ""
    );

    assert_eq!(
        order_of(&app, None).await,
        ["Alpha", "Beta", "Gamma", "Parent"]
    );
    let up = app.post(&url(c), &[("action", "up")], &admin).await;
    assert_eq!(up.status, StatusCode::SEE_OTHER);
    assert_eq!(
        order_of(&app, None).await,
        ["Alpha", "Gamma", "Beta", "Parent"]
    );
    app.post(&url(a), &[("action", "down")], &admin).await;
    assert_eq!(
        order_of(&app, None).await,
        ["Gamma", "Alpha", "Beta", "Parent"]
    );
    // Up at the top and down at the bottom change nothing.
    app.post(&url(c), &[("action", "up")], &admin).await;
    app.post(&url(parent), &[("action", "down")], &admin).await;
    assert_eq!(
        order_of(&app, None).await,
        ["Gamma", "Alpha", "Beta", "Parent"]
    );
    app.post(&url(parent), &[("action", "place"), ("place", "1")], &admin)
        .await;
    assert_eq!(
        order_of(&app, None).await,
        ["Parent", "Gamma", "Alpha", "Beta"]
    );
    for bad in ["0", "5", "x", ""] {
        assert_eq!(
            app.post(&url(a), &[("action", "place"), ("place", bad)], &admin)
                .await
                .status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "place {bad:?}"
        );
    }
    // Siblings only: the subcategories keep their own order, and move among themselves.
    assert_eq!(order_of(&app, Some(parent)).await, ["Kid one", "Kid two"]);
    app.post(&url(kid2), &[("action", "up")], &admin).await;
    assert_eq!(order_of(&app, Some(parent)).await, ["Kid two", "Kid one"]);
    assert_eq!(
        order_of(&app, None).await,
        ["Parent", "Gamma", "Alpha", "Beta"]
    );
    // The tree page lists them in the new order.
    let home = app.get("/", &Browser::default()).await.body;
    let (pp, pg) = (home.find("Parent"), home.find("Gamma"));
    assert!(pp.is_some() && pg.is_some() && pp < pg, "{home}");

    // Members never reach it; a missing CSRF token or an unknown category is refused.
    let member = app.post(&url(b), &[("action", "up")], &alice).await;
    assert_eq!(member.status, StatusCode::SEE_OTHER);
    assert_eq!(member.location(), "/admin/login");
    assert_eq!(
        app.post_raw(&url(b), &[("action", "up")], &admin)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&url(999999), &[("action", "describe")], &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        order_of(&app, None).await,
        ["Parent", "Gamma", "Alpha", "Beta"]
    );
}
