//! Markdown to sanitised HTML: pulldown-cmark renders, ammonia removes scripts, event handlers,
//! `javascript:` links and anything else outside its allow-list. Rendered once, on write.

use pulldown_cmark::{Options, Parser, html};

/// The safe HTML of a Markdown `source`.
pub fn render(source: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let parser = Parser::new_ext(source, options);
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .link_rel(Some("nofollow noopener noreferrer"))
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_becomes_html() {
        assert_eq!(render("**bold**"), "<p><strong>bold</strong></p>\n");
    }

    #[test]
    fn script_tags_are_removed() {
        let html = render("hi <script>alert(1)</script> there");
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn event_handlers_and_javascript_links_are_removed() {
        let html = render("<img src=x onerror=alert(1)> [x](javascript:alert(1))");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }
}
