//! What a file is, told from its bytes alone (the `infer` crate's magic numbers, and a check
//! for plain text): never from its name or the type the browser declared. The known types are
//! a closed set; an administrator allows some of them.

use serde::Serialize;

/// A file type the forum knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image (the first frame is kept).
    Gif,
    /// WebP image.
    Webp,
    /// PDF document.
    Pdf,
    /// Plain UTF-8 text.
    Txt,
    /// ZIP archive.
    Zip,
}

impl FileType {
    /// Every known type, in the admin panel's order.
    pub const ALL: [FileType; 7] = [
        FileType::Png,
        FileType::Jpeg,
        FileType::Gif,
        FileType::Webp,
        FileType::Pdf,
        FileType::Txt,
        FileType::Zip,
    ];

    /// The stored and configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Png => "png",
            FileType::Jpeg => "jpeg",
            FileType::Gif => "gif",
            FileType::Webp => "webp",
            FileType::Pdf => "pdf",
            FileType::Txt => "txt",
            FileType::Zip => "zip",
        }
    }

    /// The type named `s`.
    pub fn parse(s: &str) -> Option<FileType> {
        let s = s.trim().to_ascii_lowercase();
        let s = if s == "jpg" { "jpeg".to_string() } else { s };
        FileType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether it is an image (decoded, re-encoded, given a thumbnail, shown inline).
    pub fn is_image(self) -> bool {
        matches!(
            self,
            FileType::Png | FileType::Jpeg | FileType::Gif | FileType::Webp
        )
    }

    /// The MIME type files of this type are served with (images: of their re-encoded form,
    /// see [`super::images`]).
    pub fn content_type(self) -> &'static str {
        match self {
            FileType::Png | FileType::Gif | FileType::Webp => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::Pdf => "application/pdf",
            FileType::Txt => "text/plain; charset=utf-8",
            FileType::Zip => "application/zip",
        }
    }

    /// The file name extension of the stored form (images re-encoded as PNG get `png`).
    pub fn extension(self) -> &'static str {
        match self {
            FileType::Png | FileType::Gif | FileType::Webp => "png",
            FileType::Jpeg => "jpg",
            FileType::Pdf => "pdf",
            FileType::Txt => "txt",
            FileType::Zip => "zip",
        }
    }
}

/// The type of `bytes`, if it is one the forum knows. Magic numbers first; then text: UTF-8
/// without NUL or other control characters than tab, line feed, carriage return and form feed.
pub fn sniff(bytes: &[u8]) -> Option<FileType> {
    let known = infer::get(bytes).and_then(|kind| match kind.mime_type() {
        "image/png" => Some(FileType::Png),
        "image/jpeg" => Some(FileType::Jpeg),
        "image/gif" => Some(FileType::Gif),
        "image/webp" => Some(FileType::Webp),
        "application/pdf" => Some(FileType::Pdf),
        "application/zip" => Some(FileType::Zip),
        _ => None,
    });
    // Anything else that is text (HTML, SVG, scripts among it) is plain text, only ever
    // served as a download.
    known.or_else(|| is_text(bytes).then_some(FileType::Txt))
}

fn is_text(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && std::str::from_utf8(bytes).is_ok_and(|s| {
            !s.chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        })
}

/// A file name safe in a URL path and a `Content-Disposition` header: the last path component
/// of `name`, letters, digits, `.`, `-` and `_` kept (others become `-`), at most 80
/// characters, ending in the extension of `file_type` (replacing another one). Never
/// `thumbnail.png`, the name of the thumbnails.
pub fn safe_filename(name: &str, file_type: FileType) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    clean = clean.trim_matches(['.', '-']).to_string();
    let stem = match clean.rsplit_once('.') {
        Some((stem, _)) => stem.to_string(),
        None => clean,
    };
    let mut stem: String = stem.chars().take(70).collect();
    stem = stem.trim_matches(['.', '-']).to_string();
    if stem.is_empty() {
        stem = "file".into();
    }
    let name = format!("{stem}.{}", file_type.extension());
    if name == "thumbnail.png" {
        return "thumbnail-image.png".into();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_magic_bytes_not_names() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileType::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(FileType::Jpeg));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some(FileType::Gif));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0"), Some(FileType::Zip));
        assert_eq!(sniff(b"hello\nworld\n"), Some(FileType::Txt));
        assert_eq!(
            sniff(b"<html><script>alert(1)</script></html>"),
            Some(FileType::Txt)
        );
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0"), None);
        assert_eq!(sniff(b"binary\0data"), None);
        assert_eq!(sniff(b"<svg onload=alert(1)></svg>"), Some(FileType::Txt));
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn names_are_cleaned_and_take_the_sniffed_extension() {
        assert_eq!(safe_filename("cat.png", FileType::Png), "cat.png");
        assert_eq!(safe_filename("notes.txt", FileType::Png), "notes.png");
        assert_eq!(safe_filename("page.png", FileType::Txt), "page.txt");
        assert_eq!(
            safe_filename("../../etc/pass wd.jpeg", FileType::Jpeg),
            "pass-wd.jpg"
        );
        assert_eq!(safe_filename("", FileType::Pdf), "file.pdf");
        assert_eq!(
            safe_filename("thumbnail.gif", FileType::Gif),
            "thumbnail-image.png"
        );
        assert_eq!(safe_filename("<script>.zip", FileType::Zip), "script.zip");
        assert!(safe_filename(&"a".repeat(500), FileType::Txt).len() <= 80);
        assert_eq!(FileType::parse("JPG"), Some(FileType::Jpeg));
        assert_eq!(FileType::parse("exe"), None);
    }
}
