//! The command line: `forum [--role web|api|all] [--listen ADDR]` serves; subcommands migrate,
//! seed, run the worker, write the static assets, and create administrators.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use service_kit::LogArgs;

use crate::state::{AppState, Config, Role};

/// The community forum: pages, JSON API, admin panel and background worker.
#[derive(Parser, Debug)]
#[command(name = "forum", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Serving options.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// The PostgreSQL database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/forum",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,
    /// Connections in the pool.
    #[arg(long, env = "FORUM_POOL_SIZE", default_value_t = 16, global = true)]
    pub pool_size: usize,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Options of the server.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Which routes to serve: pages (`web`), `/api/` (`api`) or both.
    #[arg(long, env = "FORUM_ROLE", value_enum, default_value = "all")]
    pub role: Role,
    /// Listen address (default 127.0.0.1:8000, or :8001 for `--role api`).
    #[arg(long, env = "FORUM_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Mark cookies `Secure` (set when the forum is served over HTTPS).
    #[arg(long, env = "FORUM_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` and `X-Forwarded-Proto` (only behind a proxy that sets them).
    #[arg(long, env = "FORUM_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Failed logins per client IP in the window before 429.
    #[arg(long, env = "FORUM_LOGIN_IP_LIMIT", default_value_t = 30)]
    pub login_ip_limit: i64,
    /// Failed logins per account in the window before 429.
    #[arg(long, env = "FORUM_LOGIN_ACCOUNT_LIMIT", default_value_t = 10)]
    pub login_account_limit: i64,
    /// The window of the login limits, in seconds.
    #[arg(long, env = "FORUM_LOGIN_WINDOW_SECONDS", default_value_t = 900)]
    pub login_window_seconds: u64,
    /// Directory for uploads (avatars), served by nginx at `/media/`; unset: uploads are off.
    #[arg(long, env = "FORUM_MEDIA_DIR")]
    pub media_dir: Option<PathBuf>,
    /// Run the migrations before serving.
    #[arg(long, env = "FORUM_MIGRATE")]
    pub migrate: bool,
    /// Keep the hot pages' data in memory, kept right by LISTEN/NOTIFY (`false`: every read
    /// goes to PostgreSQL).
    #[arg(long, env = "FORUM_READ_CACHE", default_value_t = true, action = clap::ArgAction::Set)]
    pub read_cache: bool,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply the database migrations.
    Migrate,
    /// Run background jobs.
    Worker(WorkerArgs),
    /// Fill the database with demo data.
    Seed(SeedArgs),
    /// Write the static assets (CSS, JS) into DIR for nginx.
    Static {
        /// Target directory.
        dir: PathBuf,
    },
    /// Manage administrators.
    Admin {
        /// What to do.
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// `forum worker` options.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Where the worker serves `/metrics`, `/healthz`, `/readyz`.
    #[arg(long, env = "FORUM_WORKER_LISTEN", default_value = "127.0.0.1:8002")]
    pub listen: SocketAddr,
    /// Sleep between polls of an empty queue, in milliseconds.
    #[arg(long, env = "FORUM_WORKER_IDLE_MS", default_value_t = 1000)]
    pub idle_ms: u64,
}

/// `forum seed` options.
#[derive(Args, Debug)]
pub struct SeedArgs {
    /// Users to create.
    #[arg(long, default_value_t = 1000)]
    pub users: i64,
    /// Threads to create.
    #[arg(long, default_value_t = 1000)]
    pub threads: i64,
    /// Posts to create (first posts included).
    #[arg(long, default_value_t = 10000)]
    pub posts: i64,
}

/// `forum admin ...`.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an administrator (or make an existing user one). The password is read from
    /// `--password-file`, else from standard input.
    Create {
        /// Username.
        #[arg(long)]
        username: String,
        /// E-mail.
        #[arg(long)]
        email: String,
        /// A file holding the password (first line).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

/// Parses the command line and runs; the exit code says whether it worked.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
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
        Some(Command::Worker(w)) => worker(pool, w).await,
        None => serve(pool, &cli.database_url, cli.serve).await,
    }
}

/// Creates administrator `username`, or promotes the existing user of that name (its password
/// is then left alone).
pub async fn create_admin(
    pool: &deadpool_postgres::Pool,
    username: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<i64> {
    let client = pool.get().await?;
    if let Some(row) = client
        .query_opt(
            "SELECT id FROM users WHERE lower(username) = lower($1)",
            &[&username],
        )
        .await?
    {
        let id: i64 = row.get(0);
        client
            .execute("UPDATE users SET role = 'admin' WHERE id = $1", &[&id])
            .await?;
        return Ok(id);
    }
    let new = crate::models::users::NewUser::parse(username, email, password)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::models::users::create(&client, &new, "admin")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn serve(
    pool: deadpool_postgres::Pool,
    database_url: &str,
    args: ServeArgs,
) -> anyhow::Result<()> {
    if args.migrate {
        crate::db::migrate(&pool).await?;
    }
    // First start in a cluster: the first administrator comes from a Secret.
    if let (Ok(user), Ok(email), Ok(password)) = (
        std::env::var("FORUM_ADMIN_USERNAME"),
        std::env::var("FORUM_ADMIN_EMAIL"),
        std::env::var("FORUM_ADMIN_PASSWORD"),
    ) {
        let exists = pool
            .get()
            .await?
            .query_opt("SELECT 1 FROM users WHERE role = 'admin'", &[])
            .await?
            .is_some();
        if !exists {
            create_admin(&pool, &user, &email, &password).await?;
            tracing::info!(username = %user, "created the first administrator from the environment");
        }
    }
    let config = Config {
        role: args.role,
        secure_cookies: args.secure_cookies,
        trust_proxy: args.trust_proxy,
        login_ip_limit: args.login_ip_limit,
        login_account_limit: args.login_account_limit,
        login_window: Duration::from_secs(args.login_window_seconds),
        media_dir: args.media_dir.clone(),
        ..Config::default()
    };
    let addr = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], args.role.default_port())));
    let mut state = AppState::new(pool, config);
    if args.read_cache {
        let pg = database_url
            .parse()
            .context("DATABASE_URL is not a valid PostgreSQL URL")?;
        state = state.with_read_cache(crate::cache::ListenerConfig::new(pg));
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

async fn worker(pool: deadpool_postgres::Pool, args: WorkerArgs) -> anyhow::Result<()> {
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::new(Role::All));
    let state = AppState {
        pool: pool.clone(),
        config: std::sync::Arc::new(Config::default()),
        metrics: metrics.clone(),
        cache: std::sync::Arc::new(crate::cache::ReadCache::disabled()),
    };
    let router = axum::Router::new()
        .merge(crate::web::health_routes())
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(addr = %args.listen, "worker metrics listening");
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    crate::worker::run(
        pool,
        metrics,
        Duration::from_millis(args.idle_ms),
        service_kit::shutdown_signal(),
    )
    .await;
    server.abort();
    Ok(())
}
