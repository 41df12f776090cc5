//! A real SMTP server for tests: [`SmtpCatcher`] runs aiosmtpd (Debian's `python3-aiosmtpd`)
//! on a loopback port with a handler (`smtp_catcher.py`) that decodes every accepted message
//! with Python's e-mail package and writes it to a directory as JSON, so a test reads the mails
//! a real server received, as a mail client would show them. It can speak STARTTLS or implicit
//! TLS and require AUTH, and it can be stopped and started again on the same port to play an
//! outage. Recipients whose local part starts with `nobody` are refused with 550 (no such
//! mailbox), for tests of permanent failures.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde::Deserialize;

/// The handler program, written next to the mails of each catcher.
const SCRIPT: &str = include_str!("smtp_catcher.py");

/// How a catcher encrypts and authenticates.
#[derive(Clone, Debug, Default)]
pub struct CatcherOptions {
    /// PEM certificate and key: offer STARTTLS and require it before mail.
    pub starttls: Option<(PathBuf, PathBuf)>,
    /// PEM certificate and key: implicit TLS from the first byte (like port 465).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Require AUTH with this user and password.
    pub auth: Option<(String, String)>,
}

/// One message the catcher accepted.
#[derive(Clone, Debug, Deserialize)]
pub struct CaughtMail {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_tos: Vec<String>,
    /// The `From` header.
    pub from: String,
    /// The `To` header.
    pub to: String,
    /// The decoded `Subject`.
    pub subject: String,
    /// The `Message-ID` header.
    pub message_id: String,
    /// The decoded `text/plain` part.
    pub text: Option<String>,
    /// The decoded `text/html` part.
    pub html: Option<String>,
    /// Whether the message came over TLS (STARTTLS or implicit).
    pub tls: bool,
    /// Whether the client authenticated.
    pub authenticated: bool,
    /// The message as received.
    pub raw: String,
}

/// An aiosmtpd server on `127.0.0.1:port`, stopped when dropped; its mails are in a
/// directory of its own, removed when dropped.
#[derive(Debug)]
pub struct SmtpCatcher {
    /// The port it listens on (kept across [`SmtpCatcher::stop`] and [`SmtpCatcher::start`]).
    pub port: u16,
    dir: PathBuf,
    options: CatcherOptions,
    child: Option<Child>,
}

impl SmtpCatcher {
    /// A plain SMTP catcher (no TLS, no AUTH). Panics, saying how to install aiosmtpd, when it
    /// is missing.
    pub fn start_new() -> SmtpCatcher {
        SmtpCatcher::with_options(CatcherOptions::default())
    }

    /// A catcher with `options`.
    pub fn with_options(options: CatcherOptions) -> SmtpCatcher {
        let dir = std::env::temp_dir().join(format!(
            "smtp-catcher-{:016x}",
            rand::thread_rng().r#gen::<u64>()
        ));
        std::fs::create_dir_all(dir.join("mails")).expect("create the catcher's directory");
        std::fs::write(dir.join("smtp_catcher.py"), SCRIPT).expect("write the catcher's handler");
        let mut catcher = SmtpCatcher {
            port: crate::free_port(),
            dir,
            options,
            child: None,
        };
        catcher.start();
        catcher
    }

    /// The URL the forum takes: `smtp://127.0.0.1:PORT` (`smtps://` with implicit TLS), with
    /// no credentials.
    pub fn url(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "smtps"
        } else {
            "smtp"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The directory where accepted mails are written, one JSON file each.
    pub fn mail_dir(&self) -> PathBuf {
        self.dir.join("mails")
    }

    /// Starts the server (again) on [`SmtpCatcher::port`] and waits until it accepts
    /// connections. Does nothing if it runs.
    pub fn start(&mut self) {
        if self.child.is_some() {
            return;
        }
        let mut cmd = Command::new(python());
        cmd.arg(self.dir.join("smtp_catcher.py"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--dir")
            .arg(self.mail_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some((cert, key)) = &self.options.starttls {
            cmd.arg("--starttls").arg(cert).arg(key);
        }
        if let Some((cert, key)) = &self.options.tls {
            cmd.arg("--tls").arg(cert).arg(key);
        }
        if let Some((user, password)) = &self.options.auth {
            cmd.arg("--auth").arg(format!("{user}:{password}"));
        }
        let mut child = cmd.spawn().expect("start the SMTP catcher");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.trim() == "ready" => {}
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the SMTP catcher did not start on port {} ({other:?})",
                    self.port
                );
            }
        }
        self.child = Some(child);
    }

    /// Stops the server (SIGKILL, as a crash or an outage): connections are refused until
    /// [`SmtpCatcher::start`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The mails accepted so far, oldest first.
    pub fn mails(&self) -> Vec<CaughtMail> {
        read_mails(&self.mail_dir())
    }

    /// Waits until at least `n` mails were accepted (panics after `timeout`) and returns all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<CaughtMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected {n} mail(s) within {timeout:?}, the SMTP server got {}: {:?}",
                    mails.len(),
                    mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpCatcher {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads every `*.json` mail in `dir`, oldest first (the names sort by arrival).
pub fn read_mails(dir: &Path) -> Vec<CaughtMail> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read a caught mail");
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("caught mail {} is not valid: {e}", p.display()))
        })
        .collect()
}

/// A Python 3 that can import aiosmtpd: Debian's `/usr/bin/python3` first (a `python3` earlier
/// on `PATH`, e.g. from pyenv, does not see Debian's packages), then `python3` on `PATH`.
/// Panics with the install command when there is none.
pub fn python() -> PathBuf {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let mut candidates = vec![PathBuf::from("/usr/bin/python3")];
            candidates.extend(crate::find_bin("python3"));
            candidates.into_iter().find(|p| {
                Command::new(p)
                    .args(["-c", "import aiosmtpd"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
        })
        .clone()
        .unwrap_or_else(|| {
            panic!(
                "an SMTP server is needed by this test: aiosmtpd was not found for python3. \
                 Install it: `apt-get install -y python3-aiosmtpd` (scripts/test does)."
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};

    /// Speaks SMTP to the catcher by hand and reads back what it stored.
    #[tokio::test]
    async fn a_message_sent_over_smtp_is_stored_decoded() {
        let catcher = SmtpCatcher::start_new();
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", catcher.port))
            .await
            .unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = tokio::io::BufReader::new(read).lines();
        expect(&mut lines, "220").await;
        for (cmd, code) in [
            ("EHLO test\r\n", "250"),
            ("MAIL FROM:<a@example.com>\r\n", "250"),
            ("RCPT TO:<b@example.com>\r\n", "250"),
            ("DATA\r\n", "354"),
        ] {
            write.write_all(cmd.as_bytes()).await.unwrap();
            expect(&mut lines, code).await;
        }
        write
            .write_all(
                b"From: a@example.com\r\nTo: b@example.com\r\nSubject: =?utf-8?q?h=C3=A9llo?=\r\n\
                  Content-Type: text/plain; charset=utf-8\r\n\
                  Content-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\nbreak\r\n.\r\n",
            )
            .await
            .unwrap();
        expect(&mut lines, "250").await;
        let mails = catcher.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].rcpt_tos, vec!["b@example.com".to_string()]);
        assert_eq!(mails[0].subject, "héllo");
        assert_eq!(
            mails[0].text.as_deref().map(str::trim_end),
            Some("softbreak")
        );
        assert!(!mails[0].tls);
    }

    /// Reads one (possibly multi-line) SMTP reply and checks its code.
    async fn expect(
        lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>>,
        code: &str,
    ) {
        loop {
            let line = lines.next_line().await.unwrap().unwrap();
            assert!(line.starts_with(code), "expected {code}, got {line}");
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    }

    #[tokio::test]
    async fn a_stopped_catcher_refuses_connections_and_comes_back_on_its_port() {
        let mut catcher = SmtpCatcher::start_new();
        catcher.stop();
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", catcher.port))
                .await
                .is_err()
        );
        catcher.start();
        tokio::net::TcpStream::connect(("127.0.0.1", catcher.port))
            .await
            .unwrap();
    }
}
