//! Wiring: flags → exporter → HTTP server.

use std::sync::Arc;

use exporter_kit::{Collect, Metadata, Server};

use crate::cli::Args;
use crate::collectors::{CollectorOptions, Source};
use crate::exporter::{Exporter, ExporterOptions};
use crate::target::ScrapeOptions;

/// The default port of pg-exporter.
pub const DEFAULT_PORT: u16 = 9732;

/// Builds the exporter and its server from the flags. Fails on a bad DSN or queries file.
pub fn build(args: &Args) -> anyhow::Result<(Arc<Exporter>, Server)> {
    let dsn = args.dsn()?;
    let custom = match &args.queries {
        Some(path) => crate::queries::load(path)?
            .into_iter()
            .map(Arc::new)
            .collect(),
        None => Vec::new(),
    };
    let collectors = CollectorOptions {
        tables_limit: args.tables_limit,
        tables_order: args.tables_order,
        settings: !args.disable_settings_metrics,
        slow_cache: args.slow_cache,
    };
    let plan = Source::plan(&collectors, args.preset, &custom);
    let auth_modules = match &args.auth_modules_file {
        Some(path) => crate::probe::AuthModules::load(path)?.map(Arc::new),
        None => None,
    };
    tracing::info!(
        server = %dsn.display(),
        preset = args.preset.name(),
        custom_queries = custom.len(),
        "pg-exporter starting"
    );
    let exporter = Exporter::new(
        dsn,
        ExporterOptions {
            scrape: ScrapeOptions {
                statement_timeout: args.statement_timeout,
                collectors,
                plan,
                connections: args.scrape_connections.into(),
            },
            scrape_timeout: args.scrape_timeout,
            timeout_offset: args.scrape_timeout_offset,
            max_probe_targets: args.probe_max_targets,
            auth_modules,
        },
    );
    let for_collect = exporter.clone();
    let collect: Collect = Arc::new(move |ctx| {
        let exporter = for_collect.clone();
        Box::pin(async move { exporter.metrics(ctx.timeout).await })
    });
    let meta = Metadata {
        name: "pg-exporter",
        version: env!("CARGO_PKG_VERSION"),
        description: "PostgreSQL and forum metrics for Prometheus, with postgres_exporter's metric names.",
        default_port: DEFAULT_PORT,
        links: vec![(
            "/probe?auth_module=NAME&target=127.0.0.1:5432".into(),
            "Probe a target (with an auth module of --config.file)".into(),
        )],
    };
    let server = Server::new(meta, args.web.clone(), collect).with_routes(exporter.routes());
    Ok((exporter, server))
}
