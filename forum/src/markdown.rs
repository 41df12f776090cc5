//! Markdown to sanitised HTML: pulldown-cmark renders, ammonia removes scripts, event handlers,
//! `javascript:` links and anything else outside its allow-list; attachment images become linked
//! thumbnails ([`crate::attachment_html`]). Rendered once, on write.
//!
//! Rendering is bounded: a source nested deeper than [`MAX_NESTING`] block containers (block
//! quotes, list items) is refused before it reaches the parser (deep nesting is what makes the
//! parser and the sanitiser slow and the output many times the input), and HTML longer than
//! [`MAX_OUTPUT_BYTES`] is refused. [`render_off_runtime`] runs the work on tokio's blocking
//! threads so a large post never stalls the threads serving requests.

use pulldown_cmark::{Options, Parser, html};

/// The deepest nesting of block quotes and list items a post may use.
pub const MAX_NESTING: usize = 16;

/// The longest rendered HTML of one post.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// Why a source was not rendered.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MarkdownError {
    /// Block quotes or lists nested deeper than [`MAX_NESTING`].
    #[error(
        "the message nests quotes or lists more than {} levels deep",
        MAX_NESTING
    )]
    TooDeep,
    /// The HTML would be longer than [`MAX_OUTPUT_BYTES`].
    #[error("the message is too long once formatted")]
    TooLarge,
}

/// The deepest run of block-container markers (`>`, `-`, `*`, `+`, `1.`, `1)`) opening any line
/// of `source`, an upper bound of the nesting the parser will build. Linear in the source.
pub fn nesting_depth(source: &str) -> usize {
    source.lines().map(line_depth).max().unwrap_or(0)
}

fn line_depth(line: &str) -> usize {
    let b = line.as_bytes();
    let (mut i, mut depth) = (0, 0);
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'>' => {
                depth += 1;
                i += 1;
            }
            b'-' | b'*' | b'+' if b.get(i + 1).is_none_or(|c| *c == b' ' || *c == b'\t') => {
                depth += 1;
                i += 1;
            }
            b'0'..=b'9' => {
                let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                match b.get(i + digits) {
                    Some(b'.' | b')') if digits <= 9 => {
                        depth += 1;
                        i += digits + 1;
                    }
                    _ => break,
                }
            }
            _ => break,
        }
    }
    depth
}

/// The safe HTML of a Markdown `source`, or why it is refused.
pub fn render(source: &str) -> Result<String, MarkdownError> {
    if nesting_depth(source) > MAX_NESTING {
        return Err(MarkdownError::TooDeep);
    }
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let parser = Parser::new_ext(source, options);
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    sanitise(unsafe_html)
}

/// As [`render`], with `@name` mentions outside code and links turned into links to the
/// profiles of `members` (lower-case name to id; see [`crate::mentions`]).
pub fn render_with_mentions(
    source: &str,
    members: &std::collections::HashMap<String, i64>,
) -> Result<String, MarkdownError> {
    if nesting_depth(source) > MAX_NESTING {
        return Err(MarkdownError::TooDeep);
    }
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let parser = Parser::new_ext(source, options);
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut unsafe_html, crate::mentions::link(parser, members));
    sanitise(unsafe_html)
}

fn sanitise(unsafe_html: String) -> Result<String, MarkdownError> {
    if unsafe_html.len() > MAX_OUTPUT_BYTES {
        return Err(MarkdownError::TooLarge);
    }
    let safe = ammonia::Builder::default()
        .link_rel(Some("nofollow noopener noreferrer"))
        .clean(&unsafe_html)
        .to_string();
    let safe = crate::attachment_html::thumbnails(&safe);
    if safe.len() > MAX_OUTPUT_BYTES {
        return Err(MarkdownError::TooLarge);
    }
    Ok(safe)
}

/// [`render_with_mentions`] on tokio's blocking threads.
pub async fn render_with_mentions_off_runtime(
    source: &str,
    members: std::collections::HashMap<String, i64>,
) -> Result<String, MarkdownError> {
    if nesting_depth(source) > MAX_NESTING {
        return Err(MarkdownError::TooDeep);
    }
    let owned = source.to_owned();
    match tokio::task::spawn_blocking(move || render_with_mentions(&owned, &members)).await {
        Ok(result) => result,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// [`render`] on tokio's blocking threads (the nesting check first, so a refused source costs
/// no thread hop).
pub async fn render_off_runtime(source: &str) -> Result<String, MarkdownError> {
    if nesting_depth(source) > MAX_NESTING {
        return Err(MarkdownError::TooDeep);
    }
    let owned = source.to_owned();
    match tokio::task::spawn_blocking(move || render(&owned)).await {
        Ok(result) => result,
        // The closure does not panic on any input; if it ever did, the request fails like one.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_NESTING, MarkdownError, nesting_depth, render};

    #[test]
    fn markdown_becomes_html() {
        assert_eq!(
            render("**bold**").unwrap(),
            "<p><strong>bold</strong></p>\n"
        );
    }

    #[test]
    fn script_tags_are_removed() {
        let html = render("hi <script>alert(1)</script> there").unwrap();
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn event_handlers_and_javascript_links_are_removed() {
        let html = render("<img src=x onerror=alert(1)> [x](javascript:alert(1))").unwrap();
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn nesting_counts_quotes_and_list_markers_at_line_starts() {
        assert_eq!(nesting_depth("plain\ntext"), 0);
        assert_eq!(nesting_depth("> > quoted"), 2);
        assert_eq!(nesting_depth("- > 1. * x"), 4);
        assert_eq!(nesting_depth("-not a list"), 0);
        assert_eq!(nesting_depth("2026 was a year"), 0);
        assert_eq!(nesting_depth("a > b > c"), 0);
    }

    #[test]
    fn usual_nesting_renders_and_deep_nesting_is_refused() {
        let ok = "> ".repeat(MAX_NESTING) + "fine";
        assert!(render(&ok).unwrap().contains("fine"));
        let deep = ">".repeat(45_000);
        assert_eq!(render(&deep), Err(MarkdownError::TooDeep));
        let lists = "- ".repeat(MAX_NESTING + 1) + "x";
        assert_eq!(render(&lists), Err(MarkdownError::TooDeep));
    }
}
