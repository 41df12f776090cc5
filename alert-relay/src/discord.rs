//! A rendered message as the relay keeps it in its spool ([`WebhookMessage`]), the limits
//! Discord enforces on it (breaking any is a 400 with code 50035), and its translation into
//! serenity's builders, which are what goes on the wire ([`WebhookMessage::execute_webhook`],
//! [`WebhookMessage::create_message`]).
//!
//! The record is the relay's own (the formatter measures and fills it, the spool stores it as
//! a JSON line); it has the shape of Discord's message so journals written before serenity
//! carried the messages still load.
//!
//! Lengths are counted in UTF-16 code units ([`len`]): never less than the characters Discord
//! counts, so a message within these limits is within Discord's whatever it counts.

use serde::{Deserialize, Serialize};
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed,
    CreateEmbedFooter, CreateMessage, ExecuteWebhook, RoleId, Timestamp, UserId,
};

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

/// One rendered message: what the spool keeps until Discord confirmed it.
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
    /// Bot mode: the Silence and Acknowledge buttons ([`silence_buttons`]; webhooks of users
    /// cannot carry interactive components).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub buttons: bool,
    /// The buttons as journals written before `buttons` stored them (read, never written).
    #[serde(default, rename = "components", skip_serializing)]
    pub legacy_components: Vec<serde_json::Value>,
}

impl WebhookMessage {
    fn has_buttons(&self) -> bool {
        self.buttons || !self.legacy_components.is_empty()
    }

    fn embeds(&self) -> Vec<CreateEmbed> {
        self.embeds.iter().map(Embed::create_embed).collect()
    }

    /// The body of `POST /webhooks/{id}/{token}`, as serenity builds it.
    pub fn execute_webhook(&self) -> ExecuteWebhook {
        let mut b = ExecuteWebhook::new()
            .embeds(self.embeds())
            .allowed_mentions(self.allowed_mentions.create());
        if !self.content.is_empty() {
            b = b.content(&self.content);
        }
        if let Some(u) = &self.username {
            b = b.username(u);
        }
        if let Some(a) = &self.avatar_url {
            b = b.avatar_url(a);
        }
        if self.has_buttons() {
            b = b.components(silence_buttons());
        }
        b
    }

    /// The body of `POST /channels/{id}/messages` (bot mode: no username or avatar override).
    pub fn create_message(&self) -> CreateMessage {
        let mut b = CreateMessage::new()
            .embeds(self.embeds())
            .allowed_mentions(self.allowed_mentions.create());
        if !self.content.is_empty() {
            b = b.content(&self.content);
        }
        if self.has_buttons() {
            b = b.components(silence_buttons());
        }
        b
    }
}

/// The buttons of a firing message in bot mode: their `custom_id`s are what
/// [`crate::interactions`] acts on.
pub fn silence_buttons() -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new("silence:3600")
            .label("Silence 1h")
            .style(ButtonStyle::Secondary),
        CreateButton::new("silence:86400")
            .label("Silence 24h")
            .style(ButtonStyle::Secondary),
        CreateButton::new("ack")
            .label("Acknowledge")
            .style(ButtonStyle::Primary),
    ])]
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
    /// Serenity's embed builder of this embed.
    pub fn create_embed(&self) -> CreateEmbed {
        let mut e = CreateEmbed::new();
        if !self.title.is_empty() {
            e = e.title(&self.title);
        }
        if let Some(url) = &self.url {
            e = e.url(url);
        }
        if !self.description.is_empty() {
            e = e.description(&self.description);
        }
        if let Some(c) = self.color {
            e = e.colour(c);
        }
        if let Some(t) = self
            .timestamp
            .as_deref()
            .and_then(|t| Timestamp::parse(t).ok())
        {
            e = e.timestamp(t);
        }
        e = e.fields(
            self.fields
                .iter()
                .map(|f| (f.name.clone(), f.value.clone(), f.inline)),
        );
        if let Some(f) = &self.footer {
            e = e.footer(CreateEmbedFooter::new(&f.text));
        }
        e
    }

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
/// `@everyone` or `<@id>` inside an alert's text never pings. Ids that are not snowflakes
/// (the routes file checks them) are left out rather than sent.
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

impl AllowedMentions {
    /// Serenity's builder: `parse: []` and exactly these ids.
    pub fn create(&self) -> CreateAllowedMentions {
        let ids = |v: &[String]| -> Vec<u64> {
            v.iter()
                .filter_map(|s| s.parse::<u64>().ok().filter(|id| *id != 0))
                .collect()
        };
        CreateAllowedMentions::new()
            .roles(ids(&self.roles).into_iter().map(RoleId::new))
            .users(ids(&self.users).into_iter().map(UserId::new))
    }
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
    fn an_empty_message_sends_allowed_mentions_anyway() {
        let json = serde_json::to_value(WebhookMessage::default().execute_webhook()).unwrap();
        assert_eq!(
            json["allowed_mentions"],
            serde_json::json!({"parse": [], "roles": [], "users": []})
        );
    }

    #[test]
    fn serenity_sends_what_was_rendered() {
        let m = WebhookMessage {
            content: "<@&42>".into(),
            username: Some("AM".into()),
            embeds: vec![Embed {
                title: "t".into(),
                description: "d".into(),
                color: Some(0xE0_1E5A),
                timestamp: Some("2024-01-01T00:00:00+00:00".into()),
                fields: vec![EmbedField {
                    name: "Status".into(),
                    value: "firing".into(),
                    inline: true,
                }],
                footer: Some(EmbedFooter { text: "f".into() }),
                ..Embed::default()
            }],
            allowed_mentions: AllowedMentions {
                parse: vec![],
                roles: vec!["42".into()],
                users: vec![],
            },
            buttons: true,
            legacy_components: vec![],
            avatar_url: None,
        };
        let json = serde_json::to_value(m.execute_webhook()).unwrap();
        assert_eq!(json["content"], "<@&42>");
        assert_eq!(json["username"], "AM");
        assert_eq!(json["allowed_mentions"]["roles"], serde_json::json!(["42"]));
        let e = &json["embeds"][0];
        assert_eq!((&e["title"], &e["description"]), (&"t".into(), &"d".into()));
        assert_eq!(e["color"], 0xE0_1E5A);
        assert_eq!(e["fields"][0]["name"], "Status");
        assert_eq!(e["footer"]["text"], "f");
        assert!(
            e["timestamp"]
                .as_str()
                .unwrap()
                .starts_with("2024-01-01T00:00:00")
        );
        let labels: Vec<&str> = json["components"][0]["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["Silence 1h", "Silence 24h", "Acknowledge"]);
        let bot = serde_json::to_value(m.create_message()).unwrap();
        assert!(bot.get("username").is_none());
        assert_eq!(bot["components"], json["components"]);
        // A journal line from before `buttons` keeps its buttons.
        let old: WebhookMessage = serde_json::from_value(
            serde_json::json!({"content": "x", "allowed_mentions": {"parse": []}, "components": [{"type": 1}]}),
        )
        .unwrap();
        assert!(serde_json::to_value(old.execute_webhook()).unwrap()["components"].is_array());
    }
}
