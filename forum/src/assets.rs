//! Static assets (CSS, JS), embedded in the binary: served at `/static/` by the web role and
//! written to a directory by `forum static DIR` for nginx.

use std::path::Path;

use anyhow::Context as _;

/// Every asset: name, content, MIME type.
pub const ASSETS: [(&str, &str, &str); 3] = [
    (
        "style.css",
        include_str!("../assets/style.css"),
        "text/css; charset=utf-8",
    ),
    (
        "forum.js",
        include_str!("../assets/forum.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "posting.js",
        include_str!("../assets/posting.js"),
        "text/javascript; charset=utf-8",
    ),
];

/// The content and MIME type of asset `name`.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, body, mime)| (*body, *mime))
}

/// Writes every asset into `dir` (created if missing); returns the paths written.
pub fn write_all(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    ASSETS
        .iter()
        .map(|(name, body, _)| {
            let path = dir.join(name);
            std::fs::write(&path, body)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        })
        .collect()
}
