//! `pg-exporter`: see the crate documentation and README.md.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = pg_exporter::cli::Args::parse();
    if let Err(e) = service_kit::logging::init(&args.log) {
        eprintln!("pg-exporter: {e:#}");
        return std::process::ExitCode::from(2);
    }
    let result = async {
        let (_exporter, server) = pg_exporter::startup::build(&args)?;
        server.run(service_kit::shutdown_signal()).await?;
        anyhow::Ok(())
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("pg-exporter: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
