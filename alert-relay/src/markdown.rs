//! Text from alerts made safe to show in Discord markdown: it reads as written and cannot pose
//! as the relay's own lines.
//!
//! Labels and annotations come from whoever can push an alert. Without care, a label value with
//! a line break and `✅ Resolved after 3m` adds a fake line, `[Runbook](https://evil)` adds a
//! link, `**` or `#` restyle the message and `<@123>` shows a mention. So:
//!
//! - [`inline`] (the `md` template filter): one line; markdown, link and mention syntax
//!   backslash-escaped, line breaks and other control characters shown as `↵` / a space;
//! - [`block`] (`md_block`): several lines, each escaped like [`inline`] and quoted (`> `), so a
//!   description's lines are visibly the description's;
//! - [`code`] (`code`): a code span, where Discord renders nothing (no markdown, no links, no
//!   mentions): label lists. Backticks inside become `ˋ` so the span cannot be closed early.

/// What shows a line break inside one line.
pub const LINE_BREAK: &str = " ↵ ";

/// Characters Discord markdown gives a meaning to anywhere in a line; a backslash before each
/// shows it as written. (`-` matters at the start of a line only, `:` only in `://`.)
fn is_markdown(c: char) -> bool {
    matches!(
        c,
        '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '(' | ')' | '#'
    )
}

/// Calls `f` with each piece of `s` between line breaks (`\r\n`, `\n`, `\r`, U+0085, U+2028,
/// U+2029), other control characters made spaces.
fn lines(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(String::new());
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(String::new()),
            c if c.is_control() => out.last_mut().expect("non-empty").push(' '),
            c => out.last_mut().expect("non-empty").push(c),
        }
    }
    out
}

fn escape_line(line: &str, out: &mut String) {
    // `-` starts a list or a subtext (`-# `) only at the start of a line.
    let rest = line.trim_start();
    if rest.starts_with('-') {
        out.push_str(&line[..line.len() - rest.len()]);
        out.push('\\');
        escape_rest(rest, out);
    } else {
        escape_rest(line, out);
    }
}

fn escape_rest(line: &str, out: &mut String) {
    for (i, c) in line.char_indices() {
        // `://` is what makes Discord turn a bare URL into a link.
        if is_markdown(c) || (c == ':' && line[i + 1..].starts_with("//")) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// One line, markdown escaped: shows `value` as written, line breaks as `↵`.
pub fn inline(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for (i, line) in lines(value.trim()).iter().enumerate() {
        if i > 0 {
            out.push_str(LINE_BREAK);
        }
        escape_line(line, &mut out);
    }
    out
}

/// Several lines, each escaped and quoted (`> `): a description, visibly set apart.
pub fn block(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 16);
    for (i, line) in lines(value.trim()).iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("> ");
        escape_line(line, &mut out);
    }
    out
}

/// The content of a code span: one line, backticks replaced (they would close it).
pub fn code_text(value: &str) -> String {
    lines(value).join(LINE_BREAK.trim()).replace('`', "ˋ")
}

/// A code span of `value` (empty for an empty value: Discord shows `` as two backticks).
pub fn code(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    format!("`{}`", code_text(value))
}

/// One line for an embed title (Discord shows titles as plain text): control characters become
/// spaces.
pub fn title(value: &str) -> String {
    lines(value).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_link_and_mention_syntax_is_escaped() {
        assert_eq!(inline("a*b_c`d"), "a\\*b\\_c\\`d");
        assert_eq!(
            inline("[Runbook](https://evil)"),
            "\\[Runbook\\]\\(https\\://evil\\)"
        );
        assert_eq!(inline("<@123> # x"), "\\<@123\\> \\# x");
    }

    #[test]
    fn a_line_break_cannot_start_a_line_of_its_own() {
        let forged = inline("db-1\n✅ Resolved after 3m\r\nx\u{2028}y");
        assert!(!forged.contains('\n') && !forged.contains('\u{2028}'));
        assert_eq!(forged, "db-1 ↵ ✅ Resolved after 3m ↵ x ↵ y");
        assert_eq!(inline("-# small"), "\\-\\# small");
        assert_eq!(block(" - a\nb: c"), "> \\- a\n> b: c");
        let quoted = block("first\n✅ Resolved after 3m");
        assert_eq!(quoted, "> first\n> ✅ Resolved after 3m");
        assert!(quoted.lines().all(|l| l.starts_with("> ")));
    }

    #[test]
    fn a_code_span_cannot_be_closed_from_inside() {
        assert_eq!(code("k=a`b\nc"), "`k=aˋb↵c`");
        assert_eq!(code(""), "");
        assert_eq!(title("a\nb\tc"), "a b c");
    }
}
