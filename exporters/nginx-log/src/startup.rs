//! Wiring: flags and config file to a [`Plan`], then either `--one-shot` (read to the end,
//! print, exit) or the tailer plus the HTTP server until a signal.

use std::io::Write;

use crate::cli::Args;
use crate::config::{Config, Plan, plan};
use crate::one_shot::one_shot;
use crate::serve::serve;

/// Runs the exporter as the flags say.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let plan: Plan = plan(&args, config)?;
    if args.one_shot {
        let text = tokio::task::spawn_blocking(move || one_shot(plan)).await??;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
        return Ok(());
    }
    serve(args, plan).await
}
