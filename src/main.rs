//! The `herald` command: parses flags and calls the library.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use herald::api::auth::Principal;
use herald::app::App;
use herald::config::{Config, Overrides};

/// Herald: a self-hosted push service.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (default 127.0.0.1:8080; env HERALD_LISTEN).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Print a bearer token signed with the app secret.
    Token {
        #[command(flatten)]
        common: Common,
        /// An admin token (may call everything).
        #[arg(long, conflicts_with = "account", required_unless_present = "account")]
        admin: bool,
        /// A client token for this account id.
        #[arg(long)]
        account: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
    },
    /// Print a UserSig (the vendor's REST credential) signed with the app secret, for the
    /// `usersig` query parameter of the /v4 REST API.
    Usersig {
        #[command(flatten)]
        common: Common,
        /// The identity it is for (the REST API takes the admin's: [app] admin).
        identifier: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        expire: u64,
    },
    /// Print the GraphQL schema (SDL); schema.graphql equals it.
    Schema,
    /// Work with transport plugins (WebAssembly components).
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Check that FILE is a herald:transport/transport@0.1.0 component and print what it
    /// declares (name, version, platforms, imports, exports).
    Check {
        /// The component (.wasm).
        file: PathBuf,
    },
}

#[derive(Args)]
struct Common {
    /// TOML config file (env HERALD_CONFIG).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data folder (default ./herald-data; env HERALD_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl Common {
    fn load(self, listen: Option<SocketAddr>) -> anyhow::Result<Config> {
        Ok(Config::load(&Overrides {
            config: self.config,
            listen,
            data_dir: self.data_dir,
        })?)
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Schema => {
            print!("{}", herald::api::sdl());
            Ok(())
        }
        Command::Plugin {
            command: PluginCommand::Check { file },
        } => {
            let wasm =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let info = herald::transport::check(&wasm)
                .with_context(|| format!("{} is not a usable plugin", file.display()))?;
            println!("ok: {}", file.display());
            println!("name: {}", info.name);
            println!("version: {}", info.version);
            println!("platforms: {}", info.platforms.join(", "));
            println!("imports:");
            for import in &info.imports {
                println!("  {import}");
            }
            println!("exports:");
            for export in &info.exports {
                println!("  {export}");
            }
            Ok(())
        }
        Command::Token {
            common,
            admin,
            account,
            ttl,
        } => {
            let config = common.load(None)?;
            let keys = herald::api::auth::Keys::new(&config.app_secret()?, &config.app.admin);
            let principal = match account {
                Some(id) if !admin => Principal::Client(id),
                _ => Principal::Admin,
            };
            println!("{}", keys.mint(&principal, ttl));
            Ok(())
        }
        Command::Usersig {
            common,
            identifier,
            expire,
        } => {
            let config = common.load(None)?;
            let sig = herald::rest::usersig::generate(
                &config.app_secret()?,
                config.app.id,
                &identifier,
                herald::time::now_secs(),
                expire,
            );
            println!("{sig}");
            Ok(())
        }
        Command::Serve { common, listen } => {
            let config = common.load(listen)?;
            serve(config)
        }
    }
}

#[tokio::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // Every inbox session is a socket: raise the open-file limit to what the system allows.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open file limit"),
    }
    let started = std::time::Instant::now();
    let data_dir = config.data_dir.clone();
    let listen = config.listen;
    let app = tokio::task::spawn_blocking(move || App::open(config)).await??;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        accounts = app.directory.account_count(),
        ready_ms = started.elapsed().as_millis() as u64,
        data_dir = %data_dir.display(),
        "ready"
    );
    println!("herald listening on http://{addr}");
    herald::server::run(listener, app, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
