//! End-to-end tests of one waitroom process over HTTP and WebSocket.

mod admin;
mod bots;
mod bots_queue;
mod helpers;
mod join;
mod outage;
mod tokens;
mod ws;
