//! The mails the forum sends, rendered from askama templates (`templates/mail/<kind>.txt` and
//! `.html`; the HTML ones extend `layout.html`) into a plain-text and an HTML part. Values are
//! HTML-escaped in the HTML part. Links point under the operator's `--public-url`, never at the
//! `Host` of a request, which an attacker chooses.

use std::time::Duration;

use askama::Template;

use super::error::MailError;
use super::kind::MailKind;

/// A mail ready to queue. Its bodies hold single-use links: `Debug` leaves them out.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// What it is.
    pub kind: MailKind,
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part.
    pub html: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// What every mail template sees.
#[derive(Debug)]
pub struct Vars<'a> {
    /// The site's name (the host of the public URL).
    pub site: &'a str,
    /// The forum's public URL.
    pub home: &'a str,
    /// The recipient's username.
    pub username: &'a str,
    /// The link the mail is about.
    pub link: &'a str,
    /// The address the mail is about (an e-mail change's new address).
    pub address: &'a str,
    /// How long the link works, in words.
    pub valid_for: String,
}

macro_rules! text_template {
    ($name:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'a> {
            v: &'a Vars<'a>,
        }
    };
}

macro_rules! html_template {
    ($name:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'a> {
            subject: &'a str,
            v: &'a Vars<'a>,
        }
    };
}

text_template!(ActivationText, "mail/activation.txt");
html_template!(ActivationHtml, "mail/activation.html");
text_template!(ResetText, "mail/password_reset.txt");
html_template!(ResetHtml, "mail/password_reset.html");
text_template!(EmailChangeText, "mail/email_change.txt");
html_template!(EmailChangeHtml, "mail/email_change.html");
text_template!(InUseText, "mail/address_in_use.txt");
html_template!(InUseHtml, "mail/address_in_use.html");
text_template!(ApprovedText, "mail/account_approved.txt");
html_template!(ApprovedHtml, "mail/account_approved.html");

/// One notification as a mail tells it: "bob replied in “Title”" and its link (a path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Told {
    /// What happened, in words.
    pub text: String,
    /// Where to read it (a path under the public URL).
    pub path: String,
}

#[derive(Template)]
#[template(path = "mail/notification.txt")]
struct NotificationText<'a> {
    v: &'a Vars<'a>,
    told: &'a Told,
    settings: &'a str,
}

#[derive(Template)]
#[template(path = "mail/notification.html")]
struct NotificationHtml<'a> {
    subject: &'a str,
    v: &'a Vars<'a>,
    told: &'a Told,
    settings: &'a str,
}

/// A line of a digest: what happened and its absolute link.
struct DigestLine<'a> {
    text: &'a str,
    link: String,
}

#[derive(Template)]
#[template(path = "mail/digest.txt")]
struct DigestText<'a> {
    v: &'a Vars<'a>,
    lines: &'a [DigestLine<'a>],
    more: usize,
    settings: &'a str,
}

#[derive(Template)]
#[template(path = "mail/digest.html")]
struct DigestHtml<'a> {
    subject: &'a str,
    v: &'a Vars<'a>,
    lines: &'a [DigestLine<'a>],
    more: usize,
    settings: &'a str,
}

/// Renders mails with links under the public URL.
#[derive(Clone, Debug)]
pub struct Composer {
    home: String,
    site: String,
}

impl Composer {
    /// A composer for the forum served at `public_url` (`http(s)://host[:port][/path]`).
    pub fn new(public_url: &str) -> Result<Composer, MailError> {
        let url = url::Url::parse(public_url.trim())
            .map_err(|e| MailError::Config(format!("--public-url {public_url:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(MailError::Config(format!(
                "--public-url {public_url:?} must be an http:// or https:// URL with a host"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
            return Err(MailError::Config(
                "--public-url must not carry credentials or a query".into(),
            ));
        }
        let site = url.host_str().unwrap_or_default().to_string();
        Ok(Composer {
            home: url.as_str().trim_end_matches('/').to_string(),
            site,
        })
    }

    /// The public URL, without a trailing slash.
    pub fn home(&self) -> &str {
        &self.home
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.home)
    }

    /// The activation mail of a new account: `/activate/{token}`.
    pub fn activation(
        &self,
        to: &str,
        username: &str,
        token: &str,
        valid: Duration,
    ) -> Result<Mail, MailError> {
        let link = self.link(&format!("/activate/{token}"));
        let v = self.vars(username, &link, "", valid);
        let subject = format!("Activate your account on {}", self.site);
        self.mail(
            MailKind::Activation,
            to,
            &ActivationText { v: &v },
            &ActivationHtml {
                subject: &subject,
                v: &v,
            },
            &subject,
        )
    }

    /// A password reset link: `/password-reset/{token}`.
    pub fn password_reset(
        &self,
        to: &str,
        username: &str,
        token: &str,
        valid: Duration,
    ) -> Result<Mail, MailError> {
        let link = self.link(&format!("/password-reset/{token}"));
        let v = self.vars(username, &link, "", valid);
        let subject = format!("Reset your password on {}", self.site);
        self.mail(
            MailKind::PasswordReset,
            to,
            &ResetText { v: &v },
            &ResetHtml {
                subject: &subject,
                v: &v,
            },
            &subject,
        )
    }

    /// The confirmation of an e-mail change, sent to the new address: `/account/email/{token}`.
    pub fn email_change(
        &self,
        new_address: &str,
        username: &str,
        token: &str,
        valid: Duration,
    ) -> Result<Mail, MailError> {
        let link = self.link(&format!("/account/email/{token}"));
        let v = self.vars(username, &link, new_address, valid);
        let subject = format!("Confirm your new e-mail address on {}", self.site);
        self.mail(
            MailKind::EmailChange,
            new_address,
            &EmailChangeText { v: &v },
            &EmailChangeHtml {
                subject: &subject,
                v: &v,
            },
            &subject,
        )
    }

    /// Tells the owner of `to` that someone tried to register with it (the registration page
    /// answers as for a free address, so it cannot be used to find out who has an account).
    pub fn address_in_use(&self, to: &str, username: &str) -> Result<Mail, MailError> {
        let link = self.link("/password-reset");
        let v = self.vars(username, &link, to, Duration::ZERO);
        let subject = format!(
            "Someone tried to register with your address on {}",
            self.site
        );
        self.mail(
            MailKind::AddressInUse,
            to,
            &InUseText { v: &v },
            &InUseHtml {
                subject: &subject,
                v: &v,
            },
            &subject,
        )
    }

    /// Tells a member that an administrator approved their account.
    pub fn account_approved(&self, to: &str, username: &str) -> Result<Mail, MailError> {
        let link = self.link("/login");
        let v = self.vars(username, &link, "", Duration::ZERO);
        let subject = format!("Your account on {} is approved", self.site);
        self.mail(
            MailKind::AccountApproved,
            to,
            &ApprovedText { v: &v },
            &ApprovedHtml {
                subject: &subject,
                v: &v,
            },
            &subject,
        )
    }

    /// One notification, mailed to a member who wants a mail each time.
    pub fn notification(&self, to: &str, username: &str, told: &Told) -> Result<Mail, MailError> {
        let link = self.link(&told.path);
        let settings = self.link("/account/notifications");
        let v = self.vars(username, &link, "", Duration::ZERO);
        let subject = format!("{} on {}", capitalise(&told.text), self.site);
        self.mail(
            MailKind::Notification,
            to,
            &NotificationText {
                v: &v,
                told,
                settings: &settings,
            },
            &NotificationHtml {
                subject: &subject,
                v: &v,
                told,
                settings: &settings,
            },
            &subject,
        )
    }

    /// The notifications of a digest period in one mail (`more`: how many were left out).
    pub fn digest(
        &self,
        to: &str,
        username: &str,
        told: &[Told],
        more: usize,
    ) -> Result<Mail, MailError> {
        let link = self.link("/notifications");
        let settings = self.link("/account/notifications");
        let v = self.vars(username, &link, "", Duration::ZERO);
        let total = told.len() + more;
        let subject = format!(
            "{total} new notification{} on {}",
            if total == 1 { "" } else { "s" },
            self.site
        );
        let lines: Vec<DigestLine> = told
            .iter()
            .map(|t| DigestLine {
                text: &t.text,
                link: self.link(&t.path),
            })
            .collect();
        self.mail(
            MailKind::Digest,
            to,
            &DigestText {
                v: &v,
                lines: &lines,
                more,
                settings: &settings,
            },
            &DigestHtml {
                subject: &subject,
                v: &v,
                lines: &lines,
                more,
                settings: &settings,
            },
            &subject,
        )
    }

    fn vars<'a>(
        &'a self,
        username: &'a str,
        link: &'a str,
        address: &'a str,
        valid: Duration,
    ) -> Vars<'a> {
        Vars {
            site: &self.site,
            home: &self.home,
            username,
            link,
            address,
            valid_for: in_words(valid),
        }
    }

    fn mail(
        &self,
        kind: MailKind,
        to: &str,
        text: &impl Template,
        html: &impl Template,
        subject: &str,
    ) -> Result<Mail, MailError> {
        Ok(Mail {
            kind,
            to: to.to_string(),
            subject: subject.to_string(),
            text: text.render()?,
            html: html.render()?,
        })
    }
}

/// `s` with its first letter in upper case.
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// "1 hour", "2 days", "30 minutes".
fn in_words(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s >= 86_400 && s.is_multiple_of(86_400) {
        (s / 86_400, "day")
    } else if s >= 3600 && s.is_multiple_of(3600) {
        (s / 3600, "hour")
    } else {
        (s.div_ceil(60), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn composer() -> Composer {
        Composer::new("https://forum.example.org/").unwrap()
    }

    #[test]
    fn links_are_absolute_under_the_public_url() {
        let m = composer()
            .password_reset(
                "a@example.com",
                "alice",
                "abc123",
                Duration::from_secs(3600),
            )
            .unwrap();
        assert_eq!(m.kind, MailKind::PasswordReset);
        assert_eq!(m.to, "a@example.com");
        assert!(
            m.text
                .contains("https://forum.example.org/password-reset/abc123")
        );
        assert!(m.text.contains("for 1 hour"));
        assert!(
            m.html
                .contains("href=\"https://forum.example.org/password-reset/abc123\"")
        );
        assert_eq!(m.subject, "Reset your password on forum.example.org");
    }

    #[test]
    fn user_text_is_escaped_in_html_and_kept_in_text() {
        let m = composer()
            .email_change(
                "x<b>@example.com",
                "alice",
                "t",
                Duration::from_secs(86_400),
            )
            .unwrap();
        assert!(m.html.contains("x&lt;b&gt;@example.com"), "{}", m.html);
        assert!(!m.html.contains("x<b>"));
        assert!(m.text.contains("x<b>@example.com"));
        assert!(m.text.contains("for 1 day"));
    }

    #[test]
    fn debug_output_leaves_out_the_bodies_and_their_links() {
        let m = composer()
            .activation(
                "a@example.com",
                "alice",
                "secret-token",
                Duration::from_secs(60),
            )
            .unwrap();
        assert!(m.text.contains("secret-token"));
        assert!(!format!("{m:?}").contains("secret-token"));
    }

    #[test]
    fn public_urls_without_http_or_with_credentials_are_refused() {
        assert!(Composer::new("ftp://example.org").is_err());
        assert!(Composer::new("not a url").is_err());
        assert!(Composer::new("https://user:pw@example.org").is_err());
        assert_eq!(
            Composer::new("http://127.0.0.1:8080/forum/")
                .unwrap()
                .home(),
            "http://127.0.0.1:8080/forum"
        );
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(in_words(Duration::from_secs(3600)), "1 hour");
        assert_eq!(in_words(Duration::from_secs(2 * 86_400)), "2 days");
        assert_eq!(in_words(Duration::from_secs(90)), "2 minutes");
    }
}
