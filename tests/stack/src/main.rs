//! `stack demo`: the whole suite on loopback for a person to look at (what `scripts/demo`
//! runs); `stack demo --down` stops one left running.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use stack::config::{Bypass, Ports, Timing, repo_root};
use stack::stack::{Discord, Stack, StackConfig};

#[derive(Parser, Debug)]
#[command(version, about = "Runs the forum observability suite on loopback")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Start everything, drive traffic, show alerts; Ctrl-C stops it all.
    Demo {
        /// Where data, configs and logs live.
        #[arg(long, env = "DEMO_DIR", default_value = ".demo")]
        dir: PathBuf,
        /// Where the workspace's binaries are.
        #[arg(long, env = "DEMO_BIN_DIR", default_value = "target/release")]
        bin_dir: PathBuf,
        /// Stop a demo running in the background instead.
        #[arg(long)]
        down: bool,
        /// Do not generate traffic.
        #[arg(long)]
        no_traffic: bool,
        /// Discord webhook for the alerts (otherwise the relay prints them).
        #[arg(long, env = "DISCORD_WEBHOOK_URL", hide_env_values = true)]
        discord_webhook_url: Option<String>,
        /// Discord API base.
        #[arg(
            long,
            env = "DISCORD_API_URL",
            default_value = "https://discord.com/api/v10"
        )]
        discord_api_url: String,
        /// A second Discord webhook (another channel) for alerts about the alerting path,
        /// sent by Alertmanager itself, not through the relay.
        #[arg(long, env = "ALERTING_PATH_WEBHOOK_URL", hide_env_values = true)]
        alerting_path_webhook_url: Option<String>,
        /// A dead man's switch's ping URL for the always-firing Watchdog alert.
        #[arg(long, env = "HEARTBEAT_URL", hide_env_values = true)]
        heartbeat_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let Cmd::Demo {
        dir,
        bin_dir,
        down,
        no_traffic,
        discord_webhook_url,
        discord_api_url,
        alerting_path_webhook_url,
        heartbeat_url,
    } = Cli::parse().command;
    let pidfile = dir.join("stack.pids");
    if down {
        let stopped = stack::supervisor::stop_pidfile(&pidfile)?;
        println!("stopped {stopped} process group(s)");
        return Ok(());
    }
    if stack::supervisor::stop_pidfile(&pidfile)? > 0 {
        println!("stopped the processes of an earlier demo");
    }
    // A fresh start: the directory holds nothing worth keeping between demos.
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let config = StackConfig {
        repo: repo_root(),
        dir: dir.clone(),
        bin_dir: bin_dir
            .canonicalize()
            .map_err(|e| anyhow::anyhow!("{}: {e}", bin_dir.display()))?,
        ports: Ports::DEFAULT,
        timing: Timing {
            interval: "5s",
            alert_grouping: Some(("5s", "30s")),
        },
        seed: (200, 1_000, 10_000),
        discord: discord_webhook_url.map(|webhook_url| Discord {
            api_url: discord_api_url,
            webhook_url,
        }),
        bypass: Bypass {
            heartbeat_url,
            alerting_path_webhook: alerting_path_webhook_url,
        },
        admin_password: format!("demo-{:08x}", rand::random::<u32>()),
        grafana: true,
    };
    let started = std::time::Instant::now();
    let mut stack = Stack::start(config, &|step| println!("==> {step}")).await?;
    println!("==> blackbox exporter: probing the forum through nginx");
    stack.start_prober().await?;
    println!(
        "\nThe stack is up ({:.1} s). Open:",
        started.elapsed().as_secs_f64()
    );
    for (name, url) in stack.urls() {
        println!("  {name:<24} {url}");
    }
    println!(
        "  {:<24} admin / {}",
        "forum admin login", stack.config.admin_password
    );
    println!("Logs: {}/logs. Ctrl-C stops everything.\n", dir.display());

    let traffic = (!no_traffic).then(|| {
        tokio::spawn(stack::traffic::run(
            stack.forum_url(),
            stack.config.admin_password.clone(),
            None,
        ))
    });
    let mail_dir = stack.mail_dir();
    let follow_mail = tokio::spawn(async move {
        let mut seen = 0usize;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let mails = testkit::smtp::read_mails(&mail_dir);
            for mail in mails.iter().skip(seen) {
                println!("[mail] {}", mail_summary(mail));
            }
            seen = seen.max(mails.len());
        }
    });
    let relay_log = stack.sup.log_path("alert-relay");
    let follow = tokio::spawn(async move {
        let mut seen = 0usize;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let Ok(text) = std::fs::read_to_string(&relay_log) else {
                continue;
            };
            for line in text[seen.min(text.len())..].lines() {
                if let Some(summary) = alert_summary(line) {
                    println!("[alert] {summary}");
                }
            }
            seen = text.len();
        }
    });
    wait_for_stop_signal().await;
    println!("\nstopping...");
    follow.abort();
    follow_mail.abort();
    if let Some(t) = traffic {
        t.abort();
    }
    stack.stop();
    println!("stopped; data is in {}", dir.display());
    Ok(())
}

async fn wait_for_stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

/// A one-line summary of a mail the SMTP catcher accepted: to whom, its subject and the first
/// link of its text (the activation, reset or confirmation link a member would click).
fn mail_summary(mail: &testkit::smtp::CaughtMail) -> String {
    let to = if mail.rcpt_tos.is_empty() {
        mail.to.clone()
    } else {
        mail.rcpt_tos.join(", ")
    };
    let body = mail.text.as_deref().or(mail.html.as_deref()).unwrap_or("");
    let link = regex::Regex::new(r#"https?://[^\s<>"']+"#)
        .expect("regex")
        .find(body)
        .map(|m| m.as_str().to_string());
    match link {
        Some(link) => format!("to {to}: {} ({link})", mail.subject),
        None => format!("to {to}: {}", mail.subject),
    }
}

/// A one-line summary of a relay log line that reports a message (rendered for the log sink,
/// delivered to Discord, or dead-lettered): the embed titles it carries, or the line itself.
fn alert_summary(line: &str) -> Option<String> {
    let interesting = [
        "rendered message",
        "delivered",
        "dead letter",
        "dead-letter",
    ];
    if !interesting.iter().any(|w| line.contains(w)) {
        return None;
    }
    let titles =
        regex::Regex::new(r#"\\?"title\\?":\s*\\?"((?:[^"\\]|\\.)*?)\\?""#).expect("regex");
    let found: Vec<String> = titles
        .captures_iter(line)
        .map(|c| c[1].replace("\\", ""))
        .collect();
    Some(if found.is_empty() {
        line.to_string()
    } else {
        found.join(" | ")
    })
}

#[cfg(test)]
mod tests {
    use super::{alert_summary, mail_summary};

    #[test]
    fn a_mail_becomes_its_recipient_subject_and_first_link() {
        let mail: testkit::smtp::CaughtMail = serde_json::from_value(serde_json::json!({
            "mail_from": "forum@example.invalid",
            "rcpt_tos": ["ann@example.invalid"],
            "from": "forum@example.invalid",
            "to": "ann@example.invalid",
            "subject": "Reset your password",
            "message_id": "<1@x>",
            "text": "Hello,\nfollow http://127.0.0.1:8080/password-reset/abc123 within an hour.\nOr http://other/",
            "html": null,
            "tls": false,
            "authenticated": false,
            "raw": ""
        }))
        .unwrap();
        assert_eq!(
            mail_summary(&mail),
            "to ann@example.invalid: Reset your password (http://127.0.0.1:8080/password-reset/abc123)"
        );
    }

    #[test]
    fn relay_lines_become_titles() {
        let line = r#"INFO alert_relay::log_sink: rendered message sink=log seq=3 message={"embeds":[{"title":"🔥 FIRING: ForumFailedAdminLoginsBurst","color":1}]}"#;
        assert_eq!(
            alert_summary(line).as_deref(),
            Some("🔥 FIRING: ForumFailedAdminLoginsBurst")
        );
        assert_eq!(alert_summary("INFO listening on 127.0.0.1:9733"), None);
    }
}
