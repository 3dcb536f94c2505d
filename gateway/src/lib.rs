//! The edge and the process: configuration, telemetry, composing the
//! routers of every role, static pages, readiness and graceful shutdown.

pub mod config;
pub mod edge;
pub mod headers;
pub mod healthcheck;
pub mod openapi;
mod ops;
pub mod outer;
pub mod readiness;
mod secrets;
pub mod server;
pub mod telemetry;

use anyhow::Context;
use axum::Router;
use config::{Role, Settings};
use queue::admission::AdmissionIssuer;
use queue::engine::{Engine, EngineConfig};
use queue::store::{memory::MemoryStore, redis::RedisStore};
use queue::visitor::CredentialCodec;
use queue::{EventId, QueueSettings, QueueStore};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Issuer and audience of admission tokens.
pub const TOKEN_ISSUER: &str = "waitroom";
/// The booking service, as named in the admission token's `aud`.
pub const TOKEN_AUDIENCE: &str = "waitroom-booking";
/// A built application: the router plus what must live as long as it.
pub struct App {
    /// All routes of the configured roles, with the outermost work around
    /// them: what the listener serves.
    pub router: outer::Outermost,
    /// The queue engine.
    pub engine: Arc<Engine>,
    /// The booking service, when this process runs it.
    pub booking: Option<Arc<booking::Booking>>,
    /// The listener's connection caps (the router's WebSocket cap shares them).
    pub bounds: Arc<server::Bounds>,
    /// Background loops, aborted when the app is dropped.
    _loops: Vec<AbortOnDrop>,
}

/// Aborts a background task when dropped, so no loop outlives its app.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connects the backends and composes the routers for `settings.role`.
pub async fn build(settings: &Settings) -> anyhow::Result<App> {
    // Install the recorder before anything records a metric.
    telemetry::metrics_handle();
    telemetry::register_metrics();
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data dir {}", settings.data_dir.display()))?;
    // Checked first, so a weak operator key in production stops the start
    // before any backend is touched.
    let admin_token = match settings.role.runs(Role::Admin) {
        true => Some(secrets::admin_token(settings)?),
        false => None,
    };
    let keys = Arc::new(secrets::signing_keys(settings)?);
    let booking_config = secrets::with_ticket_keys(settings.booking_config(), &keys)?;
    let jwks = secrets::published_jwks(&keys, &booking_config)?;
    let store: Arc<dyn QueueStore> = match &settings.redis_url {
        Some(url) => Arc::new(RedisStore::connect(url.expose()).await?),
        None => Arc::new(MemoryStore::new()),
    };
    tracing::info!(backend = store.backend(), role = ?settings.role, "queue store ready");

    let engine = Engine::new(
        store.clone(),
        EngineConfig {
            tick_interval: Duration::from_millis(settings.tick_ms.max(50)),
            lease_ttl: Duration::from_millis(settings.lease_ttl_ms.max(settings.tick_ms * 2)),
            ..EngineConfig::default()
        },
        CredentialCodec::new(&keys),
        AdmissionIssuer::new(
            keys.clone(),
            TOKEN_ISSUER.to_owned(),
            TOKEN_AUDIENCE.to_owned(),
        ),
    );
    let fans = queue::api::QueueApi {
        engine: engine.clone(),
        places: engine.clone(),
        secure_cookies: settings.secure_cookies(),
        jwks: Arc::new(jwks),
        origin: queue::api::AllowedOrigin::new(settings.public_base_url.as_deref()),
    };
    let edge = edge::Edge::build(
        &settings.edge,
        edge::EdgeDeps {
            redis_url: settings.redis_url.as_ref().map(|u| u.expose()),
            keys: &keys,
            engine: engine.clone(),
            fans: fans.clone(),
        },
    )
    .await?;
    let mut loops = vec![
        AbortOnDrop(edge.spawn_maintenance()),
        AbortOnDrop(telemetry::spawn_event_gauges(store.clone())),
        AbortOnDrop(telemetry::spawn_metrics_upkeep(telemetry::METRICS_UPKEEP)),
    ];
    let mut router = Router::new();

    // Every role uses the records database: one pool per process, migrated
    // once, shared by the queue ledger, booking and the operator API.
    let records = booking::Booking::open_db(&booking_config)
        .await
        .context("connecting the records database")?;

    if settings.role.runs(Role::Queue) {
        // Settings and checkpoints in the records database, so the queue
        // survives a queue store that loses its data.
        let ledger = admin::store::AdminDb::new(&records);
        engine.set_ledger(Arc::new(ledger));
        if settings.demo_event && settings.redis_url.is_none() {
            create_demo_event(&engine).await?;
        }
        loops.extend(engine.spawn_loops().into_iter().map(AbortOnDrop));
        router = router.merge(queue::api::router(fans));
        router = router.merge(edge.router());
    }
    let mut booking = None;
    let verifier = Arc::new(queue::admission::AdmissionVerifier::new(
        keys.public_keys(),
        TOKEN_ISSUER.to_owned(),
        TOKEN_AUDIENCE.to_owned(),
    ));
    if settings.role.runs(Role::Booking) {
        let service = booking::Booking::start(
            booking_config.clone(),
            records.clone(),
            verifier.clone(),
            store.clone(),
        )
        .await
        .context("starting the booking service")?;
        router = router.merge(service.router());
        booking = Some(Arc::new(service));
    }
    if let Some(token) = admin_token {
        let config = admin::AdminConfig {
            api_key: token,
            bootstrap_email: settings.admin_email.clone(),
            bootstrap_password: settings
                .admin_password
                .as_ref()
                .map(|p| p.expose().to_owned()),
            secure_cookies: settings.secure_cookies(),
            public_base_url: settings.public_base_url.clone(),
            bearer_free_attempts: settings.admin_bearer_free_attempts,
        };
        // Operators edit, report on and cancel sales through the booking
        // service layer; an admin-only process builds one without its
        // workers (the booking processes send the mail it queues).
        let handles = match &booking {
            Some(service) => service.state().operator_handles(),
            None => booking::Booking::build_state(
                booking_config,
                records.clone(),
                verifier,
                store.clone(),
            )
            .await
            .context("connecting the booking service for the operator API")?
            .operator_handles(),
        };
        let api = admin::AdminApi::connect(
            engine.clone(),
            handles,
            admin::store::AdminDb::new(&records),
            &config,
        )
        .await
        .context("starting the operator API")?
        // The edge resolved the client address (trusted proxies).
        .with_client_ip(Arc::new(|parts| {
            parts
                .extensions
                .get::<edge::client_ip::ClientIp>()
                .map(|c| c.ip)
        }));
        // The sale scheduler; safe on every admin process (compare-and-set).
        let every = Duration::from_millis(settings.tick_ms.max(50));
        loops.push(AbortOnDrop(admin::spawn_scheduler(api.clone(), every)));
        loops.push(AbortOnDrop(admin::spawn_collector(&api)));
        loops.push(AbortOnDrop(admin::spawn_analytics(&api)));
        router = router.merge(admin::router(api));
    }

    if let Some(service) = &booking {
        // Signed-in customers hold one place per event (edge place cap).
        let state = service.state().clone();
        edge.set_accounts(Arc::new(move |headers| {
            let creds = booking::Credentials::from_headers(headers);
            state.accounts().customer_from(&creds).map(|c| c.sub)
        }));
    }

    let redis_mode = match &settings.redis_url {
        Some(url) => Some(Arc::new(readiness::RedisMode::connect(url.expose()).await?)),
        None => None,
    };
    let ops = ops::Ops {
        engine: engine.clone(),
        booking: booking.clone(),
        redis_mode,
    };
    // Checks once now (a wrong mode is logged at start), then every 5 s.
    loops.push(AbortOnDrop(ops::spawn_health_loop(ops.clone())));
    if !settings.web_dir.join("queue.html").is_file() {
        tracing::warn!(web_dir = %settings.web_dir.display(),
            "no pages in web_dir: the API works, the pages answer 404 (set WAITROOM_WEB_DIR)");
    }
    let router = router
        .merge(ops::router(ops, settings.metrics_listen.is_none()))
        .merge(ops::pages(&settings.web_dir));
    let bounds = server::Bounds::new(
        &settings.connections,
        edge::client_ip::TrustedProxies::parse(&settings.edge.trusted_proxies)
            .map_err(anyhow::Error::msg)?,
    );
    let security = Arc::new(headers::SecurityHeaders::new(settings)?);
    // The edge's layer needs the matched route, so it goes on the routes
    // (with the WebSocket cap inside it), the one route layer: every layer
    // is a boxed service cloned and a future boxed on every request.
    // The outermost work wraps the router itself, fallbacks included.
    let router = edge.wrap(router, bounds.clone());
    let router = outer::Outermost::new(router, edge.clone(), security);
    Ok(App {
        router,
        engine,
        booking,
        bounds,
        _loops: loops,
    })
}

/// The embedded default shows the product working at once: an open queue
/// for the event `demo`, admitting 60 a minute.
async fn create_demo_event(engine: &Engine) -> anyhow::Result<()> {
    let demo = EventId::parse("demo")?;
    // After a restart the embedded store is empty but the ledger is not:
    // the demo comes back as operators left it.
    if !engine.store().events().await?.is_empty() || engine.ensure_event(&demo).await?.is_some() {
        return Ok(());
    }
    let settings = QueueSettings {
        admit_per_minute: 60,
        max_active: 200,
        ..QueueSettings::default()
    };
    engine.put_settings(&demo, &settings).await?;
    tracing::info!("created the demo event: open /queue/demo");
    Ok(())
}

/// Serves `settings` on `listener` until `shutdown` resolves, then tells
/// connected waiters to reconnect elsewhere and drains connections.
pub async fn launch_with_listener(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = build(&settings).await?;
    let _metrics = match settings.metrics_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the metrics listener {addr}"))?;
            println!("metrics on http://{}/metrics", listener.local_addr()?);
            Some(AbortOnDrop(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, ops::metrics_router()).await {
                    tracing::error!(error = %e, "metrics listener stopped");
                }
            })))
        }
        None => None,
    };
    let engine = app.engine.clone();
    let grace = Duration::from_secs(settings.shutdown_grace_seconds);
    let bounds = app.bounds.clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(server::serve(
        listener,
        app.router.clone(),
        bounds.clone(),
        stop.clone(),
    ));
    let mut serving = AbortOnDrop(serving);
    tokio::select! {
        _ = shutdown => {}
        r = &mut serving.0 => {
            r.context("the listener failed")?;
            anyhow::bail!("the listener stopped");
        }
    }
    tracing::info!("shutting down: asking waiters to reconnect elsewhere");
    engine.shutdown();
    // Stop accepting; each connection finishes its current request.
    stop.cancel();
    let drained = async {
        let _ = (&mut serving.0).await;
        bounds.drained().await;
    };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!(
            open = bounds.open_connections(),
            "connections still open after the grace period; closing"
        );
    }
    // Aborts connection tasks still running.
    drop(serving);
    drop(app);
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
