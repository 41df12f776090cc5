//! The chain from a forum request to a Discord message, on the real stack: PostgreSQL (the
//! stack's own cluster), the forum behind real nginx, both exporters, real Prometheus with the
//! repository's rules, real Alertmanager with the repository's routing, the relay, and the
//! strict Discord double. Then every dashboard query runs against that Prometheus. Last, the
//! watchers: the Watchdog reaches the heartbeat receiver, and with the relay and nginx
//! stopped, the alert about the relay reaches a second Discord webhook that Alertmanager
//! posts to itself, and the blackbox probe alert fires.

use std::sync::atomic::Ordering;
use std::time::Duration;

use stack::config::{Bypass, Ports, Timing, repo_root};
use stack::stack::{Discord, Stack, StackConfig};
use stack::supervisor::group_alive;
use stack::traffic::{ForumClient, ids};
use testkit::discord::DiscordDouble;

/// Where cargo put this test's sibling binaries (`target/<profile>`).
fn bin_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .to_path_buf()
}

/// Sum of every sample of `name` whose labels include all of `labels`, from a text exposition.
fn sum_samples(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(url: &str) -> String {
    reqwest::get(url)
        .await
        .expect("scrape")
        .text()
        .await
        .expect("scrape body")
}

/// Polls `check` every 250 ms until it returns true; panics with `what` after `timeout`.
async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                diagnostics().await
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The stack's Prometheus, for failure messages.
static PROMETHEUS: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// What Prometheus knows of alerts, the 5xx ratio and targets, for a failure message.
async fn diagnostics() -> String {
    let Some(prom) = PROMETHEUS.get() else {
        return String::new();
    };
    let mut out = String::from("Prometheus says:\n");
    for q in [
        "ALERTS",
        "instance:nginx_http_5xx:ratio_rate5m",
        "instance:nginx_http_requests:rate5m",
        "up",
        "forum_jobs_total",
        "probe_success",
        "scrape_duration_seconds",
    ] {
        let url = format!("{prom}/api/v1/query");
        let body = match reqwest::Client::new()
            .get(url)
            .query(&[("query", q)])
            .send()
            .await
        {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => e.to_string(),
        };
        out.push_str(&format!("  {q}: {body}\n"));
    }
    out
}

/// Every message the double accepted, as one lowercase string each.
fn discord_texts(discord: &DiscordDouble) -> Vec<String> {
    discord
        .messages()
        .iter()
        .map(|m| m.to_string().to_lowercase())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_request_becomes_a_discord_message() {
    let discord = DiscordDouble::start().await;
    // The second, independent receiver of alerts about the alerting path: another webhook,
    // which Alertmanager posts to with its own Discord integration.
    let second = DiscordDouble::start().await;
    // E2E_KEEP=1 keeps the stack's directory (configs, data, every process's log) to look at.
    let keep = std::env::var_os("E2E_KEEP").is_some();
    let dir = tempfile::Builder::new()
        .prefix("stack-e2e-")
        .disable_cleanup(keep)
        .tempdir()
        .expect("tempdir");
    if keep {
        eprintln!("e2e: keeping {}", dir.path().display());
    }
    let ports = Ports::random();
    let config = StackConfig {
        repo: repo_root(),
        dir: dir.path().join("stack"),
        bin_dir: bin_dir(),
        ports,
        timing: Timing {
            // 2 s rather than 1 s: a loaded CI machine must not time scrapes out.
            interval: "2s",
            alert_grouping: Some(("1s", "5s")),
        },
        seed: (5, 10, 40),
        discord: Some(Discord {
            api_url: discord.api_url(),
            webhook_url: discord.webhook_url(),
        }),
        bypass: Bypass {
            heartbeat_url: None,
            alerting_path_webhook: Some(second.webhook_url()),
        },
        admin_password: "e2e-admin-password".into(),
        grafana: false,
    };
    let mut stack = Stack::start(config, &|step| eprintln!("stack: {step}"))
        .await
        .expect("the stack starts");
    PROMETHEUS.get_or_init(|| stack.prometheus_url());
    let nginx_metrics = format!("http://127.0.0.1:{}/metrics", ports.nginx_exporter);
    let pg_metrics = format!("http://127.0.0.1:{}/metrics", ports.pg_exporter);

    // 1. Browse and post through nginx: the exporter counts exactly the requests made.
    let requests = |text: &str| sum_samples(text, "nginx_http_requests_total", &[]);
    let mut before = requests(&scrape(&nginx_metrics).await);
    // Settle: the stack's own readiness probe may still be on its way through the tailer.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = requests(&scrape(&nginx_metrics).await);
    assert_eq!(before, settled, "nothing else sends requests through nginx");
    before = settled;
    let threads_before = sum_samples(
        &scrape(&nginx_metrics).await,
        "nginx_events_total",
        &[("event", "thread_created")],
    );

    let user = ForumClient::new(&stack.forum_url());
    assert_eq!(
        user.register("e2e_user", "a long e2e password")
            .await
            .unwrap()
            .status,
        303
    );
    assert_eq!(
        user.login("e2e_user", "a long e2e password")
            .await
            .unwrap()
            .status,
        303
    );
    let index = user.get("/").await.unwrap();
    assert_eq!(index.status, 200);
    let category = *ids(&index.body, "c")
        .first()
        .expect("the index links a category");
    let mut thread = 0;
    // The forum's flood control refuses a member's posts closer than 3 s.
    let post_interval = Duration::from_millis(3100);
    for i in 0..3 {
        if i > 0 {
            tokio::time::sleep(post_interval).await;
        }
        let r = user
            .new_thread(
                category,
                &format!("End-to-end thread {i}"),
                "Posted through nginx.",
            )
            .await
            .unwrap();
        assert_eq!(r.status, 303, "thread creation redirects: {}", r.body);
        thread = r
            .location
            .as_deref()
            .and_then(|l| l.trim_matches('/').rsplit('/').next()?.parse().ok())
            .unwrap_or(thread);
    }
    assert!(thread > 0, "the redirect names the new thread");
    for i in 0..5 {
        tokio::time::sleep(post_interval).await;
        assert_eq!(
            user.reply(thread, &format!("Reply {i}"))
                .await
                .unwrap()
                .status,
            303
        );
    }
    assert_eq!(user.get("/api/threads/").await.unwrap().status, 200);
    // A forgotten password: the worker mails the link through the stack's SMTP server.
    assert_eq!(
        user.request_password_reset("e2e_user@example.invalid")
            .await
            .unwrap()
            .status,
        202
    );
    let made = user.requests.load(Ordering::Relaxed) as f64;
    wait_for(
        "the exporter to count every request",
        Duration::from_secs(10),
        || async { requests(&scrape(&nginx_metrics).await) == before + made },
    )
    .await;
    let events = scrape(&nginx_metrics).await;
    assert_eq!(
        sum_samples(
            &events,
            "nginx_events_total",
            &[("event", "thread_created")]
        ),
        threads_before + 3.0
    );

    let mail_dir = stack.mail_dir();
    let mut reset_mail = None;
    wait_for(
        "the password reset mail at the SMTP catcher",
        Duration::from_secs(30),
        || {
            let found = testkit::smtp::read_mails(&mail_dir)
                .into_iter()
                .find(|m| m.rcpt_tos == ["e2e_user@example.invalid"]);
            let done = found.is_some();
            if found.is_some() {
                reset_mail = found;
            }
            async move { done }
        },
    )
    .await;
    let reset_mail = reset_mail.expect("the mail");
    // The mails hold single-use links: only their owner may read the directory.
    assert_eq!(stack::secrets::mode(&mail_dir).unwrap(), 0o700);
    let text = reset_mail.text.clone().unwrap_or_default();
    let link_prefix = format!("{}/password-reset/", stack.forum_url());
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&link_prefix))
        .unwrap_or_else(|| panic!("no {link_prefix} link in the mail:\n{text}"))
        .to_string();
    let page = ForumClient::new(&stack.forum_url());
    let path = link.trim_start_matches(&stack.forum_url()).to_string();
    assert_eq!(page.get(&path).await.unwrap().status, 200, "{link} opens");

    // Passwords: scram-sha-256 for every connection to the stack's PostgreSQL (no `trust`),
    // and every file of the stack that holds a secret is readable by its owner only.
    let hba = std::fs::read_to_string(stack.postgres.hba_file()).expect("pg_hba.conf");
    let rules: Vec<&str> = hba
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(!rules.is_empty(), "pg_hba.conf has rules");
    for rule in &rules {
        assert!(
            rule.ends_with("scram-sha-256"),
            "every pg_hba.conf rule asks for scram-sha-256: {rule}"
        );
    }
    for url in [
        stack.postgres.url_without_password("forum", "forum"),
        format!("postgres://forum:wrong@127.0.0.1:{}/forum", ports.postgres),
    ] {
        let refused = tokio_postgres::connect(&url, tokio_postgres::NoTls).await;
        let err = refused
            .err()
            .expect("PostgreSQL refuses a missing or wrong password");
        assert!(
            format!("{err:?}").contains("password"),
            "refused for its password: {err:?}"
        );
    }
    let mut secrets: Vec<String> = vec![
        stack.config.admin_password.clone(),
        stack.relay_token.clone(),
        stack.probe_password.clone(),
        discord.webhook_url(),
        second.webhook_url(),
    ];
    secrets.extend(stack.postgres.passwords().into_iter().map(str::to_string));
    let holders = secret_holders(&stack.config.dir, &secrets);
    for name in [
        "admin-password",
        "relay-token",
        "probe-password",
        "pg-superuser-password",
        "pgpass",
        "alertmanager/alertmanager.yml",
    ] {
        let path = stack.config.dir.join(name);
        assert!(holders.contains(&path), "{name} holds a secret");
    }
    for path in &holders {
        let mode = stack::secrets::mode(path).unwrap();
        assert_eq!(
            mode,
            0o600,
            "{} holds a secret and is {mode:o}, not 600",
            path.display()
        );
    }

    // 2. The PostgreSQL exporter's forum counts equal what SQL says.
    let db = testkit::connect(&stack.postgres.url("forum")).await;
    for (metric, sql) in [
        ("forum_users", "SELECT count(*) FROM users"),
        ("forum_threads", "SELECT count(*) FROM threads"),
        ("forum_posts", "SELECT count(*) FROM posts"),
    ] {
        let expected: i64 = db.query_one(sql, &[]).await.unwrap().get(0);
        wait_for(
            &format!("{metric} == {expected}"),
            Duration::from_secs(15),
            || async { sum_samples(&scrape(&pg_metrics).await, metric, &[]) == expected as f64 },
        )
        .await;
    }

    // From here on the blackbox exporter probes the forum through nginx (requests the counts
    // above must not see).
    stack
        .start_prober()
        .await
        .expect("the blackbox exporter starts");
    let bb_conf = stack.config.dir.join("blackbox/blackbox.yml");
    assert_eq!(
        secret_holders(
            &stack.config.dir.join("blackbox"),
            &[stack.probe_password.clone()]
        ),
        vec![bb_conf.clone()]
    );
    assert_eq!(stack::secrets::mode(&bb_conf).unwrap(), 0o600);

    // 3. Failed admin logins through nginx from two addresses: 127.0.0.2 six times, 127.0.0.3
    // twice. Prometheus is held while they are made (and the exporter reads them), so that
    // its first look sees the whole burst: a burst spread over two scrapes fires on the
    // first with part of its sources, and the alert keeps the description it fired with.
    let forum_url = stack.forum_url();
    let from = |ip: &str| ForumClient::bound(&forum_url, ip.parse().expect("an address"));
    let (two, three) = (from("127.0.0.2"), from("127.0.0.3"));
    stack
        .sup
        .pause("prometheus", true)
        .expect("Prometheus is held");
    let mut statuses = Vec::new();
    for (attacker, tries) in [(&two, 6), (&three, 2)] {
        for i in 0..tries {
            let r = attacker.admin_login("admin", &format!("guess-{i}")).await;
            statuses.push(r.map(|r| r.status).map_err(|e| format!("{e:#}")));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stack
        .sup
        .pause("prometheus", false)
        .expect("Prometheus resumes");
    assert_eq!(
        statuses,
        vec![Ok(401); 8],
        "each failed admin login answers 401"
    );
    wait_for(
        "one failed-admin-login alert in Discord naming both sources with their counts",
        Duration::from_secs(90),
        || async {
            discord_texts(&discord).iter().any(|m| {
                m.contains("[firing:1] forumfailedadminloginsburst")
                    && m.contains("failed admin logins")
                    && m.contains("127.0.0.2 6 times")
                    && m.contains("127.0.0.3 2 times")
            })
        },
    )
    .await;
    // The same alert for guesses at the admin account through the login page: the forum
    // counts failed logins by door and by the role of the account tried.
    let guesser = from("127.0.0.4");
    stack
        .sup
        .pause("prometheus", true)
        .expect("Prometheus is held");
    let mut statuses = Vec::new();
    for i in 0..6 {
        let r = guesser.login("admin", &format!("page-guess-{i}")).await;
        statuses.push(r.map(|r| r.status).map_err(|e| format!("{e:#}")));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stack
        .sup
        .pause("prometheus", false)
        .expect("Prometheus resumes");
    assert_eq!(statuses, vec![Ok(401); 6], "each failed login answers 401");
    wait_for(
        "the failed-admin-login alert for the login page in Discord",
        Duration::from_secs(90),
        || async {
            discord_texts(&discord).iter().any(|m| {
                m.contains("failed logins against administrator accounts")
                    && m.contains("127.0.0.4 6 times")
            })
        },
    )
    .await;

    // 4. Cut the forum off its database (the exporter keeps its own role): the forum answers
    // 5xx, nothing inhibits the 5xx alert, and it must arrive too.
    db.batch_execute(
        "ALTER ROLE forum NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'forum'",
    )
    .await
    .unwrap();
    // Spread over 20 s, as real failures are: a counter series born with all its errors
    // already counted has no increase for rate() to see.
    let visitor = ForumClient::new(&stack.forum_url());
    let mut errors = 0;
    for _ in 0..100 {
        let r = visitor.get(&format!("/t/{thread}/")).await.unwrap();
        errors += usize::from(r.status >= 500);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        errors >= 90,
        "the forum answers 5xx without its database ({errors} of 100)"
    );

    wait_for(
        "the 5xx alert in Discord",
        Duration::from_secs(240),
        || async {
            discord_texts(&discord)
                .iter()
                .any(|m| m.contains("nginxhigh5xxratio") || m.contains("5xx"))
        },
    )
    .await;
    db.batch_execute("ALTER ROLE forum LOGIN").await.unwrap();
    // The forum and its worker recover by themselves once the database lets them in again:
    // no job stays queued, and Prometheus keeps reading the worker's job counters (every kind
    // and outcome exists from the worker's start, at 0 until a job runs).
    wait_for(
        "the forum to answer again",
        Duration::from_secs(30),
        || async {
            visitor
                .get(&format!("/t/{thread}/"))
                .await
                .is_ok_and(|r| r.status == 200)
        },
    )
    .await;
    wait_for(
        "the worker to run the queued jobs",
        Duration::from_secs(30),
        || async {
            let queued: i64 = db
                .query_one("SELECT count(*) FROM jobs WHERE status = 'queued'", &[])
                .await
                .unwrap()
                .get(0);
            queued == 0
        },
    )
    .await;
    wait_for(
        "Prometheus to see two samples of the worker's job counter",
        Duration::from_secs(30),
        || async {
            prometheus_has(
                &stack.prometheus_url(),
                "count_over_time(forum_jobs_total[1m]) >= 2",
            )
            .await
        },
    )
    .await;
    wait_for(
        "the failed-admin-login resolution in Discord",
        Duration::from_secs(240),
        || async {
            discord_texts(&discord)
                .iter()
                .any(|m| m.contains("failed admin logins") && m.contains("resolved"))
        },
    )
    .await;

    // 5. Every panel and template variable of every dashboard, against this live Prometheus.
    let failures = dashboard_failures(&stack.prometheus_url()).await;
    if !failures.is_empty() {
        panic!(
            "dashboard queries that failed or returned nothing:\n{}\n{}",
            failures.join("\n"),
            diagnostics().await
        );
    }

    // 6. Watch the watchers. The Watchdog is in Alertmanager, routed to the heartbeat.
    let alertmanager = format!("http://127.0.0.1:{}", ports.alertmanager);
    wait_for(
        "the Watchdog in Alertmanager, for the heartbeat receiver",
        Duration::from_secs(30),
        || async {
            alert_receivers(&alertmanager, "Watchdog")
                .await
                .iter()
                .any(|r| r == "heartbeat")
        },
    )
    .await;
    // Every probe succeeds before nginx goes.
    wait_for(
        "all three probes to succeed",
        Duration::from_secs(60),
        || async {
            prometheus_has(
                &stack.prometheus_url(),
                r#"count(probe_success{job="blackbox"} == 1) == 3"#,
            )
            .await
                && !prometheus_has(
                    &stack.prometheus_url(),
                    r#"ALERTS{alertname="ForumProbeFailed"}"#,
                )
                .await
        },
    )
    .await;
    // The login probe is a real round trip: with the probe account's password changed under
    // it, the probe fails (401); with the password back, it succeeds again.
    let blackbox = format!("http://127.0.0.1:{}", ports.blackbox);
    let login_url = format!("{}/api/auth/login", stack.forum_url());
    let probe = || probe_login(&blackbox, &login_url);
    let failed_logins = || async {
        sum_samples(
            &scrape(&nginx_metrics).await,
            "nginx_events_total",
            &[("event", "failed_login")],
        )
    };
    let failed_before = failed_logins().await;
    for _ in 0..3 {
        let text = probe().await;
        assert!(
            text.contains("\nprobe_success 1") && text.contains("\nprobe_http_status_code 200"),
            "the login probe succeeds with the probe account's password:\n{text}"
        );
    }
    // The probe's logins are no failed logins (the exporter has read them by now).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        failed_logins().await,
        failed_before,
        "the probe's successful logins count as failed logins"
    );
    let other = "another-probe-password";
    set_password(&stack.forum_url(), &stack.probe_password, other).await;
    let text = probe().await;
    assert!(
        text.contains("\nprobe_success 0") && text.contains("\nprobe_http_status_code 401"),
        "the login probe fails once the password is not the account's:\n{text}"
    );
    // ... and that one is a failed login, counted as such.
    wait_for(
        "the exporter to count the probe's failed login",
        Duration::from_secs(10),
        || async { failed_logins().await > failed_before },
    )
    .await;
    set_password(&stack.forum_url(), other, &stack.probe_password).await;
    let text = probe().await;
    assert!(
        text.contains("\nprobe_success 1"),
        "the login probe succeeds again:\n{text}"
    );

    // Stop the relay and nginx: the alert about the relay must reach the second receiver
    // (the relay cannot deliver it), and the probes must fail into their alert.
    let pids = stack.sup.pids();
    assert!(pids.len() >= 10, "all components ran: {pids:?}");
    stack.sup.stop("alert-relay");
    stack.sup.stop("nginx");
    wait_for(
        "AlertRelayDown at the second Discord webhook",
        Duration::from_secs(180),
        || async {
            discord_texts(&second)
                .iter()
                .any(|m| m.contains("alertrelaydown"))
        },
    )
    .await;
    assert!(
        !discord_texts(&discord)
            .iter()
            .any(|m| m.contains("alertrelaydown")),
        "the stopped relay cannot have delivered its own down alert"
    );
    wait_for(
        "ForumProbeFailed and NginxDown firing with nginx stopped",
        Duration::from_secs(180),
        || async {
            let prom = stack.prometheus_url();
            prometheus_has(
                &prom,
                r#"ALERTS{alertname="ForumProbeFailed",alertstate="firing",module="http_front_page"}"#,
            )
            .await
                && prometheus_has(
                    &prom,
                    r#"ALERTS{alertname="NginxDown",alertstate="firing"}"#,
                )
                .await
        },
    )
    .await;

    // 7. Stop everything: no process may be left.
    stack.stop();
    for (name, pid) in pids {
        assert!(!group_alive(pid), "{name} (pid {pid}) is still running");
    }
}

/// Every file under `dir` (not PostgreSQL's data directory, which holds no password) that
/// contains one of `secrets`, sorted.
fn secret_holders(dir: &std::path::Path, secrets: &[String]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("read the stack's directory")
            .flatten()
        {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && entry.file_name() != "pgdata" {
                todo.push(path);
            } else if kind.is_file() {
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&bytes);
                if secrets.iter().any(|s| text.contains(s.as_str())) {
                    found.push(path);
                }
            }
        }
    }
    found.sort();
    found
}

/// The blackbox exporter's answer to one `http_login` probe of `target`.
async fn probe_login(blackbox: &str, target: &str) -> String {
    reqwest::Client::new()
        .get(format!("{blackbox}/probe"))
        .query(&[("module", "http_login"), ("target", target)])
        .send()
        .await
        .expect("the blackbox exporter answers")
        .text()
        .await
        .expect("a probe body")
}

/// Logs the probe account in through nginx and changes its password from `from` to `to`.
async fn set_password(forum: &str, from: &str, to: &str) {
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{forum}/api/auth/login"))
        .json(&serde_json::json!({ "username": stack::config::PROBE_USERNAME, "password": from }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("a login answer");
    let token = login["token"].as_str().expect("a session token");
    let res = client
        .post(format!("{forum}/api/me/password"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "current": from, "new": to }))
        .send()
        .await
        .expect("change password");
    assert_eq!(res.status(), 204, "the password changes");
}

/// The receivers Alertmanager routed the alerts named `name` to (empty when there is none).
async fn alert_receivers(alertmanager: &str, name: &str) -> Vec<String> {
    let Ok(res) = reqwest::Client::new()
        .get(format!("{alertmanager}/api/v2/alerts"))
        .query(&[("filter", format!("alertname=\"{name}\""))])
        .send()
        .await
    else {
        return Vec::new();
    };
    let alerts: serde_json::Value = res.json().await.unwrap_or_default();
    alerts
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["receivers"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect()
}

/// Whether `expr` returns at least one series now.
async fn prometheus_has(prometheus: &str, expr: &str) -> bool {
    let Ok(res) = reqwest::Client::new()
        .get(format!("{prometheus}/api/v1/query"))
        .query(&[("query", expr)])
        .send()
        .await
    else {
        return false;
    };
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    body["data"]["result"]
        .as_array()
        .is_some_and(|r| !r.is_empty())
}

/// Runs every dashboard query (`dashboards/queries.py --list`) against Prometheus; returns one
/// line per query that is not valid PromQL or returns no series, naming dashboard and panel.
async fn dashboard_failures(prometheus: &str) -> Vec<String> {
    let out = std::process::Command::new("python3")
        .arg(repo_root().join("dashboards/queries.py"))
        .args(["--list", "--rate-interval", "1m"])
        .output()
        .expect("python3 runs dashboards/queries.py");
    assert!(
        out.status.success(),
        "queries.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).unwrap();
    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in listing.lines() {
        let mut cols = line.splitn(3, '\t');
        let (Some(uid), Some(panel), Some(expr)) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        count += 1;
        let res: serde_json::Value = client
            .get(format!("{prometheus}/api/v1/query"))
            .query(&[("query", expr)])
            .send()
            .await
            .expect("query Prometheus")
            .json()
            .await
            .expect("Prometheus answers JSON");
        if res["status"] != "success" {
            failures.push(format!("{uid} / {panel}: {} ({expr})", res["error"]));
        } else if res["data"]["result"]
            .as_array()
            .is_none_or(|r| r.is_empty())
        {
            failures.push(format!("{uid} / {panel}: no data ({expr})"));
        }
    }
    assert!(count > 50, "queries.py listed only {count} queries");
    failures
}
