//! Optional: nginx's `stub_status` page, read on each scrape and exported with
//! nginx-prometheus-exporter's names (`nginx_up`, `nginx_connections_*`), except the request
//! total, which is `nginx_stub_requests_total` (`nginx_http_requests_total` is the log's).

use std::sync::Arc;
use std::time::Duration;

use exporter_kit::Collect;
use prometheus_client::registry::Registry;

/// Why stub_status cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StubStatusError {
    /// `--nginx.scrape-uri` is not a URL.
    #[error("invalid --nginx.scrape-uri {uri:?}: {error}")]
    Uri {
        /// The URI as given.
        uri: String,
        /// Why.
        error: String,
    },
    /// The HTTP client cannot be built (TLS roots).
    #[error("cannot build the HTTP client for stub_status")]
    Client(#[source] reqwest::Error),
}

/// The figures of one stub_status page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StubStatus {
    /// Active connections.
    pub active: u64,
    /// Accepted connections.
    pub accepted: u64,
    /// Handled connections.
    pub handled: u64,
    /// Requests.
    pub requests: u64,
    /// Connections reading the request.
    pub reading: u64,
    /// Connections writing the response.
    pub writing: u64,
    /// Idle keep-alive connections.
    pub waiting: u64,
}

/// Parses the stub_status page.
pub fn parse(text: &str) -> Option<StubStatus> {
    let mut s = StubStatus::default();
    let mut lines = text.lines();
    s.active = lines
        .next()?
        .strip_prefix("Active connections:")?
        .trim()
        .parse()
        .ok()?;
    let _header = lines.next()?;
    let mut counts = lines.next()?.split_whitespace().map(str::parse::<u64>);
    s.accepted = counts.next()?.ok()?;
    s.handled = counts.next()?.ok()?;
    s.requests = counts.next()?.ok()?;
    let words: Vec<&str> = lines.next()?.split_whitespace().collect();
    for pair in words.chunks(2) {
        if let [name, value] = pair {
            let v = value.parse().ok()?;
            match *name {
                "Reading:" => s.reading = v,
                "Writing:" => s.writing = v,
                "Waiting:" => s.waiting = v,
                _ => {}
            }
        }
    }
    Some(s)
}

/// OpenMetrics text of a stub_status result (`None`: nginx unreachable, `nginx_up 0`).
pub fn render(status: Option<&StubStatus>) -> String {
    let mut out = String::from(
        "# HELP nginx_up Whether the last stub_status scrape succeeded.\n# TYPE nginx_up gauge\n",
    );
    out.push_str(if status.is_some() {
        "nginx_up 1\n"
    } else {
        "nginx_up 0\n"
    });
    let Some(s) = status else { return out };
    let gauges = [
        (
            "nginx_connections_active",
            "Active client connections.",
            s.active,
        ),
        (
            "nginx_connections_reading",
            "Connections where nginx is reading the request header.",
            s.reading,
        ),
        (
            "nginx_connections_writing",
            "Connections where nginx is writing the response.",
            s.writing,
        ),
        (
            "nginx_connections_waiting",
            "Idle client connections.",
            s.waiting,
        ),
    ];
    for (name, help, v) in gauges {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
        ));
    }
    let counters = [
        (
            "nginx_connections_accepted",
            "Accepted client connections.",
            s.accepted,
        ),
        (
            "nginx_connections_handled",
            "Handled client connections.",
            s.handled,
        ),
        (
            "nginx_stub_requests",
            "Client requests, from stub_status.",
            s.requests,
        ),
    ];
    for (name, help, v) in counters {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name}_total {v}\n"
        ));
    }
    out
}

/// A [`Collect`] that encodes `registry` and appends a fresh stub_status scrape of `uri`.
pub fn collect(registry: Arc<Registry>, uri: &str) -> Result<Collect, StubStatusError> {
    let url = reqwest::Url::parse(uri).map_err(|e| StubStatusError::Uri {
        uri: uri.to_string(),
        error: e.to_string(),
    })?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(StubStatusError::Client)?;
    Ok(Arc::new(move |ctx| {
        let registry = registry.clone();
        let client = client.clone();
        let url = url.clone();
        Box::pin(async move {
            let timeout = ctx
                .timeout
                .unwrap_or(Duration::from_secs(5))
                .min(Duration::from_secs(5));
            let status = match client.get(url).timeout(timeout).send().await {
                Ok(resp) if resp.status().is_success() => {
                    resp.text().await.ok().and_then(|t| parse(&t))
                }
                Ok(resp) => {
                    tracing::warn!(status = %resp.status(), "stub_status scrape failed");
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "stub_status scrape failed");
                    None
                }
            };
            let mut text = String::with_capacity(16 * 1024);
            prometheus_client::encoding::text::encode(&mut text, &registry)
                .map_err(|e| e.to_string())?;
            let eof = text.rfind("# EOF").unwrap_or(text.len());
            text.truncate(eof);
            text.push_str(&render(status.as_ref()));
            text.push_str("# EOF\n");
            Ok(text)
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stub_status_page_parses() {
        let page = "Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n";
        let s = parse(page).unwrap();
        assert_eq!(
            s,
            StubStatus {
                active: 291,
                accepted: 16630948,
                handled: 16630948,
                requests: 31070465,
                reading: 6,
                writing: 179,
                waiting: 106
            }
        );
        let text = render(Some(&s));
        assert!(
            text.contains("nginx_up 1\n") && text.contains("nginx_stub_requests_total 31070465\n"),
            "{text}"
        );
        assert_eq!(parse("<html>"), None);
        assert_eq!(render(None).lines().last(), Some("nginx_up 0"));
    }
}
