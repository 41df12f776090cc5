//! `@name` mentions in a post's Markdown: which names a post mentions ([`names`]) and the
//! rendering step that links them to the members' profiles ([`link`]). Mentions inside code
//! spans, code blocks, links and raw HTML are text, not mentions. Which names exist, and who is
//! notified, is `models::notifications`'.

use std::collections::HashMap;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, TextMergeStream};

/// The most distinct names of one post that are looked up, linked and notified; the rest
/// stay text.
pub const MAX_MENTIONS: usize = 10;

/// Characters a username may have besides letters and digits (see `models::users`).
fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The mentions in `text`: byte range of `@name` and the name in lower case. An `@` right
/// after a name character (an e-mail address) or a slash (a URL) does not start a mention; a
/// trailing dot ends a sentence, not the name.
fn scan(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut found = Vec::new();
    let mut prev: Option<char> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c == '@' && !prev.is_some_and(|p| name_char(p) || p == '/' || p == '@') {
            let start = i + 1;
            let mut end = start;
            while let Some(&(j, d)) = iter.peek() {
                if !name_char(d) {
                    break;
                }
                end = j + d.len_utf8();
                iter.next();
            }
            let name = text[start..end].trim_end_matches('.');
            let chars = name.chars().count();
            if (3..=32).contains(&chars) {
                found.push((i..start + name.len(), name.to_lowercase()));
            }
            prev = text[..end].chars().next_back();
            continue;
        }
        prev = Some(c);
    }
    found
}

fn options() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options
}

/// Walks the text of `events` that may hold mentions (not code, links or HTML).
fn mention_text<'a>(events: impl Iterator<Item = Event<'a>>, mut f: impl FnMut(Event<'a>, bool)) {
    let (mut code, mut link) = (0usize, 0usize);
    for event in TextMergeStream::new(events) {
        match &event {
            Event::Start(Tag::CodeBlock(_)) => code += 1,
            Event::End(TagEnd::CodeBlock) => code = code.saturating_sub(1),
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => link += 1,
            Event::End(TagEnd::Link | TagEnd::Image) => link = link.saturating_sub(1),
            _ => {}
        }
        let open = code == 0 && link == 0 && matches!(event, Event::Text(_));
        f(event, open);
    }
}

/// The distinct names (lower case) `source` mentions, in order, at most [`MAX_MENTIONS`].
pub fn names(source: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    mention_text(Parser::new_ext(source, options()), |event, open| {
        if let (Event::Text(t), true) = (&event, open) {
            for (_, name) in scan(t) {
                if names.len() < MAX_MENTIONS && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    });
    names
}

/// `events` with each mention of a name in `members` (lower case name to id) as a link to
/// `/u/{id}/`.
pub fn link<'a>(
    events: Parser<'a>,
    members: &HashMap<String, i64>,
) -> impl Iterator<Item = Event<'a>> {
    let mut out = Vec::new();
    mention_text(events, |event, open| {
        let Event::Text(text) = &event else {
            out.push(event);
            return;
        };
        if !open || members.is_empty() {
            out.push(event);
            return;
        }
        let mut last = 0;
        for (range, name) in scan(text) {
            let Some(id) = members.get(&name) else {
                continue;
            };
            if range.start > last {
                out.push(Event::Text(CowStr::from(
                    text[last..range.start].to_string(),
                )));
            }
            out.push(Event::InlineHtml(CowStr::from(format!(
                "<a href=\"/u/{id}/\">"
            ))));
            out.push(Event::Text(CowStr::from(text[range.clone()].to_string())));
            out.push(Event::InlineHtml(CowStr::from("</a>")));
            last = range.end;
        }
        if last == 0 {
            out.push(event);
        } else if last < text.len() {
            out.push(Event::Text(CowStr::from(text[last..].to_string())));
        }
    });
    out.into_iter()
}

/// The ids of the posts `source` quotes: `/p/ID/` links on block-quote lines (the quote
/// button writes `> @name wrote in [post #ID](/p/ID/):`), at most [`MAX_MENTIONS`].
pub fn quoted_posts(source: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for line in source.lines() {
        if !line.trim_start().starts_with('>') {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("(/p/") {
            rest = &rest[at + 4..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if rest[digits.len()..].starts_with("/)")
                && let Ok(id) = digits.parse::<i64>()
                && id > 0
                && !ids.contains(&id)
                && ids.len() < MAX_MENTIONS
            {
                ids.push(id);
            }
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_outside_code_and_links_once_each() {
        let src = "Hi @Alice and @bob.\n\n`@carol` and [@dave](/x) @alice\n\n```\n@erin\n```\n\nmail me at x@frank.org";
        assert_eq!(names(src), vec!["alice", "bob"]);
    }

    #[test]
    fn short_long_and_capped_names() {
        assert!(names("@ab").is_empty());
        assert!(names(&format!("@{}", "a".repeat(33))).is_empty());
        let many: String = (0..20).map(|i| format!("@member{i} ")).collect();
        assert_eq!(names(&many).len(), MAX_MENTIONS);
    }

    #[test]
    fn known_names_become_links_and_the_rest_stays_text() {
        let members = HashMap::from([("alice".to_string(), 7)]);
        let html =
            crate::markdown::render_with_mentions("hi @Alice, @nobody and `@alice`", &members)
                .unwrap();
        assert!(
            html.contains("<a href=\"/u/7/\" rel=\"nofollow noopener noreferrer\">@Alice</a>"),
            "{html}"
        );
        assert!(html.contains("@nobody"), "{html}");
        assert!(html.contains("<code>@alice</code>"), "{html}");
    }

    #[test]
    fn quotes_name_their_posts() {
        let src = "> @bob wrote in [post #12](/p/12/):\n> text\n\nsee [post](/p/13/)";
        assert_eq!(quoted_posts(src), vec![12]);
    }
}
