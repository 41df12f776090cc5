//! Shared helpers of the forum's route tests: a fresh database per test, the router driven with
//! `oneshot` (no socket), users with sessions, forms with the CSRF token.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use forum::auth::SessionKind;
use forum::{AppState, Config};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// The password of every test user.
pub const PASSWORD: &str = "correct horse battery";

/// A CSRF token the test browser holds in its cookie.
pub const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A forum on a fresh database.
pub struct TestApp {
    /// The database (dropped with the app).
    pub db: testkit::TestDb,
    /// The state.
    pub state: AppState,
}

/// A test browser: its cookies.
#[derive(Clone, Debug, Default)]
pub struct Browser {
    /// `forum_session` token.
    pub session: Option<String>,
    /// `forum_admin` token.
    pub admin: Option<String>,
    /// The user's id.
    pub user_id: i64,
}

/// An answered request.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: axum::http::HeaderMap,
    /// Body text.
    pub body: String,
}

impl Resp {
    /// The `Location` header.
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// The value of a cookie the response sets.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix(&format!("{name}="))
                    .map(|r| r.split(';').next().unwrap_or("").to_string())
            })
    }
}

fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| forum::password::hash_password(PASSWORD).unwrap())
}

impl TestApp {
    /// A migrated database and the `all` role, without anti-spam rules (their own tests set
    /// them).
    pub async fn new() -> TestApp {
        Self::with_config(config()).await
    }

    /// As [`TestApp::new`] with `config`.
    pub async fn with_config(config: Config) -> TestApp {
        let db = testkit::TestDb::new().await;
        let pool = forum::db::pool(&db.url, 4).unwrap();
        forum::db::migrate(&pool).await.unwrap();
        TestApp {
            db,
            state: AppState::new(pool, config),
        }
    }

    /// The router.
    pub fn router(&self) -> Router {
        forum::app(self.state.clone())
    }

    /// Sends `req` with the browser's cookies.
    pub async fn send(&self, mut req: Request<Body>, b: &Browser) -> Resp {
        let mut cookies = vec![format!("forum_csrf={CSRF}")];
        if let Some(s) = &b.session {
            cookies.push(format!("forum_session={s}"));
        }
        if let Some(s) = &b.admin {
            cookies.push(format!("forum_admin={s}"));
        }
        req.headers_mut()
            .insert(header::COOKIE, cookies.join("; ").parse().unwrap());
        let res = tokio::time::timeout(Duration::from_secs(30), self.router().oneshot(req))
            .await
            .unwrap()
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, b: &Browser) -> Resp {
        self.send(Request::get(path).body(Body::empty()).unwrap(), b)
            .await
    }

    /// `POST path` with form `fields` and the right CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)], b: &Browser) -> Resp {
        let mut all = vec![("csrf", CSRF)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, b).await
    }

    /// `POST path` with exactly `fields`.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)], b: &Browser) -> Resp {
        let body = form_urlencoded(fields);
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req, b).await
    }

    /// `POST path` with a JSON body and an optional bearer token.
    pub async fn post_json(
        &self,
        path: &str,
        json: serde_json::Value,
        bearer: Option<&str>,
    ) -> Resp {
        let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(
            req.body(Body::from(json.to_string())).unwrap(),
            &Browser::default(),
        )
        .await
    }

    /// A user of `role` with a logged-in session.
    pub async fn user(&self, name: &str, role: &str) -> Browser {
        let client = self.state.pool.get().await.unwrap();
        let row = client
            .query_one(
                "INSERT INTO users (username, email, password_hash, role) VALUES ($1, $1 || '@example.com', $2, $3) RETURNING id",
                &[&name, &password_hash(), &role],
            )
            .await
            .unwrap();
        let id: i64 = row.get(0);
        let token = forum::auth::create_session(
            &self.state.pool,
            id,
            SessionKind::User,
            self.state.config.session_ttl,
        )
        .await
        .unwrap();
        Browser {
            session: Some(token),
            admin: None,
            user_id: id,
        }
    }

    /// An admin with both a user session and an admin-panel session.
    pub async fn admin(&self, name: &str) -> Browser {
        let mut b = self.user(name, "admin").await;
        b.admin = Some(
            forum::auth::create_session(
                &self.state.pool,
                b.user_id,
                SessionKind::Admin,
                self.state.config.session_ttl,
            )
            .await
            .unwrap(),
        );
        b
    }

    /// A category.
    pub async fn category(&self, parent: Option<i64>, name: &str, question: bool) -> i64 {
        let client = self.state.pool.get().await.unwrap();
        forum::models::categories::create(&client, parent, name, "", question)
            .await
            .unwrap()
    }

    /// A thread by `b` in `category` via the form; returns its id.
    pub async fn thread(&self, b: &Browser, category: i64, title: &str, body: &str) -> i64 {
        let r = self
            .post(
                &format!("/c/{category}/new"),
                &[("title", title), ("body", body)],
                b,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        id_in(&r.location(), "/t/")
    }

    /// A reply by `b`; returns the post id.
    pub async fn reply(&self, b: &Browser, thread: i64, body: &str) -> i64 {
        let r = self
            .post(&format!("/t/{thread}/reply"), &[("body", body)], b)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        id_in(&r.location(), "/p/")
    }

    /// One value of a SQL query.
    pub async fn scalar<T: for<'a> tokio_postgres::types::FromSql<'a>>(&self, sql: &str) -> T {
        self.state
            .pool
            .get()
            .await
            .unwrap()
            .query_one(sql, &[])
            .await
            .unwrap()
            .get(0)
    }
}

/// The number after `prefix` in `location`.
pub fn id_in(location: &str, prefix: &str) -> i64 {
    let rest = location
        .split(prefix)
        .nth(1)
        .unwrap_or_else(|| panic!("{location} has no {prefix}"));
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// `application/x-www-form-urlencoded`.
pub fn form_urlencoded(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The default configuration without the anti-spam rules, which would refuse the quick
/// successive posts of most tests (the anti-spam tests set the rules they test).
pub fn config() -> Config {
    Config {
        spam: forum::config::SpamRules::off(),
        ..Config::default()
    }
}
