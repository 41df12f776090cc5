//! Traffic that behaves like forum users, through nginx: browsing, registering, logging in,
//! starting threads, replying, voting, some failed logins, and now and then a burst of failed
//! admin logins. [`ForumClient`] is one browser (cookies, CSRF tokens, no redirect following, so
//! every call is exactly one request in nginx's log); [`run`] drives many for the demo.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use rand::Rng as _;
use rand::seq::SliceRandom as _;
use regex::Regex;

/// One browser session against the forum.
#[derive(Debug, Clone)]
pub struct ForumClient {
    base: String,
    http: reqwest::Client,
    /// Requests made so far (each is one line in nginx's access log).
    pub requests: Arc<AtomicU64>,
}

/// What a response said.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
    /// `Location`, if any.
    pub location: Option<String>,
}

impl ForumClient {
    /// A new browser for the forum at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> ForumClient {
        ForumClient::build(base, None)
    }

    /// A browser whose connections leave from `local` (another loopback address such as
    /// `127.0.0.2`: nginx then logs it as the client's `$remote_addr`).
    pub fn bound(base: &str, local: std::net::IpAddr) -> ForumClient {
        ForumClient::build(base, Some(local))
    }

    /// A browser that connects from `address` when one is given (a loopback address such as
    /// `127.0.0.7`: the forum behind nginx tells clients apart by it).
    pub fn from_address(base: &str, address: Option<std::net::IpAddr>) -> ForumClient {
        ForumClient::build(base, address)
    }

    fn build(base: &str, local: Option<std::net::IpAddr>) -> ForumClient {
        let http = reqwest::Client::builder()
            .local_address(local)
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent("forum-traffic/1.0")
            .build()
            .expect("HTTP client");
        ForumClient {
            base: base.trim_end_matches('/').to_string(),
            http,
            requests: Arc::default(),
        }
    }

    async fn finish(&self, res: reqwest::Response) -> anyhow::Result<Reply> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = res.text().await.unwrap_or_default();
        Ok(Reply {
            status,
            body,
            location,
        })
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<Reply> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        self.finish(res).await
    }

    /// `POST path` with a form, after reading the CSRF token from `form_page` (one GET, then the
    /// POST: two requests).
    pub async fn post_form(
        &self,
        form_page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        let page = self.get(form_page).await?;
        let csrf = csrf_token(&page.body)
            .with_context(|| format!("no CSRF token on {form_page} ({})", page.status))?;
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        self.finish(res).await
    }

    /// Registers `username` (303 on success) as a person would: the form is sent a few
    /// seconds after it was shown (the forum refuses forms sent faster), with its time stamp
    /// and the hidden field left empty.
    pub async fn register(&self, username: &str, password: &str) -> anyhow::Result<Reply> {
        let email = format!("{username}@example.invalid");
        let page = self.get("/register").await?;
        let csrf = csrf_token(&page.body)
            .with_context(|| format!("no CSRF token on /register ({})", page.status))?;
        let stamp = hidden_field(&page.body, "stamp").unwrap_or_default();
        tokio::time::sleep(REGISTRATION_FILL_TIME).await;
        let form = [
            ("csrf", csrf.as_str()),
            ("stamp", &stamp),
            ("website", ""),
            ("username", username),
            ("email", &email),
            ("password", password),
        ];
        let res = self
            .http
            .post(format!("{}/register", self.base))
            .form(&form)
            .send()
            .await
            .context("POST /register")?;
        self.finish(res).await
    }

    /// Asks for a password reset link for `email` through the JSON API (202 whatever the
    /// address): the forum mails the link.
    pub async fn request_password_reset(&self, email: &str) -> anyhow::Result<Reply> {
        let res = self
            .http
            .post(format!("{}/api/auth/password-reset", self.base))
            .json(&serde_json::json!({ "email": email }))
            .send()
            .await
            .context("POST /api/auth/password-reset")?;
        self.finish(res).await
    }

    /// Logs in (303 on success, 401 on a wrong password).
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<Reply> {
        self.post_form(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Logs in to the admin panel (401 on a wrong password).
    pub async fn admin_login(&self, username: &str, password: &str) -> anyhow::Result<Reply> {
        self.post_form(
            "/admin/login",
            "/admin/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Starts a thread in category `category` (303 to the thread on success).
    pub async fn new_thread(
        &self,
        category: i64,
        title: &str,
        body: &str,
    ) -> anyhow::Result<Reply> {
        let page = format!("/c/{category}/new");
        self.post_form(&page, &page, &[("title", title), ("body", body)])
            .await
    }

    /// Replies to thread `thread` (303 on success).
    pub async fn reply(&self, thread: i64, body: &str) -> anyhow::Result<Reply> {
        self.post_form(
            &format!("/t/{thread}/"),
            &format!("/t/{thread}/reply"),
            &[("body", body)],
        )
        .await
    }
}

/// How long [`ForumClient::register`] takes to fill the form in (the forum's least is 3 s).
pub const REGISTRATION_FILL_TIME: Duration = Duration::from_millis(3500);

/// The value of the hidden field `name` of a page's form.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let re = Regex::new(&format!(
        r#"type="hidden" name="{}" value="([^"]*)""#,
        regex::escape(name)
    ))
    .expect("regex");
    re.captures(html).map(|c| c[1].to_string())
}

/// A random loopback address other than `127.0.0.1`, where a newcomer's browser comes from:
/// the generator's failed logins are charged to addresses that are not theirs, so the forum's
/// per-address limits never refuse them.
pub fn generator_address() -> IpAddr {
    let mut rng = rand::thread_rng();
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        rng.gen_range(1..=254),
        rng.gen_range(2..=254),
    ))
}

/// The least time between two posts of the generator's member (the forum's flood control
/// refuses posts closer than 3 s).
const POST_INTERVAL: Duration = Duration::from_secs(4);

/// The CSRF token of the first form on a page.
pub fn csrf_token(html: &str) -> Option<String> {
    let re = Regex::new(r#"name="csrf" value="([0-9a-fA-F]+)""#).expect("regex");
    re.captures(html).map(|c| c[1].to_string())
}

/// The ids of the links `/<kind>/<id>/` on a page (`kind` is `c` or `t`).
pub fn ids(html: &str, kind: &str) -> Vec<i64> {
    let re = Regex::new(&format!(r#"href="/{kind}/(\d+)/"#)).expect("regex");
    let mut ids: Vec<i64> = re
        .captures_iter(html)
        .filter_map(|c| c[1].parse().ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A random element (the generator is not held across an await).
fn pick(ids: &[i64]) -> Option<i64> {
    ids.choose(&mut rand::thread_rng()).copied()
}

/// Counters of what [`run`] did, for the demo's summary.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests made.
    pub requests: AtomicU64,
    /// Failed admin logins made.
    pub failed_admin_logins: AtomicU64,
    /// Threads started.
    pub threads: AtomicU64,
    /// Errors (network errors or 5xx).
    pub errors: AtomicU64,
}

/// Drives traffic until cancelled: a few requests a second of browsing and posting, a failed
/// user login now and then, and every `burst_every` a burst of 8 failed admin logins (the
/// headline alert). Sleeps between actions, so it never floods the machine. Every request
/// comes from a loopback address other than `127.0.0.1` ([`generator_address`]), so the
/// admin whose password the demo prints always logs in from a browser.
pub async fn run(
    base: String,
    admin_password: String,
    stats: Option<Arc<Stats>>,
) -> anyhow::Result<()> {
    let stats = stats.unwrap_or_default();
    let burst_every = Duration::from_secs(180);
    let mut last_burst = tokio::time::Instant::now() - burst_every + Duration::from_secs(45);
    let password = format!("pw-{:08x}-demo", rand::random::<u32>());
    let member = ForumClient::from_address(&base, Some(generator_address()));
    let mut last_post = tokio::time::Instant::now();
    let name = format!("demo{:06}", rand::random::<u32>() % 1_000_000);
    let _ = member.register(&name, &password).await;
    let _ = member.login(&name, &password).await;
    // Now and then the member forgets their password: the forum mails a reset link (the demo
    // prints each mail the SMTP catcher gets).
    let reset_every = Duration::from_secs(300);
    let mut last_reset = tokio::time::Instant::now() - reset_every + Duration::from_secs(20);
    let mut n: u64 = 0;
    loop {
        n += 1;
        let mut action: u32 = rand::thread_rng().gen_range(0..100);
        if (80..=95).contains(&action) {
            if last_post.elapsed() < POST_INTERVAL {
                action = 0;
            } else {
                last_post = tokio::time::Instant::now();
            }
        }
        if last_reset.elapsed() >= reset_every {
            last_reset = tokio::time::Instant::now();
            let _ = member
                .request_password_reset(&format!("{name}@example.invalid"))
                .await;
        }
        let result = async {
            let visitor = ForumClient::from_address(&base, Some(generator_address()));
            let index = visitor.get("/").await?;
            let threads = ids(&index.body, "t");
            let categories = ids(&index.body, "c");
            match action {
                0..=49 => {
                    if let Some(t) = pick(&threads) {
                        visitor.get(&format!("/t/{t}/")).await?;
                    }
                }
                50..=69 => {
                    if let Some(c) = pick(&categories) {
                        visitor.get(&format!("/c/{c}/")).await?;
                    }
                    visitor.get("/api/threads/").await?;
                }
                70..=79 => {
                    visitor.get("/search?q=forum").await?;
                }
                80..=89 => {
                    if let Some(t) = pick(&threads) {
                        member
                            .reply(t, &format!("Reply number {n} from the traffic generator."))
                            .await?;
                    }
                }
                90..=95 => {
                    if let Some(c) = pick(&categories) {
                        let r = member
                            .new_thread(
                                c,
                                &format!("Demo thread {n}"),
                                "Started by the traffic generator.",
                            )
                            .await?;
                        if r.status == 303 {
                            stats.threads.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                _ => {
                    visitor.login(&name, "not-the-password").await?;
                }
            }
            stats
                .requests
                .fetch_add(visitor.requests.load(Ordering::Relaxed), Ordering::Relaxed);
            anyhow::Ok(())
        }
        .await;
        if result.is_err() {
            stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        if last_burst.elapsed() >= burst_every {
            last_burst = tokio::time::Instant::now();
            // One address per burst, never a newcomer's: the admin's account is only slowed
            // (a bounded delay), and the address that failed is the only one refused.
            let attacker = ForumClient::from_address(&base, Some(generator_address()));
            for i in 0..8 {
                if attacker
                    .admin_login("admin", &format!("guess-{i}"))
                    .await
                    .is_ok()
                {
                    stats.failed_admin_logins.fetch_add(1, Ordering::Relaxed);
                }
            }
            // The real password works too, so the admin panel shows up in the logs.
            let _ = attacker.admin_login("admin", &admin_password).await;
        }
        let pause = rand::thread_rng().gen_range(100..400);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_addresses_are_loopback_but_never_a_newcomers() {
        for _ in 0..1000 {
            let ip = generator_address();
            assert!(ip.is_loopback(), "{ip}");
            assert_ne!(ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
    }

    #[test]
    fn csrf_and_ids_are_read_from_pages() {
        let html = r#"<a href="/t/12/">x</a><a href="/c/3/">c</a><a href="/t/12/">again</a><a href="/t/7/">y</a>
<form><input type="hidden" name="csrf" value="abc123"></form>"#;
        assert_eq!(csrf_token(html).as_deref(), Some("abc123"));
        assert_eq!(hidden_field(html, "csrf").as_deref(), Some("abc123"));
        assert_eq!(hidden_field(html, "stamp"), None);
        assert_eq!(ids(html, "t"), vec![7, 12]);
        assert_eq!(ids(html, "c"), vec![3]);
        assert_eq!(csrf_token("<p>no form</p>"), None);
    }
}
