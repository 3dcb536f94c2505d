//! Tracing and Prometheus metrics.

use crate::config::LogFormat;
use axum::extract::MatchedPath;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use hashbrown::HashTable;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::hash::BuildHasher;
use std::sync::{OnceLock, PoisonError, RwLock};
use std::time::Instant;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: `RUST_LOG` filters (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The process-wide Prometheus recorder (installed once, shared by every
/// server started in this process, which tests do).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".to_owned()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(h) => h,
                // Another recorder is already installed (only in odd test
                // setups): render an empty registry rather than fail.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// Counts a request and records its latency per route template, method
/// and status, from the outermost layer. The route template comes with the
/// response (the edge's route layer copies the [`MatchedPath`] there), so
/// no layer of its own wraps every route; a request no route matched is
/// `unmatched`, and a method outside the standard ones is `other` (a client
/// may send any token as a method, and each would be a series of its own).
pub fn record_http(method: &Method, resp: &Response, started: Instant) {
    static SERIES: OnceLock<HttpSeries> = OnceLock::new();
    let route = resp
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    SERIES.get_or_init(HttpSeries::default).record(
        route,
        method_label(method),
        resp.status(),
        started.elapsed().as_secs_f64(),
    );
}

fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|m| *m == method)
        .map_or("other", Method::as_str)
}

/// The request metrics' handles, one pair per route, method and status,
/// found in the registry once. Finding them there on every request copied
/// the three labels and hashed them with the names, twice.
struct HttpSeries {
    hasher: foldhash::fast::RandomState,
    known: RwLock<HashTable<Series>>,
}

struct Series {
    route: Box<str>,
    method: &'static str,
    status: StatusCode,
    requests: metrics::Counter,
    seconds: metrics::Histogram,
}

impl Series {
    fn record(&self, seconds: f64) {
        self.requests.increment(1);
        self.seconds.record(seconds);
    }
}

/// Series kept; beyond it (routes are templates, so only a bug gets
/// there) each request finds its handles in the registry as before.
const MAX_SERIES: usize = 4_096;

impl Default for HttpSeries {
    fn default() -> Self {
        // Handles bind to the recorder installed when they are made.
        let _ = metrics_handle();
        Self {
            hasher: foldhash::fast::RandomState::default(),
            known: RwLock::new(HashTable::new()),
        }
    }
}

impl HttpSeries {
    fn record(&self, route: &str, method: &'static str, status: StatusCode, seconds: f64) {
        let hash_of = |route: &str, method: &str, status: StatusCode| {
            self.hasher.hash_one((route, method, status.as_u16()))
        };
        let hash = hash_of(route, method, status);
        let same = |s: &Series| s.status == status && s.method == method && &*s.route == route;
        {
            let known = self.known.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(series) = known.find(hash, same) {
                series.record(seconds);
                return;
            }
        }
        let labels = [
            ("route", route.to_owned()),
            ("method", method.to_owned()),
            ("status", status.as_str().to_owned()),
        ];
        let series = Series {
            route: route.into(),
            method,
            status,
            requests: metrics::counter!("waitroom_http_requests_total", &labels),
            seconds: metrics::histogram!("waitroom_http_request_seconds", &labels[..2]),
        };
        series.record(seconds);
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        if known.len() < MAX_SERIES && known.find(hash, same).is_none() {
            known.insert_unique(hash, series, |s| hash_of(&s.route, s.method, s.status));
        }
    }
}

/// Every metric on-call reads, registered at start so a dashboard shows 0
/// rather than "no data" before the first event of each kind. Labelled
/// per-event series appear with their event's first tick.
pub const METRICS: &[(&str, &str)] = &[
    ("waitroom_http_requests_total", "HTTP requests by route template, method and status (joins: the join route with 201; holds, checkouts, webhooks: their routes by status)"),
    ("waitroom_http_request_seconds", "HTTP latency by route template and method"),
    ("waitroom_ws_connected", "waiting-room WebSockets open on this process"),
    ("waitroom_ws_slow_disconnects_total", "waiters disconnected for not reading their messages"),
    ("waitroom_ticks_run_total", "admission ticks run by this process (it held the event's lease)"),
    ("waitroom_tick_seconds", "duration of an admission tick"),
    ("waitroom_ticks_applied_total", "ticks applied to this process's waiters"),
    ("waitroom_fanout_seconds", "time to apply one tick to this process's waiters"),
    ("waitroom_admitted_total", "fans admitted by ticks this process ran"),
    ("waitroom_departed_total", "waiters departed (gone past their grace) in ticks this process ran"),
    ("waitroom_lease_acquired_total", "times this process took an event's admission lease (flapping if it climbs)"),
    ("waitroom_queue_store_up", "1 when the queue store answers and is usable through REDIS_URL"),
    ("waitroom_queue_store_wrong_mode", "1 when REDIS_URL reaches a replica or a Cluster node through redis:// (readiness fails)"),
    ("waitroom_queue_store_errors_total", "queue store calls that failed as unavailable"),
    ("waitroom_queue_recoveries_total", "times this process restored an event the queue store lost, from the database (label: event)"),
    ("waitroom_places_kept_total", "fans who came back after departing by absence and got their ticket back"),
    ("waitroom_places_restored_total", "places the queue store lost, given back on the credential's place claim"),
    ("waitroom_place_claims_refused_total", "credentials refused because the queue store holds another ticket for the visitor (a credential from before a reissue, or a replay)"),
    ("waitroom_database_up", "1 when the database answers"),
    ("waitroom_event_waiting", "waiters in an event's queue, from its last tick"),
    ("waitroom_event_active", "admitted sessions alive in an event, from its last tick"),
    ("waitroom_event_tickets_issued", "highest ticket issued in an event (its rate is the join rate)"),
    ("waitroom_rate_limited_total", "requests refused by the edge's rate limits"),
    ("waitroom_captcha_checks_total", "CAPTCHA checks by outcome"),
];

/// Describes and registers [`METRICS`] and booking's; unlabelled counters
/// and gauges start at 0.
pub fn register_metrics() {
    booking::metrics::register();
    for (name, help) in METRICS {
        let name = *name;
        if name.ends_with("_seconds") {
            metrics::describe_histogram!(name, metrics::Unit::Seconds, *help);
            let _ = metrics::histogram!(name);
        } else if name.ends_with("_total") {
            metrics::describe_counter!(name, *help);
            if name != "waitroom_http_requests_total"
                && name != "waitroom_lease_acquired_total"
                && name != "waitroom_queue_recoveries_total"
                && name != "waitroom_captcha_checks_total"
                && name != "waitroom_rate_limited_total"
            {
                metrics::counter!(name).increment(0);
            }
        } else {
            metrics::describe_gauge!(name, *help);
            if !name.starts_with("waitroom_event_") {
                let _ = metrics::gauge!(name);
            }
        }
    }
}

/// How often the recorder folds the latency samples recorded since the
/// last time into its histograms.
pub const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds recorded latency samples into the histograms every `every`. The
/// recorder keeps each sample until a scrape or this upkeep reads it: with
/// no Prometheus scraping, 2.7 million health checks in 20 s grew a process
/// by 56 MB (about 20 bytes a request, 6 GB an hour at 80,000 a second).
pub fn spawn_metrics_upkeep(every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    let handle = metrics_handle();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            handle.run_upkeep();
        }
    })
}

/// Follows every event's ticks (published to every process) and keeps the
/// per-event gauges current.
pub fn spawn_event_gauges(
    store: std::sync::Arc<dyn queue::QueueStore>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = store.subscribe();
        loop {
            match ticks.recv().await {
                Ok(tick) => {
                    let event = tick.event.to_string();
                    metrics::gauge!("waitroom_event_waiting", "event" => event.clone())
                        .set(tick.waiting as f64);
                    metrics::gauge!("waitroom_event_active", "event" => event.clone())
                        .set(f64::from(tick.active));
                    metrics::gauge!("waitroom_event_tickets_issued", "event" => event)
                        .set(tick.last_ticket as f64);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}
