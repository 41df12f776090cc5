//! The `forum` binary: see `forum --help` and the crate's README.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    forum::startup::run(forum::cli::Cli::parse()).await
}
