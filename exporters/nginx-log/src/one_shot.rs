//! `--one-shot`: read every file of the plan to its end, count, and return the exposition
//! text (the benchmark interface).

use std::io::Read;

use anyhow::{Context, bail};
use prometheus_client::registry::Registry;

use crate::collector::{lock, registry, state};
use crate::config::Plan;
use crate::lines::{Chunk, LineReader};

/// Reads every file of the plan to its end and returns the exposition text.
pub fn one_shot(mut plan: Plan) -> anyhow::Result<String> {
    let shared = state(&mut plan);
    let registry = registry(&shared);
    let max_line = plan.settings.max_line_bytes;
    let started = std::time::Instant::now();
    for source in &plan.sources {
        let format = &plan.formats[source.format];
        let paths = source.pattern.expand();
        if paths.is_empty() {
            bail!("no file matches {:?}", source.pattern.as_str());
        }
        for path in paths {
            format.check_file(&path)?;
            let mut file = std::fs::File::open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let mut reader = LineReader::new(max_line);
            // Small enough to stay in L2 between the copy from the page cache and the parse.
            let mut buf = vec![0u8; 128 << 10];
            let mut state = lock(&shared);
            loop {
                let n = file
                    .read(&mut buf)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                if n == 0 {
                    break;
                }
                reader.feed(&buf[..n], |chunk| match chunk {
                    Chunk::Lines(block) => state.agg.process_block(format, source.labels, block),
                    Chunk::TooLong(bytes) => state.agg.count_too_long(bytes),
                });
            }
            // A file read once is complete: its last line counts even without a newline.
            let pending = reader.pending();
            match reader.take_partial() {
                Some(last) => state.agg.process_block(format, source.labels, &last),
                // An over-long last line, already dropped.
                None if pending > 0 => state.agg.count_too_long(pending),
                None => {}
            }
        }
    }
    // The exporter's own timing of the work a benchmark is about: reading, parsing and
    // counting the lines (not start-up, not encoding the output).
    let seconds = started.elapsed().as_secs_f64();
    let (lines, bytes) = {
        let state = lock(&shared);
        (state.agg.lines, state.agg.bytes)
    };
    tracing::info!(
        lines,
        bytes,
        seconds,
        lines_per_second = (lines as f64 / seconds.max(1e-9)).round() as u64,
        "one-shot: read, parsed and counted (timed by the exporter, start-up and output excluded)"
    );
    render_text(&registry)
}

/// The Prometheus text (0.0.4) of a registry.
fn render_text(registry: &Registry) -> anyhow::Result<String> {
    let mut text = String::with_capacity(64 * 1024);
    prometheus_client::encoding::text::encode(&mut text, registry)
        .context("cannot encode metrics")?;
    Ok(service_kit::Format::Text.render(text))
}
