//! The landing page every exporter serves at `/`.

use service_kit::build_info::REVISION;

/// What the landing page and logs say about an exporter.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// Binary name, e.g. `nginx-log-exporter`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// One sentence for the landing page.
    pub description: &'static str,
    /// The port registered for this exporter in the README.
    pub default_port: u16,
    /// Extra links for the landing page: (path, label).
    pub links: Vec<(String, String)>,
}

/// The HTML of `GET /`: what the exporter is, its version, and links to what it serves.
pub fn page(meta: &Metadata, telemetry_path: &str) -> String {
    let mut links = vec![(telemetry_path.to_string(), "Metrics".to_string())];
    links.extend(meta.links.iter().cloned());
    links.push(("/-/healthy".into(), "Health".into()));
    links.push(("/-/ready".into(), "Readiness".into()));
    let items: String = links
        .iter()
        .map(|(href, label)| {
            format!(
                "<li><a href=\"{}\">{}</a></li>",
                escape(href),
                escape(label)
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name}</title>\
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5}}code{{background:#eee;padding:0 .2em}}</style></head>\
<body><h1>{name}</h1><p>{description}</p><p>Version <code>{version}</code>, revision <code>{revision}</code></p>\
<ul>{items}</ul></body></html>\n",
        name = escape(meta.name),
        description = escape(meta.description),
        version = escape(meta.version),
        revision = escape(REVISION),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_metrics_extra_links_and_health_and_escapes_text() {
        let meta = Metadata {
            name: "demo<exporter>",
            version: "1.0",
            description: "Says \"hi\" & more",
            default_port: 0,
            links: vec![("/probe?x=1&y=2".into(), "Probe".into())],
        };
        let html = page(&meta, "/custom-metrics");
        assert!(html.contains("<h1>demo&lt;exporter&gt;</h1>"), "{html}");
        assert!(html.contains("Says &quot;hi&quot; &amp; more"), "{html}");
        let order: Vec<usize> = [
            "/custom-metrics",
            "/probe?x=1&amp;y=2",
            "/-/healthy",
            "/-/ready",
        ]
        .iter()
        .map(|href| html.find(&format!("href=\"{href}\"")).expect(href))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }
}
