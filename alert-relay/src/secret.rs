//! Secrets that must never reach logs, metrics, errors or `Debug` output: the inbound token
//! ([`Secret`]) and Discord webhook URLs, whose path carries the webhook's token ([`WebhookUrl`]).

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret string. `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `candidate` in constant time (hashes first, so the length leaks nothing).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(candidate);
        a.ct_eq(&b).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Reads a secret from a file (a Kubernetes Secret mount): the content, trailing newline removed.
pub fn read_secret_file(path: &Path) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read secret file {}: {e}", path.display()))?;
    let value = text.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(!value.is_empty(), "secret file {} is empty", path.display());
    Ok(Secret(value))
}

/// A Discord webhook: its id (public) and token (secret), parsed from
/// `https://discord.com/api/webhooks/{id}/{token}` (any host, any `/api/vN` prefix).
/// Printing it shows `webhook {id}`, never the token.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    id: String,
    token: Secret,
}

/// Why a webhook URL was refused. Never contains the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookUrlError {
    /// Not `.../webhooks/{id}/{token}`.
    #[error("not a Discord webhook URL: expected https://discord.com/api/webhooks/<id>/<token>")]
    Shape,
    /// The id is not a snowflake.
    #[error("the webhook id must be a number (a Discord snowflake)")]
    Id,
}

impl WebhookUrl {
    /// Parses a webhook URL as Discord shows it in a channel's integration settings.
    pub fn parse(value: &str) -> Result<Self, WebhookUrlError> {
        let url = url::Url::parse(value.trim()).map_err(|_| WebhookUrlError::Shape)?;
        let segments: Vec<&str> = url.path_segments().ok_or(WebhookUrlError::Shape)?.collect();
        let at = segments
            .iter()
            .position(|s| *s == "webhooks")
            .ok_or(WebhookUrlError::Shape)?;
        let (Some(id), Some(token)) = (segments.get(at + 1), segments.get(at + 2)) else {
            return Err(WebhookUrlError::Shape);
        };
        if segments.len() > at + 3 && !segments[at + 3..].iter().all(|s| s.is_empty()) {
            return Err(WebhookUrlError::Shape);
        }
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WebhookUrlError::Id);
        }
        if token.is_empty() {
            return Err(WebhookUrlError::Shape);
        }
        Ok(WebhookUrl {
            id: id.to_string(),
            token: Secret::new(*token),
        })
    }

    /// The webhook id (not secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The webhook token (secret: for the request path only).
    pub fn token(&self) -> &Secret {
        &self.token
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({}/<redacted>)", self.id)
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "webhook {}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://discord.com/api/webhooks/123456789/s3cr3t-t0ken_xyz";

    #[test]
    fn a_webhook_url_never_prints_its_token() {
        let w = WebhookUrl::parse(URL).unwrap();
        assert_eq!(w.id(), "123456789");
        for shown in [format!("{w:?}"), format!("{w}"), format!("{:?}", Some(&w))] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(shown.contains("123456789"), "{shown}");
        }
    }

    #[test]
    fn malformed_webhook_urls_are_refused_without_echoing_them() {
        assert_eq!(
            WebhookUrl::parse("https://discord.com/api/webhooks/abc/tok"),
            Err(WebhookUrlError::Id)
        );
        assert_eq!(
            WebhookUrl::parse("https://discord.com/api/webhooks/1"),
            Err(WebhookUrlError::Shape)
        );
        assert_eq!(
            WebhookUrl::parse("not a url secret"),
            Err(WebhookUrlError::Shape)
        );
        assert!(!WebhookUrlError::Shape.to_string().contains("secret"));
    }

    #[test]
    fn secrets_compare_in_constant_time_and_print_redacted() {
        let s = Secret::new("hunter2");
        assert!(s.matches(b"hunter2"));
        assert!(!s.matches(b"hunter3"));
        assert!(!s.matches(b""));
        assert_eq!(format!("{s:?} {s}"), "Secret(<redacted>) <redacted>");
    }

    #[test]
    fn a_secret_file_loses_its_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        assert!(read_secret_file(&path).unwrap().matches(b"abc"));
        std::fs::write(&path, "\n").unwrap();
        assert!(read_secret_file(&path).is_err());
    }
}
