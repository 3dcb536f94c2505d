//! `waitroom`: the one binary. `waitroom serve` runs every role, or the one
//! chosen with `--role`.

use clap::{Parser, Subcommand};
use gateway::config::{Role, Settings};
use std::net::SocketAddr;
use std::path::PathBuf;

// A request allocates and frees dozens of small blocks across threads;
// glibc malloc spent a fifth of a join's CPU on them (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "waitroom",
    version,
    about = "A virtual waiting room for high-demand ticket sales"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Listen address (overrides WAITROOM_LISTEN).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Run only this role (default: all).
        #[arg(long, value_enum)]
        role: Option<Role>,
        /// TOML configuration file.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Log as JSON lines.
        #[arg(long)]
        json_logs: bool,
    },
    /// Ask the server configured here (WAITROOM_LISTEN, or --listen) whether
    /// it is alive; exit 0 when it answers 200. For container HEALTHCHECKs:
    /// no curl needed in the image.
    Healthcheck {
        /// Address the server listens on (overrides WAITROOM_LISTEN); a
        /// wildcard address is probed on loopback.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Probe `/readyz` (backends reachable) instead of `/healthz`.
        #[arg(long)]
        ready: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3)]
        timeout_seconds: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (listen, role, config, json_logs) = match cli.command {
        Command::Serve {
            listen,
            role,
            config,
            json_logs,
        } => (listen, role, config, json_logs),
        Command::Healthcheck {
            listen,
            ready,
            timeout_seconds,
        } => return healthcheck(listen, ready, timeout_seconds).await,
    };
    let mut settings = Settings::load(config.as_deref())?;
    if let Some(l) = listen {
        settings.listen = l;
    }
    if let Some(r) = role {
        settings.role = r;
    }
    if json_logs {
        settings.log_format = gateway::config::LogFormat::Json;
    }
    gateway::telemetry::init_tracing(settings.log_format);
    tracing::info!(?settings, "starting");
    // A deep accept backlog: when a process restarts, thousands of waiters
    // reconnect at once, and the default (128) drops their handshakes.
    let socket = if settings.listen.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(settings.listen)?;
    let listener = socket.listen(4096)?;
    // Tests and scripts read the bound port from this line.
    println!("listening on http://{}", listener.local_addr()?);
    gateway::launch_with_listener(settings, listener, gateway::shutdown_signal()).await
}

/// Exits 0 when the server answers 200, 1 otherwise (saying why).
async fn healthcheck(
    listen: Option<SocketAddr>,
    ready: bool,
    timeout_seconds: u64,
) -> anyhow::Result<()> {
    let listen = match listen {
        Some(l) => l,
        None => Settings::load(None)?.listen,
    };
    let addr = gateway::healthcheck::probe_address(listen);
    let path = if ready { "/readyz" } else { "/healthz" };
    let timeout = std::time::Duration::from_secs(timeout_seconds.max(1));
    match gateway::healthcheck::probe(addr, path, timeout).await {
        Ok((200, _)) => Ok(()),
        Ok((code, body)) => {
            eprintln!("{path} on {addr} answered {code}: {body}");
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("{path} on {addr}: {e:#}");
            std::process::exit(1)
        }
    }
}
