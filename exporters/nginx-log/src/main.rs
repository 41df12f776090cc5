//! `nginx-log-exporter`: see the crate docs and README.md.

use clap::Parser;
use nginx_log_exporter::{cli::Args, startup};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Err(e) = service_kit::logging::init(&args.log.shared()) {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    match startup::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
