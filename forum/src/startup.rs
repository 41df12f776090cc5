//! Wiring: acts on the parsed command line. Sets up logging, builds the pool, then migrates,
//! seeds, writes the assets, creates an administrator, runs the worker (with its metrics
//! server), or builds the [`AppState`] of a role and serves [`crate::app`] until SIGTERM.

use std::io::Read as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use deadpool_postgres::Pool;

use crate::cli::{AdminCommand, Cli, Command, ServeArgs, WorkerArgs};
use crate::config::{Config, Role};
use crate::metrics::Metrics;
use crate::models::users::{self, NewUser};
use crate::state::AppState;

/// Runs what `cli` asks for; the exit code says whether it worked.
pub async fn run(cli: Cli) -> ExitCode {
    if let Err(e) = service_kit::logging::init(&cli.log) {
        eprintln!("forum: {e:#}");
        return ExitCode::FAILURE;
    }
    match dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("forum: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let pool = crate::db::pool(&cli.database_url, cli.pool_size)?;
    match cli.command {
        Some(Command::Migrate) => {
            let n = crate::db::migrate(&pool).await?;
            println!("applied {n} migration(s)");
            fill_name_skeletons(&pool).await?;
            Ok(())
        }
        Some(Command::Static { dir }) => {
            for p in crate::assets::write_all(&dir)? {
                println!("wrote {}", p.display());
            }
            Ok(())
        }
        Some(Command::Seed(a)) => {
            let start = std::time::Instant::now();
            let plan = crate::seed::SeedPlan {
                users: a.users.max(1),
                threads: a.threads.max(0),
                posts: a.posts.max(0),
            };
            let what = crate::seed::seed(&pool, plan).await?;
            fill_name_skeletons(&pool).await?;
            println!("{what} in {:.1} s", start.elapsed().as_secs_f64());
            Ok(())
        }
        Some(Command::Admin {
            command:
                AdminCommand::Create {
                    username,
                    email,
                    password_file,
                },
        }) => {
            let password = match password_file {
                Some(p) => std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
                None => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .context("cannot read the password from stdin")?;
                    s
                }
            };
            let password = password.lines().next().unwrap_or("").to_string();
            let id = create_admin(&pool, &username, &email, &password).await?;
            println!("administrator {username} has id {id}");
            Ok(())
        }
        Some(Command::Worker(w)) => worker(pool, *w).await,
        None => serve(pool, &cli.database_url, cli.serve).await,
    }
}

/// Creates administrator `username`, or promotes the existing user of that name (its password
/// is then left alone).
pub async fn create_admin(
    pool: &Pool,
    username: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<i64> {
    let client = pool.get().await?;
    if let Some(id) = users::find_by_name(&client, username).await? {
        users::set_role(&client, id, users::Role::Admin).await?;
        return Ok(id);
    }
    let new = NewUser::parse(username, email, password).map_err(|e| anyhow::anyhow!("{e}"))?;
    users::create(&client, &new, users::Role::Admin)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn serve(pool: Pool, database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
    if args.migrate {
        crate::db::migrate(&pool).await?;
        fill_name_skeletons(&pool).await?;
    }
    // First start in a cluster: the first administrator comes from a Secret.
    if let (Ok(user), Ok(email), Ok(password)) = (
        std::env::var("FORUM_ADMIN_USERNAME"),
        std::env::var("FORUM_ADMIN_EMAIL"),
        std::env::var("FORUM_ADMIN_PASSWORD"),
    ) {
        let exists = users::admin_exists(&pool.get().await?).await?;
        if !exists {
            create_admin(&pool, &user, &email, &password).await?;
            tracing::info!(username = %user, "created the first administrator from the environment");
        }
    }
    crate::mail::Composer::new(&args.public_url)?;
    let config = Config {
        role: args.role,
        public_url: args.public_url.clone(),
        registration: args.registration,
        secure_cookies: args.secure_cookies,
        trust_proxy: args.trust_proxy,
        trusted_proxies: args.trusted_proxies.clone(),
        login_ip_limit: args.login_ip_limit,
        login_account_limit: args.login_account_limit,
        login_window: Duration::from_secs(args.login_window_seconds),
        login_account_slow_after: args.login_account_slow_after,
        login_max_delay: Duration::from_millis(args.login_max_delay_ms),
        spam: args.spam.rules(),
        media_dir: args.media_dir.clone(),
        ..Config::default()
    };
    let addr = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], args.role.default_port())));
    let mut state = AppState::new(pool, config);
    if let Some(storage) = open_storage(&args.storage)? {
        state = state.with_storage(storage);
    }
    if args.read_cache {
        let (pg, tls) = crate::db::connection(database_url)?;
        state = state.with_read_cache(crate::cache::ListenerConfig::new(pg, tls));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(%addr, role = args.role.as_str(), "forum listening");
    axum::serve(
        listener,
        crate::app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(service_kit::shutdown_signal())
    .await
    .context("server failed")
}

/// The mailer of `--smtp-url` (or the log without it). Errors never repeat the URL's password.
pub fn mailer(args: &WorkerArgs) -> anyhow::Result<crate::mail::Mailer> {
    let Some(url) = &args.smtp_url else {
        return Ok(crate::mail::Mailer::log(&args.mail_from)?);
    };
    let url: crate::mail::SmtpUrl = url.parse()?;
    let ca = match &args.smtp_ca_file {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    Ok(crate::mail::Mailer::smtp(
        &url,
        &args.mail_from,
        ca.as_deref(),
        Duration::from_secs(args.smtp_timeout_seconds.max(1)),
    )?)
}

async fn worker(pool: Pool, args: WorkerArgs) -> anyhow::Result<()> {
    let mailer = mailer(&args)?;
    let composer = crate::mail::Composer::new(&args.public_url)?;
    let mut metrics = Metrics::new(Role::All);
    let mail_metrics = Arc::new(metrics.register_mail());
    let notify_metrics = Arc::new(metrics.register_notify());
    let metrics = Arc::new(metrics);
    let state = AppState::with_metrics(pool.clone(), Config::default(), metrics.clone());
    let router = crate::http::health::routes().with_state(state);
    // One signal listener for every loop, in place before the port answers: a SIGTERM that
    // comes while a loop has not started waiting still stops it.
    let shutdown = service_kit::Shutdown::register().context("cannot listen for signals")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(addr = %args.listen, "worker metrics listening");
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    // Mails have a queue of their own with their own retry policy: an SMTP outage of hours
    // must not use up the attempts of the job queue.
    let sender = crate::mail::Sender::new(
        pool.clone(),
        mailer,
        crate::mail::RetryPolicy::default(),
        Some(mail_metrics),
    );
    let idle = Duration::from_millis(args.idle_ms);
    let mails = tokio::spawn(sender.run(idle, shutdown.clone().wait()));
    let attachments =
        crate::attachments::Attachments::new(open_storage(&args.storage)?, metrics.attachments());
    let sweep = tokio::spawn(crate::attachments::sweep::run(
        pool.clone(),
        attachments,
        Duration::from_secs(args.attachment_orphan_hours.saturating_mul(3600)),
        crate::attachments::sweep::EVERY,
        shutdown.clone().wait(),
    ));
    // Notifications become mails in the `mails` queue above, so their delivery shares its
    // retries; digests go out every `--digest-period-seconds`.
    let notify_mailer = crate::notify_mail::NotifyMailer::new(
        pool.clone(),
        composer,
        Duration::from_secs(args.digest_period_seconds.max(1)),
        Some(notify_metrics),
    );
    let notices = tokio::spawn(notify_mailer.run(idle, shutdown.clone().wait()));
    crate::worker::run(pool, metrics, idle, shutdown.wait()).await;
    let _ = mails.await;
    let _ = notices.await;
    let _ = sweep.await;
    server.abort();
    Ok(())
}

/// The attachment store of `--storage-url`, if set (its keys never reach the log).
pub fn open_storage(
    args: &crate::cli::StorageArgs,
) -> anyhow::Result<Option<crate::attachments::storage::Storage>> {
    let Some(settings) = args.settings() else {
        return Ok(None);
    };
    let storage = crate::attachments::storage::Storage::open(&settings)?;
    tracing::info!(store = storage.describe(), "attachments enabled");
    Ok(Some(storage))
}

/// Gives the accounts made without one (before names had skeletons, or by the seed) their
/// confusable skeleton.
async fn fill_name_skeletons(pool: &deadpool_postgres::Pool) -> anyhow::Result<()> {
    let client = pool.get().await?;
    let n = crate::models::names::fill_missing_skeletons(&client)
        .await
        .map_err(|e| anyhow::anyhow!("filling name skeletons: {e}"))?;
    if n > 0 {
        tracing::info!(accounts = n, "name skeletons filled");
    }
    Ok(())
}
