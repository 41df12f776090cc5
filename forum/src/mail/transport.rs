//! How mails leave: SMTP through `lettre`, or the log when no SMTP server is configured.
//!
//! `--smtp-url` takes lettre's connection URLs:
//!
//! | URL | connection |
//! | --- | --- |
//! | `smtp://host[:25]` | plain SMTP (for a relay on the same host or network) |
//! | `smtp://host:587?tls=required` | STARTTLS, refused if the server does not offer it |
//! | `smtp://host:587?tls=opportunistic` | STARTTLS when the server offers it |
//! | `smtps://host[:465]` | TLS from the first byte |
//!
//! `user:password@` before the host authenticates (percent-encode special characters). A
//! password is only sent encrypted (`smtps://` or `tls=required`), or to a loopback host. The
//! URL's password never appears in logs, errors or `Debug` output: [`SmtpUrl`] prints it as
//! `***`.

use std::str::FromStr;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use super::error::MailError;

/// A validated `--smtp-url`; its password is redacted whenever it is printed.
#[derive(Clone)]
pub struct SmtpUrl {
    url: url::Url,
}

/// How the connection is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP.
    None,
    /// STARTTLS when offered.
    Opportunistic,
    /// STARTTLS, or no mail.
    StartTls,
    /// Implicit TLS.
    Tls,
}

impl SmtpUrl {
    /// The host.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// How the connection is encrypted.
    pub fn security(&self) -> Security {
        if self.url.scheme() == "smtps" {
            return Security::Tls;
        }
        match self
            .url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned())
            .as_deref()
        {
            Some("required") => Security::StartTls,
            Some("opportunistic") => Security::Opportunistic,
            _ => Security::None,
        }
    }

    /// Whether the URL has credentials.
    pub fn has_credentials(&self) -> bool {
        !self.url.username().is_empty() || self.url.password().is_some()
    }

    fn is_loopback(&self) -> bool {
        match self.url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            // `smtp` is not a scheme the URL standard knows: its hosts stay unparsed names.
            Some(url::Host::Domain(d)) => {
                d.eq_ignore_ascii_case("localhost")
                    || d.trim_matches(['[', ']'])
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            None => false,
        }
    }
}

impl FromStr for SmtpUrl {
    type Err = MailError;

    fn from_str(s: &str) -> Result<SmtpUrl, MailError> {
        // The parser's message never repeats the input, which may hold a password.
        let url = url::Url::parse(s.trim())
            .map_err(|e| MailError::Config(format!("--smtp-url is not a valid URL: {e}")))?;
        let smtp = SmtpUrl { url };
        if !matches!(smtp.url.scheme(), "smtp" | "smtps") {
            return Err(MailError::Config(format!(
                "--smtp-url {smtp}: the scheme must be smtp:// or smtps://"
            )));
        }
        if smtp.host().is_empty() {
            return Err(MailError::Config(format!("--smtp-url {smtp} has no host")));
        }
        for (k, v) in smtp.url.query_pairs() {
            if k != "tls" || !matches!(v.as_ref(), "required" | "opportunistic") {
                return Err(MailError::Config(format!(
                    "--smtp-url {smtp}: the only query is tls=required or tls=opportunistic"
                )));
            }
        }
        if smtp.has_credentials()
            && matches!(smtp.security(), Security::None | Security::Opportunistic)
            && !smtp.is_loopback()
        {
            return Err(MailError::Config(format!(
                "--smtp-url {smtp}: a password is only sent encrypted; use smtps:// or ?tls=required"
            )));
        }
        Ok(smtp)
    }
}

impl std::fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.url.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        f.write_str(shown.as_str())
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpUrl({self})")
    }
}

/// A mail as the transport sends it.
#[derive(Clone, Copy)]
pub struct Outgoing<'a> {
    /// Recipient.
    pub to: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Plain-text part.
    pub text: &'a str,
    /// HTML part.
    pub html: &'a str,
}

/// Why a mail did not leave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later: the server is unreachable, busy, or refused for a reason that
    /// is not this mail's (authentication, a 4xx answer, a timeout).
    Transient(String),
    /// This mail can never be sent: its address is invalid or the server refused it for good.
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(m) => write!(f, "{m} (will retry)"),
            SendError::Permanent(m) => write!(f, "{m} (permanent)"),
        }
    }
}

/// How a mail left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Accepted by the SMTP server.
    Smtp,
    /// Written to the log (no SMTP server configured).
    Logged,
}

/// Sends mails: over SMTP, or into the log.
#[derive(Clone)]
pub enum Mailer {
    /// An SMTP server.
    Smtp {
        /// The transport (a small pool of connections).
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The sender.
        from: Mailbox,
        /// The URL, for messages (password redacted).
        url: SmtpUrl,
    },
    /// No SMTP server: every mail is logged at INFO, links included, so the operator can act
    /// on them (a development or demo setup).
    Log {
        /// The sender.
        from: Mailbox,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    from.parse()
        .map_err(|e| MailError::Config(format!("--mail-from {from:?} is not an address: {e}")))
}

impl Mailer {
    /// Logs mails instead of sending them.
    pub fn log(from: &str) -> Result<Mailer, MailError> {
        Ok(Mailer::Log {
            from: parse_from(from)?,
        })
    }

    /// Sends mails through the SMTP server of `url` as `from`. `ca_pem` adds a trusted root
    /// certificate (a private CA) to the public ones; `timeout` bounds each step of the dialogue.
    pub fn smtp(
        url: &SmtpUrl,
        from: &str,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Mailer, MailError> {
        let from = parse_from(from)?;
        let config =
            |e: lettre::transport::smtp::Error| MailError::Config(format!("--smtp-url {url}: {e}"));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.url.as_str())
            .map_err(config)?
            .timeout(Some(timeout));
        if let Some(pem) = ca_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| MailError::Config(format!("--smtp-ca-file: {e}")))?;
            let params = TlsParameters::builder(url.host().to_string())
                .add_root_certificate(cert)
                .build()
                .map_err(config)?;
            builder = match url.security() {
                Security::None => builder,
                Security::Opportunistic => builder.tls(Tls::Opportunistic(params)),
                Security::StartTls => builder.tls(Tls::Required(params)),
                Security::Tls => builder.tls(Tls::Wrapper(params)),
            };
        }
        Ok(Mailer::Smtp {
            transport: builder.build(),
            from,
            url: url.clone(),
        })
    }

    /// One line for the startup log.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { from, url, .. } => {
                format!(
                    "mails are sent through {url} ({:?}) as {from}",
                    url.security()
                )
            }
            Mailer::Log { from } => format!(
                "no --smtp-url: mails (as {from}) are written to the log instead of being sent"
            ),
        }
    }

    /// Sends one mail.
    pub async fn send(&self, mail: Outgoing<'_>) -> Result<Sent, SendError> {
        match self {
            Mailer::Log { from } => {
                tracing::info!(
                    from = %from,
                    to = %mail.to,
                    subject = %mail.subject,
                    "mail (not sent: no --smtp-url):\n{}",
                    mail.text
                );
                Ok(Sent::Logged)
            }
            Mailer::Smtp {
                transport, from, ..
            } => {
                let to: Mailbox = mail.to.parse().map_err(|e| {
                    SendError::Permanent(format!("the recipient is not an address: {e}"))
                })?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.subject)
                    .message_id(None)
                    .multipart(MultiPart::alternative_plain_html(
                        mail.text.to_string(),
                        mail.html.to_string(),
                    ))
                    .map_err(|e| SendError::Permanent(format!("cannot build the mail: {e}")))?;
                transport
                    .send(message)
                    .await
                    .map(|_| Sent::Smtp)
                    .map_err(classify)
            }
        }
    }
}

/// Sorts an SMTP failure: refusals of this mail (bad mailbox or address, message refused) are
/// permanent; everything else (unreachable, TLS, authentication, 4xx, timeouts) is transient,
/// since it says nothing about this mail and retrying loses nothing.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let message = e.to_string();
    match e.status().map(|c| c.to_string()) {
        Some(code)
            if e.is_permanent()
                && matches!(code.as_str(), "501" | "550" | "551" | "552" | "553" | "554") =>
        {
            SendError::Permanent(message)
        }
        _ => SendError::Transient(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_password_of_an_smtp_url_is_never_printed() {
        let url: SmtpUrl = "smtps://mailer:s3cret@mail.example.org:465"
            .parse()
            .unwrap();
        assert_eq!(url.security(), Security::Tls);
        assert!(!format!("{url} {url:?}").contains("s3cret"));
        assert!(url.to_string().contains("mailer:***@mail.example.org"));
        let mailer = Mailer::smtp(&url, "forum@example.org", None, Duration::from_secs(5)).unwrap();
        assert!(!format!("{mailer:?} {}", mailer.describe()).contains("s3cret"));
    }

    #[test]
    fn a_password_is_refused_over_plain_smtp_to_a_remote_host() {
        let err = "smtp://u:s3cret@mail.example.org:25"
            .parse::<SmtpUrl>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("only sent encrypted"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        assert!("smtp://u:p@127.0.0.1:2525".parse::<SmtpUrl>().is_ok());
        let starttls: SmtpUrl = "smtp://u:p@mail.example.org:587?tls=required"
            .parse()
            .unwrap();
        assert_eq!(starttls.security(), Security::StartTls);
    }

    #[test]
    fn other_schemes_and_queries_are_refused() {
        assert!("http://example.org".parse::<SmtpUrl>().is_err());
        assert!("smtp://example.org?tls=maybe".parse::<SmtpUrl>().is_err());
        assert!("smtp://example.org?foo=1".parse::<SmtpUrl>().is_err());
        assert_eq!(
            "smtp://127.0.0.1:2525"
                .parse::<SmtpUrl>()
                .unwrap()
                .security(),
            Security::None
        );
    }

    #[test]
    fn a_bad_sender_address_is_a_configuration_error() {
        assert!(Mailer::log("not an address").is_err());
        assert!(Mailer::log("Forum <forum@example.org>").is_ok());
    }
}
