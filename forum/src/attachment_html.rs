//! Images of attachments shown as their thumbnails: in a post's sanitised HTML, an
//! `<img src="/attachments/{id}/{name}.png|.jpg" ...>` becomes the thumbnail
//! (`/attachments/{id}/thumbnail.png`) inside a link to the full image, so a thread page loads
//! small images and a reader clicks for the large one. Only names the forum itself gives
//! attachments (letters, digits, `.`, `-`, `_`) are rewritten; anything else is left as it is.

const SRC: &str = "<img src=\"/attachments/";

/// `html` with the attachment images replaced by linked thumbnails.
pub fn thumbnails(html: &str) -> String {
    if !html.contains(SRC) {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len() + 128);
    let mut rest = html;
    while let Some(start) = rest.find(SRC) {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let Some(end) = tag.find('>') else {
            out.push_str(tag);
            return out;
        };
        let (img, after) = tag.split_at(end + 1);
        match rewrite(img) {
            Some(new) => out.push_str(&new),
            None => out.push_str(img),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The linked thumbnail of one `<img ...>` tag, if it shows an attachment image.
fn rewrite(img: &str) -> Option<String> {
    let path_start = "<img src=\"".len();
    let path_end = path_start + img[path_start..].find('"')?;
    let path = &img[path_start..path_end];
    let (id, name) = path.strip_prefix("/attachments/")?.split_once('/')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let safe = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let image = name.ends_with(".png") || name.ends_with(".jpg");
    if !safe || !image || name == "thumbnail.png" {
        return None;
    }
    let thumb = format!("/attachments/{id}/thumbnail.png");
    let tag = format!(
        "<img class=\"attachment-thumbnail\" src=\"{thumb}\"{}",
        &img[path_end + 1..]
    );
    Some(format!("<a class=\"attachment\" href=\"{path}\">{tag}</a>"))
}

#[cfg(test)]
mod tests {
    use super::thumbnails;

    #[test]
    fn attachment_images_become_linked_thumbnails() {
        let html = "<p><img src=\"/attachments/12/cat.png\" alt=\"cat\"> text</p>";
        assert_eq!(
            thumbnails(html),
            "<p><a class=\"attachment\" href=\"/attachments/12/cat.png\"><img class=\"attachment-thumbnail\" \
             src=\"/attachments/12/thumbnail.png\" alt=\"cat\"></a> text</p>"
        );
    }

    #[test]
    fn other_images_and_odd_names_are_left_alone() {
        for html in [
            "<img src=\"https://example.org/a.png\" alt=\"\">",
            "<img src=\"/attachments/x/a.png\" alt=\"\">",
            "<img src=\"/attachments/3/doc.pdf\" alt=\"\">",
            "<img src=\"/attachments/3/a&amp;b.png\" alt=\"\">",
            "<img src=\"/attachments/3/thumbnail.png\" alt=\"\">",
            "<p>no images</p>",
        ] {
            assert_eq!(thumbnails(html), html);
        }
    }
}
