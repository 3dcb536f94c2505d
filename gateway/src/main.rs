//! `waitroom`: the one binary. `waitroom serve` runs every role, or the one
//! chosen with `--role`.

use clap::{Parser, Subcommand};
use gateway::config::{Role, Settings};
use std::net::SocketAddr;
use std::path::PathBuf;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let Command::Serve {
        listen,
        role,
        config,
        json_logs,
    } = cli.command;
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
