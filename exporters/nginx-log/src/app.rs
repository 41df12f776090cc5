//! Wiring: flags and config to a plan, the plan to shared state, then either `--one-shot`
//! (read to the end, print, exit) or the tailer plus the HTTP server.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use prometheus_client::registry::Registry;

use crate::aggregate::Aggregator;
use crate::cli::Args;
use crate::collector::{Shared, State, StateCollector, TailStats, lock};
use crate::config::{Config, Plan, plan};
use crate::lineformat::LineFormat;
use crate::lines::{Chunk, LineReader};

/// How many of a file's first lines are tried against its format at startup.
const CHECK_LINES: usize = 20;

/// Runs the exporter as the flags say.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let plan = plan(&args, config)?;
    if args.one_shot {
        let text = tokio::task::spawn_blocking(move || one_shot(plan)).await??;
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
        return Ok(());
    }
    crate::serve::serve(args, plan).await
}

/// The shared state for a plan (the plan's rules move into it).
pub fn state(plan: &mut Plan) -> Shared {
    let mut agg = Aggregator::new(
        plan.settings.clone(),
        std::mem::take(&mut plan.normalizer),
        std::mem::take(&mut plan.events),
    );
    agg.reserve_label_sets(plan.label_values.len());
    Arc::new(Mutex::new(State {
        agg,
        tail: TailStats::default(),
        label_names: plan.label_names.clone(),
        label_values: plan.label_values.clone(),
    }))
}

/// A registry with the build info and the state's collector.
pub fn registry(shared: &Shared) -> Registry {
    let mut registry = Registry::default();
    service_kit::register_build_info(
        &mut registry,
        "nginx_log_exporter",
        env!("CARGO_PKG_VERSION"),
    );
    registry.register_collector(Box::new(StateCollector(shared.clone())));
    registry
}

/// The Prometheus text (0.0.4) of a registry.
pub fn render_text(registry: &Registry) -> anyhow::Result<String> {
    let mut text = String::with_capacity(64 * 1024);
    prometheus_client::encoding::text::encode(&mut text, registry)
        .context("cannot encode metrics")?;
    Ok(service_kit::Format::Text.render(text))
}

/// The files a pattern names now: the glob's matches, or the path itself when it has no
/// wildcard (it may not exist yet).
pub fn expand(pattern: &str) -> Vec<PathBuf> {
    if !pattern.contains(['*', '?', '[']) {
        return vec![PathBuf::from(pattern)];
    }
    match glob::glob(pattern) {
        Ok(paths) => paths
            .flatten()
            .filter(|p| p.is_file() && !is_compressed(p))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A file name with a compression suffix: `access.log.2.gz`, which logrotate's `compress`
/// makes of a rotated log, matches a glob like `access.log*` but is not text to read.
fn is_compressed(path: &Path) -> bool {
    const SUFFIXES: [&str; 9] = ["gz", "bz2", "xz", "zst", "lz4", "lzma", "br", "zip", "Z"];
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| SUFFIXES.contains(&e))
}

/// Fails with a clear message when none of the first lines of `path` match `format`.
pub fn check_format(path: &Path, format: &LineFormat) -> anyhow::Result<()> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut head = Vec::with_capacity(64 * 1024);
    file.take(256 * 1024)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let lines: Vec<&[u8]> = head
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .take(CHECK_LINES)
        .collect();
    if lines.is_empty()
        || lines
            .iter()
            .any(|l| format.explain(l.strip_suffix(b"\r").unwrap_or(l)).is_none())
    {
        return Ok(());
    }
    let why = format.explain(lines[0]).unwrap_or_default();
    bail!(
        "{}: none of the first {} lines match the log format. {why}",
        path.display(),
        lines.len()
    )
}

/// Reads every file of the plan to its end and returns the exposition text.
pub fn one_shot(mut plan: Plan) -> anyhow::Result<String> {
    let shared = state(&mut plan);
    let registry = registry(&shared);
    let max_line = plan.settings.max_line_bytes;
    let started = std::time::Instant::now();
    for source in &plan.sources {
        let format = &plan.formats[source.format];
        let paths = expand(&source.pattern);
        if paths.is_empty() {
            bail!("no file matches {:?}", source.pattern);
        }
        for path in paths {
            check_format(&path, format)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_skips_compressed_rotations_but_a_named_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "access.log",
            "access.log.1",
            "access.log.2.gz",
            "access.log.3.zst",
        ] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        let mut found = expand(&format!("{}/access.log*", dir.path().display()));
        found.sort();
        assert_eq!(
            found,
            vec![
                dir.path().join("access.log"),
                dir.path().join("access.log.1")
            ]
        );
        let named = dir.path().join("access.log.2.gz");
        assert_eq!(expand(&named.display().to_string()), vec![named]);
    }
}
