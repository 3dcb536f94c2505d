//! The booking service as one service per feature. Each is a small
//! cloneable struct holding only what its feature needs (`Arc`'d shared
//! parts), with its operations in its own module; [`AppState`] wires them
//! once and hands out narrow handles (`state.holds().place_hold(…)`), so
//! the HTTP layer, the workers and the tests drive the same code.
//!
//! A service that needs another holds a clone of it, and the graph has no
//! cycle: catalog and intents at the bottom, then holds, tickets and
//! accounts, then payments, then orders and sales.

use crate::accounts::Accounts;
use crate::catalog::{Catalog, SeatMapCache};
use crate::config::BookingConfig;
use crate::db::Db;
use crate::email::outbox::Outbox;
use crate::holds::locks::SeatLocks;
use crate::holds::Holds;
use crate::look::Looks;
use crate::payment::checkout::Orders;
use crate::payment::mirror::Intents;
use crate::payment::settle::Payments;
use crate::payment::PaymentProvider;
use crate::sales::Sales;
use crate::tickets::{TicketKeys, Tickets};
use queue::admission::AdmissionVerifier;
use queue::QueueStore;
use std::sync::Arc;
use tokio::sync::Notify;

/// The booking services: cheap to clone (one `Arc`), with no public state;
/// each feature is reached through its handle.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

struct Services {
    catalog: Catalog,
    holds: Holds,
    orders: Orders,
    payments: Payments,
    accounts: Accounts,
    sales: Sales,
    tickets: Tickets,
    outbox: Outbox,
    looks: Looks,
}

/// What the operator API (the admin crate) may use of booking: the events
/// and their sales, and the door. Nothing else of the service is reachable
/// from it.
#[derive(Clone)]
pub struct OperatorHandles {
    /// Events (create, edit, publish, cancel), summaries, the CSV export.
    pub sales: Sales,
    /// Check-in, the scanners' offline list, reissuing a ticket.
    pub tickets: Tickets,
    /// The events' look on the fan pages.
    pub looks: Looks,
}

/// The parts the services are made of (see `Booking::build_state`).
pub(crate) struct Parts {
    pub config: BookingConfig,
    pub db: Db,
    pub verifier: Arc<AdmissionVerifier>,
    pub queue: Arc<dyn QueueStore>,
    pub locks: Option<Arc<SeatLocks>>,
    pub payments: Arc<dyn PaymentProvider>,
    pub session_key: Vec<u8>,
    pub tickets: TicketKeys,
}

impl AppState {
    /// Wires the services from their parts.
    pub(crate) fn new(parts: Parts) -> Self {
        let Parts {
            config,
            db,
            verifier,
            queue,
            locks,
            payments,
            session_key,
            tickets,
        } = parts;
        let config = Arc::new(config);
        let seat_maps: Arc<SeatMapCache> = Arc::default();
        let mail_wakeup: Arc<Notify> = Arc::default();
        let catalog = Catalog {
            config: config.clone(),
            db: db.clone(),
            queue: queue.clone(),
            seat_maps: seat_maps.clone(),
        };
        let intents = Intents {
            db: db.clone(),
            payments: payments.clone(),
        };
        let holds = Holds {
            config: config.clone(),
            db: db.clone(),
            verifier,
            catalog: catalog.clone(),
            locks,
            seat_maps: seat_maps.clone(),
            queue,
            intents: intents.clone(),
            sold_out_checks: Arc::default(),
        };
        let tickets = Tickets {
            config: config.clone(),
            db: db.clone(),
            tickets,
            mail_wakeup: mail_wakeup.clone(),
        };
        let accounts = Accounts {
            config: config.clone(),
            db: db.clone(),
            session_key: session_key.into(),
            mail_wakeup: mail_wakeup.clone(),
        };
        let settlement = Payments {
            config: config.clone(),
            db: db.clone(),
            payments: payments.clone(),
            seat_maps: seat_maps.clone(),
            mail_wakeup: mail_wakeup.clone(),
            holds: holds.clone(),
            tickets: tickets.clone(),
            intents,
        };
        let orders = Orders {
            db: db.clone(),
            payments,
            holds: holds.clone(),
            accounts: accounts.clone(),
            settlement: settlement.clone(),
        };
        let sales = Sales {
            db: db.clone(),
            seat_maps,
            holds: holds.clone(),
            settlement: settlement.clone(),
            tickets: tickets.clone(),
        };
        let looks = Looks { db: db.clone() };
        let outbox = Outbox {
            config,
            db,
            looks: looks.clone(),
            mail_wakeup,
            queue: holds.queue.clone(),
        };
        Self(Arc::new(Services {
            catalog,
            holds,
            orders,
            payments: settlement,
            accounts,
            sales,
            tickets,
            outbox,
            looks,
        }))
    }

    /// Published events and seat maps.
    pub fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    /// Seat holds, and the expiry sweep.
    pub fn holds(&self) -> &Holds {
        &self.0.holds
    }

    /// Checkout, orders, cancellation.
    pub fn orders(&self) -> &Orders {
        &self.0.orders
    }

    /// Payment outcomes, webhooks, refunds.
    pub fn payments(&self) -> &Payments {
        &self.0.payments
    }

    /// Customer accounts and sessions.
    pub fn accounts(&self) -> &Accounts {
        &self.0.accounts
    }

    /// Operators' event and sales work.
    pub fn sales(&self) -> &Sales {
        &self.0.sales
    }

    /// Tickets, check-in, reminders.
    pub fn tickets(&self) -> &Tickets {
        &self.0.tickets
    }

    /// The email outbox.
    pub fn looks(&self) -> &Looks {
        &self.0.looks
    }

    /// The email outbox (and "your turn" emails).
    pub fn outbox(&self) -> &Outbox {
        &self.0.outbox
    }

    /// The handles the operator API gets.
    pub fn operator_handles(&self) -> OperatorHandles {
        OperatorHandles {
            sales: self.0.sales.clone(),
            tickets: self.0.tickets.clone(),
            looks: self.0.looks.clone(),
        }
    }
}

/// Now, truncated to microseconds (what PostgreSQL stores), so values read
/// back compare equal to the ones written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let t = chrono::Utc::now();
    let micros = t.timestamp_micros();
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or(t)
}
