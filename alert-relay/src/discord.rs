//! Discord's execute-webhook body, field for field as its API documents it, and the limits
//! Discord enforces on it (breaking any is a 400 with code 50035).
//!
//! Lengths are counted in UTF-16 code units ([`len`]): never less than the characters Discord
//! counts, so a message within these limits is within Discord's whatever it counts.

use serde::{Deserialize, Serialize};

/// `content`: 2000.
pub const CONTENT_MAX: usize = 2000;
/// Embeds per message: 10.
pub const EMBEDS_MAX: usize = 10;
/// Embed title: 256.
pub const TITLE_MAX: usize = 256;
/// Embed description: 4096.
pub const DESCRIPTION_MAX: usize = 4096;
/// Fields per embed: 25.
pub const FIELDS_MAX: usize = 25;
/// Field name: 256.
pub const FIELD_NAME_MAX: usize = 256;
/// Field value: 1024.
pub const FIELD_VALUE_MAX: usize = 1024;
/// Footer text: 2048.
pub const FOOTER_MAX: usize = 2048;
/// Author name: 256.
pub const AUTHOR_MAX: usize = 256;
/// All embeds of a message together: 6000.
pub const EMBEDS_TOTAL_MAX: usize = 6000;
/// Webhook username: 80.
pub const USERNAME_MAX: usize = 80;
/// Role or user ids in `allowed_mentions`: 100 each.
pub const MENTION_IDS_MAX: usize = 100;
/// What ends a truncated text.
pub const MARKER: &str = "…";

/// The length Discord's limits are checked against (conservatively, UTF-16 units).
pub fn len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `s` cut to at most `max` units, ending with [`MARKER`] when cut (on a char boundary).
pub fn truncate(s: &str, max: usize) -> String {
    if len(s) <= max {
        return s.to_string();
    }
    let budget = max.saturating_sub(len(MARKER));
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    out.push_str(MARKER);
    out
}

/// The body of `POST /webhooks/{id}/{token}?wait=true`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookMessage {
    /// Plain text (the only part that pings).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content: String,
    /// Overrides the webhook's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Overrides the webhook's avatar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// Rich embeds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Embed>,
    /// Who may be pinged: always sent, so text in an alert can never ping anyone else.
    pub allowed_mentions: AllowedMentions,
    /// Buttons (bot mode only; webhooks of users cannot carry interactive components).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<serde_json::Value>,
}

/// A rich embed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Embed {
    /// Title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Link of the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Markdown body.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Side colour, `0xRRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    /// ISO 8601 time shown in the footer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Name/value pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
    /// Footer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<EmbedFooter>,
}

impl Embed {
    /// What this embed counts towards the 6000 total.
    pub fn total_len(&self) -> usize {
        len(&self.title)
            + len(&self.description)
            + self
                .fields
                .iter()
                .map(|f| len(&f.name) + len(&f.value))
                .sum::<usize>()
            + self.footer.as_ref().map_or(0, |f| len(&f.text))
    }
}

/// An embed field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedField {
    /// Name (non-empty).
    pub name: String,
    /// Value (non-empty).
    pub value: String,
    /// Shown side by side with its neighbours.
    #[serde(default)]
    pub inline: bool,
}

/// An embed footer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedFooter {
    /// Its text.
    pub text: String,
}

/// `allowed_mentions`: only the listed roles and users may be pinged; `parse` stays empty, so
/// `@everyone` or `<@id>` inside an alert's text never pings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AllowedMentions {
    /// Kinds parsed from content (always empty here).
    pub parse: Vec<String>,
    /// Role ids that may be pinged.
    #[serde(default)]
    pub roles: Vec<String>,
    /// User ids that may be pinged.
    #[serde(default)]
    pub users: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_the_limit_and_marks_the_cut() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("hello!", 5), "hell…");
        let emoji = "🔥".repeat(10);
        let cut = truncate(&emoji, 7);
        assert!(len(&cut) <= 7, "{cut}");
        assert!(cut.ends_with(MARKER));
    }

    #[test]
    fn an_empty_message_serialises_allowed_mentions_anyway() {
        let json = serde_json::to_value(WebhookMessage::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"allowed_mentions": {"parse": [], "roles": [], "users": []}})
        );
    }
}
