//! Route tests (no socket) of the API's write actions and profiles: likes, polls, edits and
//! their history, soft delete and restore, moderation, best answers, profiles, passwords; each
//! with its permission failures (401 anonymous, 403 member, wrong Origin) and JSON errors.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Browser, PASSWORD, Resp, TestApp};
use serde_json::{Value, json};

/// Who sends a request.
#[derive(Clone, Copy)]
enum Who<'a> {
    Anon,
    /// An API bearer token.
    Bearer(&'a str),
    /// A browser with a session cookie.
    Cookie(&'a Browser),
}

const HOST: &str = "forum.example";

/// `method path` with an optional JSON body, as `who`, with an optional `Origin`.
async fn call_from(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
    who: Who<'_>,
    origin: Option<&str>,
) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST);
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    if let Who::Bearer(t) = who {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let browser = match who {
        Who::Cookie(b) => b.clone(),
        _ => Browser::default(),
    };
    app.send(req, &browser).await
}

async fn call(app: &TestApp, method: &str, path: &str, body: Option<Value>, who: Who<'_>) -> Resp {
    call_from(app, method, path, body, who, None).await
}

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

fn error(r: &Resp) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn posts_are_edited_with_history_soft_deleted_and_restored_by_moderators() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (a, b, m) = (
        token(&app, &alice).await,
        token(&app, &bob).await,
        token(&app, &moder).await,
    );
    let t = app.thread(&alice, cat, "Edits", "first").await;
    let p = app.reply(&bob, t, "original text").await;
    let path = format!("/api/posts/{p}/");

    let shown = call(&app, "GET", &path, None, Who::Anon).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.json()["body"], "original text");
    for missing in ["/api/posts/999999/", "/api/posts/abc/", "/api/posts/0/"] {
        assert_eq!(
            call(&app, "GET", missing, None, Who::Anon).await.status,
            StatusCode::NOT_FOUND
        );
    }

    // Edit: anonymous 401, another member 403, empty body 422 naming the field.
    let edit = json!({"body": "edited *text*"});
    let anon = call(&app, "PATCH", &path, Some(edit.clone()), Who::Anon).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert!(anon.json()["error"].is_string());
    let other = call(&app, "PATCH", &path, Some(edit.clone()), Who::Bearer(&a)).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert!(error(&other).contains("cannot edit"), "{}", other.body);
    let empty = call(
        &app,
        "PATCH",
        &path,
        Some(json!({"body": "  "})),
        Who::Bearer(&b),
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.json()["field"], "body");
    assert!(empty.json()["fields"]["body"][0].is_string());
    let unknown = call(
        &app,
        "PATCH",
        &path,
        Some(json!({"body": "x", "user_id": 1})),
        Who::Bearer(&b),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cross = call_from(
        &app,
        "PATCH",
        &path,
        Some(edit.clone()),
        Who::Cookie(&bob),
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let ok = call(&app, "PATCH", &path, Some(edit.clone()), Who::Bearer(&b)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.json()["body_html"], "<p>edited <em>text</em></p>\n");
    assert!(ok.json()["edited_at"].is_string());
    // A moderator edits too; the history keeps both earlier versions, newest first.
    let by_mod = call(
        &app,
        "PATCH",
        &path,
        Some(json!({"body": "moderated"})),
        Who::Cookie(&moder),
    )
    .await;
    assert_eq!(by_mod.status, StatusCode::OK, "{}", by_mod.body);
    let history = call(&app, "GET", &format!("{path}edits/"), None, Who::Anon).await;
    assert_eq!(history.status, StatusCode::OK);
    let h = history.json();
    let edits = h["results"].as_array().unwrap();
    assert_eq!(edits.len(), 2);
    assert_eq!(edits[0]["old_body"], "edited *text*");
    assert_eq!(edits[0]["username"], "mod");
    assert_eq!(edits[1]["old_body"], "original text");
    assert_eq!(edits[1]["username"], "bob");

    // Soft delete: another member 403, the author 204; the text is gone for everyone but
    // moderators, and a deleted post cannot be edited.
    assert_eq!(
        call(&app, "DELETE", &path, None, Who::Anon).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "DELETE", &path, None, Who::Bearer(&a))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call_from(
            &app,
            "DELETE",
            &path,
            None,
            Who::Cookie(&bob),
            Some("http://evil.example")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let del = call(&app, "DELETE", &path, None, Who::Bearer(&b)).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.body);
    let gone = call(&app, "GET", &path, None, Who::Anon).await.json();
    assert_eq!(gone["is_deleted"], true);
    assert_eq!(gone["body"], "");
    assert_eq!(gone["body_html"], "");
    assert_eq!(
        call(&app, "GET", &path, None, Who::Bearer(&m)).await.json()["body"],
        "moderated"
    );
    assert_eq!(
        call(&app, "GET", &format!("{path}edits/"), None, Who::Bearer(&b))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let locked = call(&app, "PATCH", &path, Some(edit), Who::Bearer(&b)).await;
    assert_eq!(locked.status, StatusCode::CONFLICT, "{}", locked.body);

    // Restore: moderators only.
    let restore = format!("{path}restore");
    assert_eq!(
        call(&app, "POST", &restore, None, Who::Anon).await.status,
        StatusCode::UNAUTHORIZED
    );
    let author = call(&app, "POST", &restore, None, Who::Bearer(&b)).await;
    assert_eq!(author.status, StatusCode::FORBIDDEN);
    assert!(
        error(&author).contains("only moderators"),
        "{}",
        author.body
    );
    assert_eq!(
        call_from(
            &app,
            "POST",
            &restore,
            None,
            Who::Cookie(&moder),
            Some("https://evil.example")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let back = call(&app, "POST", &restore, None, Who::Bearer(&m)).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.json()["is_deleted"], false);
    let seen = call(&app, "GET", &path, None, Who::Anon).await.json();
    assert_eq!(
        (seen["is_deleted"].clone(), seen["body"].clone()),
        (json!(false), json!("moderated"))
    );
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/posts/999999/restore",
            None,
            Who::Bearer(&m)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // A post in a hidden thread is invisible to members.
    app.state
        .pool
        .get()
        .await
        .unwrap()
        .execute("UPDATE threads SET is_hidden = true WHERE id = $1", &[&t])
        .await
        .unwrap();
    assert_eq!(
        call(&app, "GET", &path, None, Who::Bearer(&a)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "GET", &path, None, Who::Bearer(&m)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn likes_and_unlikes_count_once_and_never_one_s_own_post() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let t = app.thread(&alice, cat, "Likes", "first").await;
    let p = app.reply(&bob, t, "like me").await;
    let path = format!("/api/posts/{p}/like");
    let c = token(&app, &carol).await;

    assert_eq!(
        call(&app, "POST", &path, None, Who::Anon).await.status,
        StatusCode::UNAUTHORIZED
    );
    let own = call(&app, "POST", &path, None, Who::Cookie(&bob)).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert!(error(&own).contains("own post"));
    let liked = call(&app, "POST", &path, None, Who::Bearer(&c)).await;
    assert_eq!(liked.status, StatusCode::OK, "{}", liked.body);
    assert_eq!(
        liked.json(),
        json!({"post_id": p, "like_count": 1, "liked": true})
    );
    let twice = call(&app, "POST", &path, None, Who::Bearer(&c)).await;
    assert_eq!(
        twice.json()["like_count"],
        1,
        "a second like changes nothing"
    );
    // A browser session from this site works; from another site it is refused, and so is a
    // form-encoded POST (what a cross-site form sends).
    let same_site = call_from(
        &app,
        "POST",
        &path,
        None,
        Who::Cookie(&alice),
        Some(&format!("http://{HOST}")),
    )
    .await;
    assert_eq!(same_site.status, StatusCode::OK, "{}", same_site.body);
    assert_eq!(same_site.json()["like_count"], 2);
    let cross = call_from(
        &app,
        "DELETE",
        &path,
        None,
        Who::Cookie(&alice),
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let form = app.post_raw(&path, &[("like", "true")], &carol).await;
    assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(form.json()["error"].as_str().unwrap().contains("JSON"));

    let unliked = call(&app, "DELETE", &path, None, Who::Bearer(&c)).await;
    assert_eq!(unliked.status, StatusCode::OK);
    assert_eq!(
        unliked.json(),
        json!({"post_id": p, "like_count": 1, "liked": false})
    );
    let again = call(&app, "DELETE", &path, None, Who::Bearer(&c)).await;
    assert_eq!(
        again.json()["like_count"],
        1,
        "a second unlike changes nothing"
    );
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/posts/999999/like",
            None,
            Who::Bearer(&c)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let post = call(&app, "GET", &format!("/api/posts/{p}/"), None, Who::Anon).await;
    assert_eq!(post.json()["like_count"], 1);
}

#[tokio::test]
async fn polls_are_read_and_voted_on_through_the_api() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;
    let a = token(&app, &alice).await;
    let b = token(&app, &bob).await;
    let created = call(
        &app,
        "POST",
        "/api/threads/",
        Some(
            json!({"category_id": cat, "title": "Poll thread", "body": "vote",
            "poll": {"question": "Which ones?", "choices": ["red", "green", "blue"],
                     "max_choices": 2, "is_public": true}}),
        ),
        Who::Bearer(&a),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let t = created.json()["id"].as_i64().unwrap();
    let poll_path = format!("/api/threads/{t}/poll/");
    let vote_path = format!("/api/threads/{t}/poll/vote");

    let poll = call(&app, "GET", &poll_path, None, Who::Anon).await;
    assert_eq!(poll.status, StatusCode::OK);
    let poll = poll.json();
    assert_eq!(poll["question"], "Which ones?");
    let ids: Vec<i64> = poll["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);

    assert_eq!(
        call(
            &app,
            "POST",
            &vote_path,
            Some(json!({"choices": [ids[0]]})),
            Who::Anon
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call_from(
            &app,
            "POST",
            &vote_path,
            Some(json!({"choices": [ids[0]]})),
            Who::Cookie(&bob),
            Some("https://evil.example")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let too_many = call(
        &app,
        "POST",
        &vote_path,
        Some(json!({"choices": ids})),
        Who::Bearer(&b),
    )
    .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_many.json()["field"], "choices");
    let foreign = call(
        &app,
        "POST",
        &vote_path,
        Some(json!({"choices": [999999]})),
        Who::Bearer(&b),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error(&foreign).contains("not in this poll"));
    let not_a_list = call(
        &app,
        "POST",
        &vote_path,
        Some(json!({"choices": "red"})),
        Who::Bearer(&b),
    )
    .await;
    assert_eq!(not_a_list.status, StatusCode::UNPROCESSABLE_ENTITY);

    let voted = call(
        &app,
        "POST",
        &vote_path,
        Some(json!({"choices": [ids[0], ids[2]]})),
        Who::Bearer(&b),
    )
    .await;
    assert_eq!(voted.status, StatusCode::OK, "{}", voted.body);
    let v = voted.json();
    assert_eq!(v["voted"], true);
    assert_eq!(v["voters"], 1);
    assert_eq!(v["choices"][0]["votes"], 1);
    assert_eq!(v["choices"][0]["voters"], json!(["bob"]));
    assert_eq!(v["choices"][1]["votes"], 0);
    let again = call(
        &app,
        "POST",
        &vote_path,
        Some(json!({"choices": [ids[1]]})),
        Who::Bearer(&b),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "no revote on this poll");
    assert!(error(&again).contains("already voted"));
    // The viewer's own vote shows in the results.
    let mine = call(&app, "GET", &poll_path, None, Who::Bearer(&b))
        .await
        .json();
    assert_eq!(mine["choices"][2]["mine"], true);

    // An ended poll refuses votes with 409.
    app.state
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE polls SET ends_at = now() - interval '1 minute'",
            &[],
        )
        .await
        .unwrap();
    let ended = call(
        &app,
        "POST",
        &vote_path,
        Some(json!({"choices": [ids[1]]})),
        Who::Bearer(&a),
    )
    .await;
    assert_eq!(ended.status, StatusCode::CONFLICT);
    assert!(error(&ended).contains("ended"));

    // No poll, no thread, hidden thread: 404.
    let plain = app.thread(&alice, cat, "No poll here", "text").await;
    assert_eq!(
        call(
            &app,
            "GET",
            &format!("/api/threads/{plain}/poll/"),
            None,
            Who::Anon
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "GET", "/api/threads/999999/poll/", None, Who::Anon)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let hide = call(
        &app,
        "PATCH",
        &format!("/api/threads/{t}/"),
        Some(json!({"is_hidden": true})),
        Who::Cookie(&moder),
    )
    .await;
    assert_eq!(hide.status, StatusCode::OK, "{}", hide.body);
    assert_eq!(
        call(&app, "GET", &poll_path, None, Who::Bearer(&b))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "GET", &poll_path, None, Who::Cookie(&moder))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn moderators_pin_close_move_and_hide_threads_and_members_cannot() {
    let app = TestApp::new().await;
    let general = app.category(None, "General", false).await;
    let archive = app.category(None, "Archive", false).await;
    let alice = app.user("alice", "member").await;
    let moder = app.user("mod", "moderator").await;
    let admin = app.user("boss", "admin").await;
    let a = token(&app, &alice).await;
    let m = token(&app, &moder).await;
    let t = app.thread(&alice, general, "Moderate me", "first").await;
    app.reply(&alice, t, "second").await;
    let path = format!("/api/threads/{t}/");

    let pin = json!({"is_pinned": true, "is_closed": true});
    assert_eq!(
        call(&app, "PATCH", &path, Some(pin.clone()), Who::Anon)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let member = call(&app, "PATCH", &path, Some(pin.clone()), Who::Bearer(&a)).await;
    assert_eq!(
        member.status,
        StatusCode::FORBIDDEN,
        "the author is no moderator"
    );
    assert!(error(&member).contains("moderators"));
    assert_eq!(
        call_from(
            &app,
            "PATCH",
            &path,
            Some(pin.clone()),
            Who::Cookie(&moder),
            Some("https://evil.example")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let nothing = call(&app, "PATCH", &path, Some(json!({})), Who::Bearer(&m)).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error(&nothing).contains("nothing to change"));
    let unknown = call(
        &app,
        "PATCH",
        &path,
        Some(json!({"title": "x"})),
        Who::Bearer(&m),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error(&unknown).contains("title"), "{}", unknown.body);
    assert_eq!(
        call(
            &app,
            "PATCH",
            "/api/threads/999999/",
            Some(pin.clone()),
            Who::Bearer(&m)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    let ok = call(&app, "PATCH", &path, Some(pin), Who::Bearer(&m)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(
        (
            ok.json()["is_pinned"].clone(),
            ok.json()["is_closed"].clone()
        ),
        (json!(true), json!(true))
    );
    // Closed: a member's reply is refused, a moderator's is not.
    let reply = call(
        &app,
        "POST",
        &format!("{path}posts/"),
        Some(json!({"body": "late"})),
        Who::Bearer(&a),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(error(&reply).contains("closed"));
    assert_eq!(
        call(
            &app,
            "POST",
            &format!("{path}posts/"),
            Some(json!({"body": "mod note"})),
            Who::Bearer(&m)
        )
        .await
        .status,
        StatusCode::CREATED
    );

    // A bad move changes nothing (one transaction), and names the field.
    let bad = call(
        &app,
        "PATCH",
        &path,
        Some(json!({"is_pinned": false, "category_id": 999999})),
        Who::Bearer(&m),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["field"], "category_id");
    let still = call(&app, "GET", &path, None, Who::Anon).await.json();
    assert_eq!(still["thread"]["is_pinned"], true);
    assert_eq!(still["thread"]["category_id"], general);

    let moved = call(
        &app,
        "PATCH",
        &path,
        Some(json!({"category_id": archive, "is_closed": false})),
        Who::Cookie(&admin),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.json()["category_id"], archive);
    assert_eq!(moved.json()["is_closed"], false);
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT thread_count FROM categories WHERE id = {archive}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT post_count FROM categories WHERE id = {general}"
        ))
        .await,
        0
    );

    // Hidden: gone for members and anonymous visitors, back when unhidden.
    let hidden = call(
        &app,
        "PATCH",
        &path,
        Some(json!({"is_hidden": true})),
        Who::Bearer(&m),
    )
    .await;
    assert_eq!(hidden.json()["is_hidden"], true);
    assert_eq!(
        call(&app, "GET", &path, None, Who::Anon).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "GET", &path, None, Who::Bearer(&m)).await.status,
        StatusCode::OK
    );
    call(
        &app,
        "PATCH",
        &path,
        Some(json!({"is_hidden": false, "is_pinned": false})),
        Who::Bearer(&m),
    )
    .await;
    let back = call(&app, "GET", &path, None, Who::Anon).await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(back.json()["thread"]["is_pinned"], false);
}

#[tokio::test]
async fn best_answers_are_marked_by_the_author_or_a_moderator_in_question_categories() {
    let app = TestApp::new().await;
    let questions = app.category(None, "Questions", true).await;
    let chat = app.category(None, "Chat", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let moder = app.user("mod", "moderator").await;
    let t = app.thread(&alice, questions, "How?", "Help").await;
    let first: i64 = app
        .scalar(&format!("SELECT min(id) FROM posts WHERE thread_id = {t}"))
        .await;
    let answer = app.reply(&bob, t, "Like this").await;
    let other = app.reply(&carol, t, "Or that").await;
    let path = |p: i64| format!("/api/posts/{p}/best-answer");

    assert_eq!(
        call(&app, "POST", &path(answer), None, Who::Anon)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let stranger = call(&app, "POST", &path(answer), None, Who::Cookie(&carol)).await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN);
    assert!(error(&stranger).contains("author or a moderator"));
    assert_eq!(
        call_from(
            &app,
            "POST",
            &path(answer),
            None,
            Who::Cookie(&alice),
            Some("https://evil.example")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&app, "POST", &path(first), None, Who::Cookie(&alice))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not the first post"
    );
    let ok = call(
        &app,
        "POST",
        &path(answer),
        None,
        Who::Bearer(&token(&app, &alice).await),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(
        ok.json(),
        json!({"thread_id": t, "best_answer_post_id": answer})
    );
    let thread = call(&app, "GET", &format!("/api/threads/{t}/"), None, Who::Anon)
        .await
        .json();
    assert_eq!(thread["thread"]["best_answer_post_id"], answer);
    let by_mod = call(&app, "POST", &path(other), None, Who::Cookie(&moder)).await;
    assert_eq!(by_mod.status, StatusCode::OK);
    let thread = call(&app, "GET", &format!("/api/threads/{t}/"), None, Who::Anon)
        .await
        .json();
    assert_eq!(thread["thread"]["best_answer_post_id"], other);

    let t2 = app.thread(&alice, chat, "Chatting", "Hi").await;
    let p2 = app.reply(&bob, t2, "Hello").await;
    let plain = call(&app, "POST", &path(p2), None, Who::Cookie(&alice)).await;
    assert_eq!(plain.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error(&plain).contains("question categories"));
    assert_eq!(
        call(&app, "POST", &path(999999), None, Who::Cookie(&alice))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn profiles_the_current_user_and_password_changes() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    app.thread(&alice, cat, "Alice's thread", "hello").await;

    let profile = call(
        &app,
        "GET",
        &format!("/api/users/{}/", alice.user_id),
        None,
        Who::Anon,
    )
    .await;
    assert_eq!(profile.status, StatusCode::OK);
    let p = profile.json();
    assert_eq!(p["user"]["username"], "alice");
    assert_eq!(p["user"]["thread_count"], 1);
    assert!(p["user"]["created_at"].is_string());
    assert!(
        p["user"].get("email").is_none(),
        "no e-mail on public profiles"
    );
    assert_eq!(p["threads"][0]["title"], "Alice's thread");
    assert_eq!(p["posts"].as_array().unwrap().len(), 1);
    for missing in ["/api/users/999999/", "/api/users/x/"] {
        assert_eq!(
            call(&app, "GET", missing, None, Who::Anon).await.status,
            StatusCode::NOT_FOUND
        );
    }

    let anon = call(&app, "GET", "/api/me/", None, Who::Anon).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let a = token(&app, &alice).await;
    let me = call(&app, "GET", "/api/me/", None, Who::Bearer(&a)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["user"]["username"], "alice");
    assert_eq!(me.json()["email"], "alice@example.com");
    assert_eq!(
        call(&app, "GET", "/api/me/", None, Who::Cookie(&bob))
            .await
            .json()["user"]["username"],
        "bob"
    );

    let path = "/api/me/password";
    let new = "a brand new passphrase";
    assert_eq!(
        call(
            &app,
            "POST",
            path,
            Some(json!({"current": PASSWORD, "new": new})),
            Who::Anon
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call_from(
            &app,
            "POST",
            path,
            Some(json!({"current": PASSWORD, "new": new})),
            Who::Cookie(&alice),
            Some("https://evil.example")
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let wrong = call(
        &app,
        "POST",
        path,
        Some(json!({"current": "not my password", "new": new})),
        Who::Bearer(&a),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.json()["field"], "current");
    assert!(error(&wrong).contains("current password is wrong"));
    let short = call(
        &app,
        "POST",
        path,
        Some(json!({"current": PASSWORD, "new": "short"})),
        Who::Bearer(&a),
    )
    .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short.json()["field"], "new");
    let missing = call(
        &app,
        "POST",
        path,
        Some(json!({"new": new})),
        Who::Bearer(&a),
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = call(
        &app,
        "POST",
        path,
        Some(json!({"current": PASSWORD, "new": new})),
        Who::Bearer(&a),
    )
    .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);
    // The token that changed it still works; the browser session of the same user ended.
    assert_eq!(
        call(&app, "GET", "/api/me/", None, Who::Bearer(&a))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "GET", "/api/me/", None, Who::Cookie(&alice))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let old = app
        .post_json(
            "/api/auth/login",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let fresh = app
        .post_json(
            "/api/auth/login",
            json!({"username": "alice", "password": new}),
            None,
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_api_paths_and_methods_answer_json() {
    let app = TestApp::new().await;
    for (method, path) in [
        ("PATCH", "/api/nothing/here/"),
        ("DELETE", "/api/nothing/"),
        ("GET", "/api/posts/1/unknown"),
    ] {
        let r = call(&app, method, path, None, Who::Anon).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert!(r.json()["error"].is_string());
    }
}

/// SQL injection strings in the new API's text fields and path ids are plain text: stored as
/// written, or refused as not found / wrong; no table touched.
#[tokio::test]
async fn sql_injection_strings_in_the_api_actions_are_plain_text() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let b = token(&app, &bob).await;
    let t = app.thread(&alice, cat, "Injections", "first").await;
    let p = app.reply(&bob, t, "to be edited").await;
    let nasty = [
        "' OR '1'='1",
        "'; DROP TABLE posts; --",
        "1; DELETE FROM users",
        "\\'; SELECT pg_sleep(5); --",
        "%' AND 1=1 --",
        "$1 $2 ::text",
    ];
    for s in nasty {
        let path = format!("/api/posts/{p}/");
        let edited = call(
            &app,
            "PATCH",
            &path,
            Some(json!({"body": s})),
            Who::Bearer(&b),
        )
        .await;
        assert_eq!(edited.status, StatusCode::OK, "{s}: {}", edited.body);
        let shown = call(&app, "GET", &path, None, Who::Anon).await;
        assert_eq!(shown.json()["body"], s);

        let segment = common::form_urlencoded(&[("x", s)]);
        let segment = segment.trim_start_matches("x=");
        for url in [
            format!("/api/posts/{segment}/"),
            format!("/api/posts/{segment}/edits/"),
            format!("/api/users/{segment}/"),
            format!("/api/threads/{segment}/poll/"),
        ] {
            let r = call(&app, "GET", &url, None, Who::Anon).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{url}: {}", r.body);
        }
        let like = call(
            &app,
            "POST",
            &format!("/api/posts/{segment}/like"),
            None,
            Who::Bearer(&b),
        )
        .await;
        assert_eq!(
            like.status,
            StatusCode::NOT_FOUND,
            "like {s}: {}",
            like.body
        );

        let password = call(
            &app,
            "POST",
            "/api/me/password",
            Some(json!({"current": s, "new": s})),
            Who::Bearer(&b),
        )
        .await;
        assert!(
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::TOO_MANY_REQUESTS
            ]
            .contains(&password.status),
            "password change with {s}: {} {}",
            password.status,
            password.body
        );
    }
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM posts").await, 2);
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM users").await, 2);
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM post_edits").await,
        6,
        "every edit kept in the history"
    );
}
