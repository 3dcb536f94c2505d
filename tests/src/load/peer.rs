//! The bare peer that embedded joins are measured against: one map behind
//! one lock, an insert per `POST /join`, an unsigned ticket back. No
//! credential, no cookie, no validation, no limits: what an HTTP join costs
//! on this machine before the waiting room adds anything, run in the same
//! benchmark as the real thing so the ratio does not depend on how fast the
//! shared machine happens to be that minute.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// `loadgen peer`
#[derive(clap::Args)]
pub struct Args {
    /// Where to listen; port 0 picks one (printed as `listening on …`).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[derive(Default)]
struct Line {
    next: u64,
    visitors: HashMap<u128, u64>,
}

#[derive(Serialize)]
struct Joined {
    visitor_id: String,
    ticket: u64,
}

async fn join(State(line): State<Arc<Mutex<Line>>>) -> Json<Joined> {
    let id = uuid::Uuid::new_v4().as_u128();
    let ticket = {
        let mut line = line
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        line.next += 1;
        let ticket = line.next;
        line.visitors.insert(id, ticket);
        ticket
    };
    Json(Joined {
        visitor_id: format!("{id:032x}"),
        ticket,
    })
}

/// Serves until killed.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/join", post(join))
        .with_state(Arc::new(Mutex::new(Line::default())));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
