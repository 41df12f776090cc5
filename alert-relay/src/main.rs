//! `alert-relay`: see the crate docs and README.md.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = alert_relay::cli::Cli::parse();
    if let Err(e) = service_kit::logging::init(&cli.run.log) {
        eprintln!("alert-relay: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    match alert_relay::startup::main(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("alert-relay: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
