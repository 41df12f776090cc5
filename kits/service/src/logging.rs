//! The `--log.level` and `--log.format` flags, and the `tracing` subscriber they set up: text,
//! JSON or logfmt lines on stderr.

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

use crate::logfmt::Logfmt;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
    /// `key=value` pairs, one event per line, as Prometheus' Go programs write.
    Logfmt,
}

/// `--log.level` and `--log.format`, as Prometheus and its exporters name them.
// The older `--log-level` and `--log-format` are accepted as aliases left out of --help.
#[derive(Args, Clone, Debug)]
pub struct LogArgs {
    /// Log level or filter directive (`error`, `warn`, `info`, `debug`, `trace`, or
    /// `info,my_crate=debug`).
    #[arg(
        long = "log.level",
        alias = "log-level",
        env = "LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,

    /// Format of this program's own log lines.
    #[arg(
        long = "log.format",
        alias = "log-format",
        env = "LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    pub log_format: LogFormat,
}

/// Why the logger could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `--log.level` is not a level or filter directive.
    #[error("invalid --log.level {value:?}: {reason}")]
    Level {
        /// The value as given.
        value: String,
        /// What the filter parser said.
        reason: String,
    },
    /// A global subscriber was installed already.
    #[error("cannot install the logger: {0}")]
    Install(String),
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(args: &LogArgs) -> Result<(), LoggingError> {
    let filter = filter(&args.log_level)?;
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_ansi(ansi)
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Logfmt => builder.event_format(Logfmt).try_init(),
    };
    result.map_err(|e| LoggingError::Install(e.to_string()))
}

/// The filter of a `--log.level` value.
fn filter(level: &str) -> Result<EnvFilter, LoggingError> {
    EnvFilter::try_new(level).map_err(|e| LoggingError::Level {
        value: level.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser};

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        log: LogArgs,
    }

    fn parse(args: &[&str]) -> Result<LogArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("demo").chain(args.iter().copied())).map(|c| c.log)
    }

    #[test]
    fn the_prometheus_names_parse_and_the_old_names_still_work() {
        let a = parse(&["--log.level", "debug", "--log.format", "json"]).unwrap();
        assert_eq!(
            (a.log_level.as_str(), a.log_format),
            ("debug", LogFormat::Json)
        );
        let a = parse(&["--log-level=warn", "--log-format=logfmt"]).unwrap();
        assert_eq!(
            (a.log_level.as_str(), a.log_format),
            ("warn", LogFormat::Logfmt)
        );
        let a = parse(&[]).unwrap();
        assert_eq!(
            (a.log_level.as_str(), a.log_format),
            ("info", LogFormat::Text)
        );
        assert!(parse(&["--log.format", "xml"]).is_err());
    }

    #[test]
    fn help_shows_only_the_prometheus_names() {
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("--log.level") && help.contains("--log.format"),
            "{help}"
        );
        assert!(
            !help.contains("--log-level") && !help.contains("--log-format"),
            "{help}"
        );
        assert!(help.contains("logfmt"), "{help}");
    }

    #[test]
    fn a_bad_level_is_named_in_the_error() {
        assert!(filter("info,my_crate=debug").is_ok());
        let err = filter("info,my_crate=loud").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid --log.level \"info,my_crate=loud\""),
            "{err}"
        );
    }
}
