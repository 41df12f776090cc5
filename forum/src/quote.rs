//! The Markdown of a quote: a block quote whose first line names the author and links the
//! post, `> @name wrote in [post #ID](/p/ID/):`, followed by the quoted text as `> ` lines.
//! Quotes inside the quoted text are left out, so quoting a quote does not nest deeper and
//! deeper; the quoted text is cut at [`MAX_QUOTED_CHARS`].

/// The most characters of a post a quote takes.
pub const MAX_QUOTED_CHARS: usize = 10_000;

/// The quote of post `post_id` by `author` whose Markdown is `body`, ending with a blank line.
pub fn quote(author: &str, post_id: i64, body: &str) -> String {
    let mut out = format!("> @{author} wrote in [post #{post_id}](/p/{post_id}/):\n");
    let text: String = body.chars().take(MAX_QUOTED_CHARS).collect();
    let mut last_blank = true;
    for line in text.lines() {
        if line.trim_start().starts_with('>') {
            continue;
        }
        let blank = line.trim().is_empty();
        if blank && last_blank {
            continue;
        }
        last_blank = blank;
        if blank {
            out.push_str(">\n");
        } else {
            out.push_str("> ");
            out.push_str(line);
            out.push('\n');
        }
    }
    // A blank quoted line is a lone `>`: none is left at the end.
    while out.ends_with("\n>\n") {
        out.truncate(out.len() - 2);
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn a_quote_names_the_author_links_the_post_and_quotes_each_line() {
        assert_eq!(
            quote("alice", 42, "first line\nsecond line"),
            "> @alice wrote in [post #42](/p/42/):\n> first line\n> second line\n\n"
        );
        assert_eq!(
            quote("bob", 3, "a <b>\n\n"),
            "> @bob wrote in [post #3](/p/3/):\n> a <b>\n\n"
        );
    }

    #[test]
    fn nested_quotes_and_trailing_blank_lines_are_left_out() {
        let q = quote(
            "bob",
            7,
            "> @carol wrote in [post #1](/p/1/):\n> old\n\nnew text\n\n\n",
        );
        assert_eq!(q, "> @bob wrote in [post #7](/p/7/):\n> new text\n\n");
    }
}
