//! The `forum` binary: see `forum --help` and the crate's README.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    forum::cli::run().await
}
