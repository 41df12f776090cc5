//! The long-running mode: the tailer on its thread, feeding the shared state, and the HTTP
//! server encoding it on each scrape.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use exporter_kit::server::Collect;
use exporter_kit::{Metadata, Server};
use prometheus_client::registry::Registry;

use crate::cli::Args;
use crate::collector::{Shared, lock, registry, state};
use crate::config::{Plan, Source};
use crate::lineformat::LineFormat;
use crate::stub_status;
use crate::tailer::{self, FileServer, Options, Pace, TailEvents, TailerHandle};

/// How long a rotated-away file stays open after its last growth (nginx keeps writing to it
/// until `nginx -s reopen`).
const ROTATE_WAIT: Duration = Duration::from_secs(10);

/// The application's side of the tailer: lines into the aggregator, file news into the
/// tailer metrics.
pub struct Feed {
    shared: Shared,
    formats: Arc<Vec<LineFormat>>,
    sources: Vec<Source>,
}

impl Feed {
    /// A feed into `shared` for the plan's sources.
    pub fn new(shared: Shared, plan: &Plan) -> Feed {
        Feed {
            shared,
            formats: Arc::new(plan.formats.clone()),
            sources: plan.sources.clone(),
        }
    }
}

fn label_path(path: &Path) -> String {
    path.display().to_string().replace(['"', '\\', '\n'], "_")
}

impl TailEvents for Feed {
    fn lines(&mut self, source: usize, block: &[u8]) {
        let src = &self.sources[source];
        lock(&self.shared)
            .agg
            .process_block(&self.formats[src.format], src.labels, block);
    }

    fn too_long(&mut self, _source: usize, bytes: u64) {
        lock(&self.shared).agg.count_too_long(bytes);
    }

    fn rotated(&mut self, _path: &Path) {
        lock(&self.shared).tail.rotations += 1;
    }

    fn truncated(&mut self, _path: &Path) {
        lock(&self.shared).tail.truncations += 1;
    }

    fn rotated_file_lost(&mut self, _path: &Path) {
        lock(&self.shared).tail.rotated_files_lost += 1;
    }

    fn watched(&mut self, files: &[(PathBuf, u64)]) {
        let mut state = lock(&self.shared);
        state.tail.files_watched = files.len() as u64;
        state.tail.lag = files.iter().map(|(p, lag)| (label_path(p), *lag)).collect();
    }
}

/// Checks the formats against the files there now, then starts the tailer.
pub fn start_tailer(args: &Args, plan: &Plan, shared: Shared) -> anyhow::Result<TailerHandle> {
    for source in &plan.sources {
        for path in source.pattern.expand() {
            plan.formats[source.format].check_file(&path)?;
        }
    }
    let options = Options {
        patterns: plan
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.pattern.clone(), i))
            .collect(),
        from_start: args.from_start,
        checkpoint: args.checkpoint.clone(),
        max_line: plan.settings.max_line_bytes,
        rotate_wait: ROTATE_WAIT,
    };
    let server = FileServer::new(options)?;
    Ok(tailer::spawn(
        server,
        Feed::new(shared, plan),
        Pace::new(Duration::from_millis(args.poll_interval_ms.max(10))),
    ))
}

/// Encodes the registry on every scrape into a buffer the size of the last scrape's text: with
/// 10,000 series (7.5 MB), growing it from nothing cost a tenth of the scrape in copies and page
/// faults.
fn sized_collect(registry: Arc<Registry>) -> Collect {
    let last_len = Arc::new(AtomicUsize::new(64 * 1024));
    Arc::new(move |_ctx| {
        let registry = registry.clone();
        let last_len = last_len.clone();
        Box::pin(async move {
            let mut text = String::with_capacity(last_len.load(Ordering::Relaxed) * 9 / 8);
            prometheus_client::encoding::text::encode(&mut text, &registry)
                .map_err(|e| e.to_string())?;
            last_len.store(text.len(), Ordering::Relaxed);
            Ok(text)
        })
    })
}

/// Tails the plan's files and serves the metrics until SIGTERM/SIGINT.
pub async fn serve(args: Args, mut plan: Plan) -> anyhow::Result<()> {
    let shared = state(&mut plan);
    let registry = Arc::new(registry(&shared));
    let tailer = start_tailer(&args, &plan, shared)?;
    let collect = match &args.scrape_uri {
        Some(uri) => stub_status::collect(registry, uri)?,
        None => sized_collect(registry),
    };
    let meta = Metadata {
        name: "nginx-log-exporter",
        version: env!("CARGO_PKG_VERSION"),
        description: "nginx access logs to Prometheus metrics: requests, bytes and latency by endpoint, top endpoints, named events.",
        default_port: 9731,
        links: Vec::new(),
    };
    let result = Server::new(meta, args.web, collect)
        .run(service_kit::shutdown_signal())
        .await;
    tokio::task::spawn_blocking(move || tailer.stop()).await?;
    Ok(result?)
}
