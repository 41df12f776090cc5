//! Processes and accounts beside the suite: the SMTP catcher that receives the forum's mails,
//! Grafana with the repository's dashboards, and the blackbox probe's forum account.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use crate::config;
use crate::supervisor::Supervisor;

/// What Grafana is started with.
pub(crate) struct GrafanaSettings<'a> {
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
    /// Prometheus' port on 127.0.0.1 (the datasource).
    pub prometheus_port: u16,
    /// The repository (dashboards and their provisioning).
    pub repo: &'a Path,
    /// The admin password.
    pub admin_password: &'a str,
}

/// Starts the SMTP catcher (`tests/testkit/src/smtp_catcher.py` on Debian's aiosmtpd) on
/// `port`, writing every mail it accepts to `mail_dir`, and waits until it answers.
pub(crate) async fn start_smtp_catcher(
    sup: &mut Supervisor,
    repo: &Path,
    port: u16,
    mail_dir: &Path,
) -> anyhow::Result<()> {
    // The mails carry single-use links (activation, password reset): a private directory.
    crate::secrets::private_dir(mail_dir)?;
    // Panics with the install command (apt-get install -y python3-aiosmtpd) when missing.
    let python = testkit::smtp::python();
    let mut c = Command::new(python);
    c.arg(repo.join("tests/testkit/src/smtp_catcher.py"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--dir")
        .arg(mail_dir);
    sup.spawn("smtp-catcher", c)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        sup.check_alive("smtp-catcher")?;
        if let Ok(mut conn) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            // The greeting: aiosmtpd answers 220 once it serves.
            let mut greeting = [0u8; 3];
            if tokio::io::AsyncReadExt::read_exact(&mut conn, &mut greeting)
                .await
                .is_ok()
                && &greeting == b"220"
            {
                return Ok(());
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the SMTP catcher does not answer on 127.0.0.1:{port}\n{}",
            sup.log_tail("smtp-catcher", 2000)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Registers the blackbox probe's account ([`config::PROBE_USERNAME`], a plain member)
/// through the forum's API role, as an operator does once (`POST /api/users/`).
pub(crate) async fn register_probe_account(api_port: u16, password: &str) -> anyhow::Result<()> {
    let res = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{api_port}/api/users/"))
        .json(&serde_json::json!({
            "username": config::PROBE_USERNAME,
            "email": format!("{}@example.invalid", config::PROBE_USERNAME),
            "password": password,
        }))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .context("register the probe account")?;
    let status = res.status();
    anyhow::ensure!(
        status == reqwest::StatusCode::CREATED,
        "registering the probe account answered {status}: {}",
        res.text().await.unwrap_or_default()
    );
    Ok(())
}

/// Grafana with the repository's provisioning (datasource and dashboards), anonymous viewers
/// allowed, data and logs in the stack's directory.
pub(crate) async fn start_grafana(
    sup: &mut Supervisor,
    grafana: &Path,
    config: &GrafanaSettings<'_>,
    dir: &Path,
) -> anyhow::Result<()> {
    let gdir = dir.join("grafana");
    std::fs::create_dir_all(gdir.join("data"))?;
    let ini = gdir.join("grafana.ini");
    // It holds the admin password.
    crate::secrets::write(
        &ini,
        format!(
            "[server]\nhttp_addr = 127.0.0.1\nhttp_port = {port}\n[paths]\ndata = {data}\nlogs = {data}\nprovisioning = {prov}\n\
             [security]\nadmin_password = {password}\n[auth.anonymous]\nenabled = true\norg_role = Viewer\n[analytics]\nreporting_enabled = false\ncheck_for_updates = false\n",
            port = config.port,
            data = gdir.join("data").display(),
            prov = config.repo.join("dashboards/provisioning").display(),
            password = config.admin_password,
        ),
    )?;
    let mut c = Command::new(grafana);
    c.args(["--homepath", "/usr/share/grafana", "--config"])
        .arg(&ini)
        .env(
            "PROMETHEUS_URL",
            format!("http://127.0.0.1:{}", config.prometheus_port),
        )
        .env("FORUM_DASHBOARDS_DIR", config.repo.join("dashboards"));
    sup.spawn("grafana", c)?;
    sup.wait_http(
        "grafana",
        &format!("http://127.0.0.1:{}/api/health", config.port),
        Duration::from_secs(60),
    )
    .await
}
