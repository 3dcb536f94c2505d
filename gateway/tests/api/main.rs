//! End-to-end tests of one waitroom process over HTTP and WebSocket.

mod admin;
mod admin_events;
mod admin_lockout;
mod admin_matrix;
mod admin_roles;
mod admin_sales;
mod admin_sessions;
mod admin_support;
mod bots;
mod bots_limits;
mod bots_queue;
mod connections;
mod edge_ids;
mod helpers;
mod join;
mod metrics;
mod openapi;
mod outage;
mod pages;
mod production;
mod readiness;
mod returns;
mod scheduled_sale;
mod security_headers;
mod tokens;
mod ws;
