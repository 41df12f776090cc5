//! The whole suite on loopback: PostgreSQL, the forum (web, api, worker), nginx, both
//! exporters, the alert relay, Alertmanager and Prometheus, started in dependency order by one
//! [`Supervisor`] and stopped together; then the blackbox exporter probing the forum through
//! nginx ([`Stack::start_prober`], separate so a test can count requests before probes begin).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::{self, Bypass, Ports, Timing};
use crate::postgres::Cluster;
use crate::side;
use crate::supervisor::Supervisor;

/// What to start and how.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The repository (for `monitoring/` and `dashboards/`).
    pub repo: PathBuf,
    /// Where every file of the stack lives (data, logs, configs).
    pub dir: PathBuf,
    /// Where the workspace's binaries are (`target/debug` or `target/release`).
    pub bin_dir: PathBuf,
    /// The ports.
    pub ports: Ports,
    /// Intervals of Prometheus and Alertmanager.
    pub timing: Timing,
    /// Demo data to seed: users, threads, posts.
    pub seed: (u32, u32, u32),
    /// Where the relay sends: a Discord API base URL and a webhook URL, or None for the log sink.
    pub discord: Option<Discord>,
    /// Where Alertmanager's heartbeat and alerting-path receivers send (not through the relay).
    pub bypass: Bypass,
    /// Password of the forum's first administrator (`admin`, also Grafana's admin).
    pub admin_password: String,
    /// Start Grafana with the provisioned dashboards if `grafana-server` is installed.
    pub grafana: bool,
}

/// The relay's Discord side.
#[derive(Debug, Clone)]
pub struct Discord {
    /// API base, e.g. `https://discord.com/api/v10` or a local double.
    pub api_url: String,
    /// Execute-webhook URL (its token is a secret: never logged here).
    pub webhook_url: String,
}

/// A running stack. Dropping it stops every process.
#[derive(Debug)]
pub struct Stack {
    /// The processes.
    pub sup: Supervisor,
    /// The configuration it was started with.
    pub config: StackConfig,
    /// The stack's PostgreSQL cluster.
    pub postgres: Cluster,
    /// The bearer token Alertmanager uses towards the relay.
    pub relay_token: String,
    /// The password of the probe account ([`config::PROBE_USERNAME`]) the blackbox exporter
    /// logs in with.
    pub probe_password: String,
}

impl StackConfig {
    /// What Grafana needs of this configuration.
    fn grafana_settings(&self) -> side::GrafanaSettings<'_> {
        side::GrafanaSettings {
            port: self.ports.grafana,
            prometheus_port: self.ports.prometheus,
            repo: &self.repo,
            admin_password: &self.admin_password,
        }
    }
}

/// Finds a workspace binary in `bin_dir`, or says how to build it.
pub fn binary(bin_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir.join(name);
    anyhow::ensure!(
        path.is_file(),
        "{} not found: build the workspace first (`cargo build --workspace --bins`, which scripts/test and scripts/demo do)",
        path.display()
    );
    Ok(path)
}

impl Stack {
    /// Starts everything, reporting each step through `progress`.
    pub async fn start(config: StackConfig, progress: &dyn Fn(&str)) -> anyhow::Result<Stack> {
        std::fs::create_dir_all(&config.dir)?;
        let dir = config.dir.canonicalize()?;
        let mut sup = Supervisor::new(&dir)?.with_pidfile(dir.join("stack.pids"));
        let ports = config.ports;
        let bin = |name: &str| binary(&config.bin_dir, name);
        let (forum, nginx_exporter, pg_exporter, relay) = (
            bin("forum")?,
            bin("nginx-log-exporter")?,
            bin("pg-exporter")?,
            bin("alert-relay")?,
        );
        let nginx = testkit::require_bin("nginx", "apt-get install -y nginx");
        // Needed by start_prober: missing, fail now rather than after everything started.
        testkit::require_bin(
            "prometheus-blackbox-exporter",
            "apt-get install -y prometheus-blackbox-exporter",
        );
        let prometheus = testkit::require_bin("prometheus", "apt-get install -y prometheus");
        // Debian names the binary prometheus-alertmanager; upstream tarballs, alertmanager.
        let alertmanager = testkit::find_bin("prometheus-alertmanager").unwrap_or_else(|| {
            testkit::require_bin("alertmanager", "apt-get install -y prometheus-alertmanager")
        });

        progress("PostgreSQL: initdb (scram-sha-256, generated passwords) and start");
        let mut postgres = Cluster::init(&dir, ports.postgres, &sup)?;
        postgres.start(&mut sup).await?;
        // Least privilege, as in production: the forum owns its database, the exporter only
        // monitors (pg_monitor) and reads the forum's tables. Each role has its own password.
        postgres.create_role("forum", "").await?;
        postgres
            .create_role("forum_exporter", "IN ROLE pg_monitor")
            .await?;
        let admin = testkit::connect(&postgres.url("postgres")).await;
        admin
            .batch_execute("CREATE DATABASE forum OWNER forum")
            .await
            .context("PostgreSQL: CREATE DATABASE forum")?;
        let db_url = postgres.url_as("forum", "forum");
        let exporter_url = postgres.url_as("forum_exporter", "forum");

        progress("SMTP catcher (aiosmtpd)");
        let mail_dir = dir.join("mail");
        side::start_smtp_catcher(&mut sup, &config.repo, ports.smtp, &mail_dir).await?;

        progress("forum: migrate, seed, static assets, admin user");
        let forum_cmd = |args: &[&str]| {
            let mut c = Command::new(&forum);
            c.args(args)
                .env("DATABASE_URL", &db_url)
                .env("LOG_LEVEL", "info")
                // Links in mails point at the forum through nginx.
                .env(
                    "FORUM_PUBLIC_URL",
                    format!("http://127.0.0.1:{}", ports.nginx),
                );
            c
        };
        sup.run("forum-migrate", forum_cmd(&["migrate"]))?;
        let forum_admin = testkit::connect(&postgres.url("forum")).await;
        forum_admin
            .batch_execute(
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO forum_exporter; \
                 ALTER DEFAULT PRIVILEGES FOR ROLE forum IN SCHEMA public GRANT SELECT ON TABLES TO forum_exporter;",
            )
            .await
            .context("grant forum_exporter read access")?;
        let (users, threads, posts) = config.seed;
        sup.run(
            "forum-seed",
            forum_cmd(&[
                "seed",
                "--users",
                &users.to_string(),
                "--threads",
                &threads.to_string(),
                "--posts",
                &posts.to_string(),
            ]),
        )?;
        let static_dir = dir.join("static");
        let media_dir = dir.join("media");
        std::fs::create_dir_all(&media_dir)?;
        sup.run(
            "forum-static",
            forum_cmd(&["static", &static_dir.display().to_string()]),
        )?;
        let password_file = dir.join("admin-password");
        crate::secrets::write(&password_file, &config.admin_password)?;
        sup.run(
            "forum-admin",
            forum_cmd(&[
                "admin",
                "create",
                "--username",
                "admin",
                "--email",
                "admin@example.invalid",
                "--password-file",
                &password_file.display().to_string(),
            ]),
        )?;

        progress("forum: web and api roles, worker");
        for (role, port) in [("web", ports.forum_web), ("api", ports.forum_api)] {
            let mut c = forum_cmd(&["--role", role, "--listen", &format!("127.0.0.1:{port}")]);
            c.env("FORUM_MEDIA_DIR", &media_dir);
            // Behind nginx: the client is the address nginx appends to X-Forwarded-For.
            c.env("FORUM_TRUST_PROXY", "true")
                .env("FORUM_TRUSTED_PROXIES", "127.0.0.1/32");
            // The admin account is tried through several doors in a row (the end-to-end test,
            // the demo's bursts): past 10 failures an account answers 429, not 401, and the
            // alerts under test count 401s. The limit itself is tested in forum/tests.
            c.env("FORUM_LOGIN_ACCOUNT_LIMIT", "1000");
            sup.spawn(&format!("forum-{role}"), c)?;
        }
        sup.spawn(
            "forum-worker",
            forum_cmd(&[
                "worker",
                "--listen",
                &format!("127.0.0.1:{}", ports.forum_worker),
                "--smtp-url",
                &format!("smtp://127.0.0.1:{}", ports.smtp),
            ]),
        )?;
        for (role, port) in [("web", ports.forum_web), ("api", ports.forum_api)] {
            sup.wait_http(
                &format!("forum-{role}"),
                &format!("http://127.0.0.1:{port}/readyz"),
                Duration::from_secs(30),
            )
            .await?;
        }

        progress("forum: the blackbox probe's account");
        let probe_password = crate::secrets::generate();
        crate::secrets::write(&dir.join("probe-password"), &probe_password)?;
        side::register_probe_account(ports.forum_api, &probe_password).await?;

        progress("nginx");
        let nginx_dir = dir.join("nginx");
        let conf =
            crate::nginx::write_config(&config.repo, &nginx_dir, &ports, &static_dir, &media_dir)?;
        let mut c = Command::new(&nginx);
        c.arg("-p")
            .arg(&nginx_dir)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"]);
        sup.spawn("nginx", c)?;
        sup.wait_http(
            "nginx",
            &format!("http://127.0.0.1:{}/healthz", ports.nginx),
            Duration::from_secs(20),
        )
        .await?;

        progress("exporters");
        let mut c = Command::new(&nginx_exporter);
        c.arg("--log-file")
            .arg(nginx_dir.join("logs/access.log"))
            .args([
                "--nginx.format",
                "forum",
                "--preset",
                "forum",
                "--from-start",
            ])
            .arg("--checkpoint")
            .arg(dir.join("nginx-log-exporter.checkpoint"))
            .args([
                "--web.listen-address",
                &format!("127.0.0.1:{}", ports.nginx_exporter),
            ])
            .args([
                "--nginx.scrape-uri",
                &format!("http://127.0.0.1:{}/nginx_status", ports.nginx),
            ]);
        sup.spawn("nginx-log-exporter", c)?;
        let mut c = Command::new(&pg_exporter);
        c.env("DATA_SOURCE_NAME", &exporter_url).args([
            "--preset",
            "forum",
            "--web.listen-address",
            &format!("127.0.0.1:{}", ports.pg_exporter),
        ]);
        sup.spawn("pg-exporter", c)?;
        sup.wait_http(
            "nginx-log-exporter",
            &format!("http://127.0.0.1:{}/-/ready", ports.nginx_exporter),
            Duration::from_secs(20),
        )
        .await?;
        sup.wait_http(
            "pg-exporter",
            &format!("http://127.0.0.1:{}/-/ready", ports.pg_exporter),
            Duration::from_secs(20),
        )
        .await?;

        progress("alert-relay");
        let relay_token = crate::secrets::generate();
        let token_file = dir.join("relay-token");
        crate::secrets::write(&token_file, &relay_token)?;
        let mut c = Command::new(&relay);
        c.args([
            "--web.listen-address",
            &format!("127.0.0.1:{}", ports.relay),
        ])
        .arg("--web.token-file")
        .arg(&token_file)
        .arg("--storage.path")
        .arg(dir.join("relay-spool"));
        // Without a webhook the relay prints the messages it renders (its `log` sink).
        if let Some(d) = &config.discord {
            c.args(["--discord.api-url", &d.api_url])
                .env("DISCORD_WEBHOOK_URL", &d.webhook_url);
        }
        sup.spawn("alert-relay", c)?;
        sup.wait_http(
            "alert-relay",
            &format!("http://127.0.0.1:{}/-/ready", ports.relay),
            Duration::from_secs(20),
        )
        .await?;

        progress("Alertmanager");
        let am_dir = dir.join("alertmanager");
        std::fs::create_dir_all(am_dir.join("data"))?;
        let am_conf = am_dir.join("alertmanager.yml");
        // It holds the bypass receivers' webhook URLs: a secret.
        crate::secrets::write(
            &am_conf,
            config::alertmanager(
                &config.repo,
                &ports,
                &token_file,
                &config.bypass,
                config.timing,
            )?,
        )?;
        let mut c = Command::new(&alertmanager);
        c.arg(format!("--config.file={}", am_conf.display()))
            .arg(format!("--storage.path={}", am_dir.join("data").display()))
            .arg(format!(
                "--web.listen-address=127.0.0.1:{}",
                ports.alertmanager
            ))
            // An empty cluster address turns clustering (and its gossip port) off.
            .arg("--cluster.listen-address=")
            .arg(format!(
                "--web.external-url=http://127.0.0.1:{}",
                ports.alertmanager
            ));
        sup.spawn("alertmanager", c)?;
        sup.wait_http(
            "alertmanager",
            &format!("http://127.0.0.1:{}/-/ready", ports.alertmanager),
            Duration::from_secs(30),
        )
        .await?;

        progress("Prometheus");
        let prom_dir = dir.join("prometheus");
        std::fs::create_dir_all(prom_dir.join("data"))?;
        let prom_conf = prom_dir.join("prometheus.yml");
        std::fs::write(
            &prom_conf,
            config::prometheus(&config.repo, &ports, config.timing)?,
        )?;
        let mut c = Command::new(&prometheus);
        c.arg(format!("--config.file={}", prom_conf.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                prom_dir.join("data").display()
            ))
            .arg(format!(
                "--web.listen-address=127.0.0.1:{}",
                ports.prometheus
            ))
            .arg(format!(
                "--web.external-url=http://127.0.0.1:{}",
                ports.prometheus
            ));
        sup.spawn("prometheus", c)?;
        sup.wait_http(
            "prometheus",
            &format!("http://127.0.0.1:{}/-/ready", ports.prometheus),
            Duration::from_secs(60),
        )
        .await?;

        if config.grafana {
            match testkit::find_bin("grafana-server") {
                Some(grafana) => {
                    progress("Grafana");
                    side::start_grafana(&mut sup, &grafana, &config.grafana_settings(), &dir)
                        .await?;
                }
                None => progress(
                    "Grafana: grafana-server is not installed; import dashboards/*.json into yours",
                ),
            }
        }

        Ok(Stack {
            sup,
            config,
            postgres,
            relay_token,
            probe_password,
        })
    }

    /// Starts the blackbox exporter with `monitoring/blackbox/blackbox.yml` (the probe
    /// account's password put in, the file 0600): from then on Prometheus' `blackbox` job
    /// probes the forum through nginx (front page, /readyz, a login) on every scrape.
    pub async fn start_prober(&mut self) -> anyhow::Result<()> {
        let exporter = testkit::require_bin(
            "prometheus-blackbox-exporter",
            "apt-get install -y prometheus-blackbox-exporter",
        );
        let port = self.config.ports.blackbox;
        let bb_dir = self.sup_dir().join("blackbox");
        crate::secrets::private_dir(&bb_dir)?;
        let bb_conf = bb_dir.join("blackbox.yml");
        crate::secrets::write(
            &bb_conf,
            &config::blackbox(&self.config.repo, &self.probe_password)?,
        )?;
        let mut c = Command::new(exporter);
        c.arg(format!("--config.file={}", bb_conf.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        self.sup.spawn("blackbox-exporter", c)?;
        self.sup
            .wait_http(
                "blackbox-exporter",
                &format!("http://127.0.0.1:{port}/-/healthy"),
                Duration::from_secs(20),
            )
            .await
    }

    /// The stack's directory (absolute).
    fn sup_dir(&self) -> PathBuf {
        self.config
            .dir
            .canonicalize()
            .unwrap_or_else(|_| self.config.dir.clone())
    }

    /// The directory where the SMTP catcher writes each mail it accepts (one JSON file each,
    /// read with [`testkit::smtp::read_mails`]).
    pub fn mail_dir(&self) -> PathBuf {
        self.sup_dir().join("mail")
    }

    /// `http://127.0.0.1:<nginx port>`: the forum as users reach it.
    pub fn forum_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.config.ports.nginx)
    }

    /// Prometheus' base URL.
    pub fn prometheus_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.config.ports.prometheus)
    }

    /// The URLs a person uses, for printing.
    pub fn urls(&self) -> Vec<(&'static str, String)> {
        let p = self.config.ports;
        vec![
            ("forum (through nginx)", self.forum_url()),
            ("forum admin panel", format!("{}/admin/", self.forum_url())),
            (
                "nginx-log-exporter",
                format!("http://127.0.0.1:{}/metrics", p.nginx_exporter),
            ),
            (
                "pg-exporter",
                format!("http://127.0.0.1:{}/metrics", p.pg_exporter),
            ),
            (
                "alert-relay",
                format!("http://127.0.0.1:{}/metrics", p.relay),
            ),
            ("Prometheus", self.prometheus_url()),
            (
                "Prometheus alerts",
                format!("{}/alerts", self.prometheus_url()),
            ),
            (
                "Alertmanager",
                format!("http://127.0.0.1:{}", p.alertmanager),
            ),
            (
                "PostgreSQL (pgpass)",
                format!(
                    "PGPASSFILE={} psql {}",
                    self.postgres.pgpass().display(),
                    self.postgres.url_without_password("forum", "forum")
                ),
            ),
            (
                "SMTP catcher",
                format!(
                    "smtp://127.0.0.1:{} (mails in {})",
                    p.smtp,
                    self.mail_dir().display()
                ),
            ),
            (
                "blackbox exporter",
                format!("http://127.0.0.1:{}", p.blackbox),
            ),
            (
                "Grafana (if installed)",
                format!("http://127.0.0.1:{}", p.grafana),
            ),
        ]
    }

    /// Stops every process.
    pub fn stop(mut self) {
        self.sup.stop_all();
    }
}
