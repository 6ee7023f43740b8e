//! Building the app state from settings, and serving until Ctrl-C or SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use leptos::config::get_configuration;
use tokio::net::TcpListener;

use crate::server::config::{Settings, JWT_SECRET_ENV};
use crate::server::jwt_backend::{fingerprint, key_pair, keys, JwtBackend, SecretSource, SigningAlgorithm};
use crate::server::live_stream::LiveHub;
use crate::server::revocation;
use crate::server::room::presenter::PresenterKey;
use crate::server::room::Room;
use crate::server::router::build_router;
use crate::server::session_backend::SqlSessionStore;
use crate::server::loopback::LoopbackSecret;
use crate::server::rate_limit::RateLimits;
use crate::server::simulator::{ServerWideLimits, SimulationRegistry};
use crate::server::state::AppState;
use crate::server::{db, limits, rate_limit};

/// How long a graceful shutdown waits for open requests before it stops anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How often expired sessions and denylist entries are deleted and the SQLite WAL truncated.
const SESSION_CLEANUP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("failed to create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("failed to read the Leptos configuration {path}: {reason}")]
    LeptosConfig { path: String, reason: String },
    #[error("failed to open or migrate the database: {0}")]
    Database(#[from] db::DatabaseError),
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("failed to load the JWT signing key: {0}")]
    SigningKey(String),
    #[error("invalid --presenter-key: {0}")]
    PresenterKey(String),
    #[error("failed to listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// Creates the data directory, database, signing key and live hub.
pub async fn build_state(settings: Settings) -> Result<AppState, StartupError> {
    create_data_dir(&settings.data_dir)?;

    let leptos_config = settings.leptos_config.display().to_string();
    let mut leptos_options = get_configuration(Some(&leptos_config))
        .map_err(|error| StartupError::LeptosConfig {
            path: leptos_config.clone(),
            reason: error.to_string(),
        })?
        .leptos_options;
    leptos_options.site_addr = settings.addr;

    let database = db::open(&settings.data_dir, settings.database_url.as_deref()).await?;
    match &settings.database_url {
        Some(url) => tracing::info!(url = %db::redacted_url(url), "session store on PostgreSQL"),
        None => tracing::info!(file = %settings.data_dir.join(db::DATABASE_FILE).display(), "session store on SQLite"),
    }
    let simulated_latency = std::time::Duration::from_millis(settings.simulated_db_latency_ms);
    if !simulated_latency.is_zero() {
        tracing::info!(ms = settings.simulated_db_latency_ms, "simulated DB latency added to every session statement");
    }
    let mut jwt = build_jwt_backend(&settings)?;
    if settings.bind_token_fingerprint {
        jwt = jwt.with_fingerprint_binding(fingerprint::cookie_name(settings.secure_cookies));
        tracing::info!("JWTs are bound to a fingerprint cookie");
    }
    let hub = LiveHub::new(settings.max_streams, settings.max_streams_per_visitor);
    let presenter_key = match &settings.presenter_key {
        Some(value) => PresenterKey::from_setting(value).map_err(StartupError::PresenterKey)?,
        None => PresenterKey::generate(),
    };
    let room = Room::new(settings.max_participants);
    let (settings_max_users, settings_max_requests) =
        (settings.max_simulation_users, settings.max_simulation_requests);
    let server_wide = ServerWideLimits {
        max_running: settings.max_running_simulations,
        max_running_users: settings.max_running_virtual_users,
    };
    let rate_limits = RateLimits::from_settings(&settings);

    Ok(AppState {
        settings: Arc::new(settings),
        leptos_options,
        session_store: SqlSessionStore::new(&database, simulated_latency),
        database,
        jwt: Arc::new(jwt),
        hub: Arc::new(hub),
        simulations: Arc::new(SimulationRegistry::new(
            settings_max_users,
            settings_max_requests,
            server_wide,
        )),
        room: Arc::new(room),
        presenter_key: Arc::new(presenter_key),
        local_addr: Arc::default(),
        loopback_secret: Arc::new(LoopbackSecret::generate()),
        rate_limits: Arc::new(rate_limits),
    })
}

/// Loads or generates the signing key of the configured algorithm and builds the JWT backend.
fn build_jwt_backend(settings: &Settings) -> Result<JwtBackend, StartupError> {
    let (ttl, issuer, audience) = (settings.jwt_ttl_secs, &settings.jwt_issuer, &settings.jwt_audience);
    let env_secret = std::env::var(JWT_SECRET_ENV).ok();
    let algorithm = settings.jwt_algorithm;
    let (jwt, source) = if algorithm == SigningAlgorithm::Hs256 {
        let (secret, source) = keys::load_or_generate(env_secret, &settings.data_dir)?;
        (JwtBackend::new(&secret, ttl, issuer, audience), source)
    } else {
        if env_secret.is_some() {
            tracing::warn!(?algorithm, "{JWT_SECRET_ENV} is set but unused: it holds an HS256 secret");
        }
        let (pair, source) = key_pair::load_or_generate(algorithm, &settings.data_dir)?;
        let jwt = JwtBackend::with_key_pair(&pair, ttl, issuer, audience)
            .map_err(|error| StartupError::SigningKey(error.to_string()))?;
        (jwt, source)
    };
    match &source {
        SecretSource::Environment => tracing::info!("JWT secret read from {JWT_SECRET_ENV}"),
        SecretSource::ExistingFile(path) => tracing::info!(?algorithm, path = %path.display(), "JWT key read from file"),
        SecretSource::GeneratedFile(path) => tracing::info!(?algorithm, path = %path.display(), "JWT key generated"),
    }
    Ok(jwt)
}

/// Serves `state` on `listener` until `shutdown` completes, then cancels the simulations,
/// closes the live streams and lets in-flight requests finish.
///
/// This is a hyper-util accept loop rather than `axum::serve`, because `axum::serve` cannot
/// set hyper's header read timeout, so a client that sends its headers slowly could hold a
/// connection for as long as it likes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    if let Ok(addr) = listener.local_addr() {
        let _ = state.local_addr.set(addr);
    }
    let hub = Arc::clone(&state.hub);
    let simulations = Arc::clone(&state.simulations);
    let cleanup = tokio::spawn(clean_up_database(state.session_store.clone()));
    let room_publisher = tokio::spawn(Arc::clone(&state.room).publish());
    let limiter_cleanup = tokio::spawn(clean_up_rate_limits(Arc::clone(&state.rate_limits)));
    let header_read_timeout = Duration::from_secs(state.settings.header_read_timeout_secs);
    let connections = Arc::new(Semaphore::new(state.settings.max_connections as usize));
    let app = build_router(state);

    // HTTP/1 only: browsers speak HTTP/2 only over TLS, and this server speaks plain HTTP.
    // hyper-util's auto builder would still sniff each new connection for the HTTP/2 preface,
    // and no timeout applies while it waits, so a client that sends nothing could hold a
    // connection for ever. hyper's own HTTP/1 builder starts the header timeout at once.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_headers(limits::HYPER_MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    let mut refused = RefusedConnections::default();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let (stream, remote_addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    handle_accept_error(error).await;
                    continue;
                }
            },
            () = shutdown.as_mut() => break,
        };
        // Past the cap a connection is closed at once rather than left waiting. A waiting
        // accept loop would leave new visitors hanging in the listen backlog behind slow
        // clients, while a closed connection fails at once and the browser can retry.
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            drop(stream);
            refused.count();
            continue;
        };
        // Live events are small writes, which Nagle's algorithm would hold for up to about
        // 40 ms while the client delays its ACK of the previous one.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, %remote_addr, "failed to turn off Nagle's algorithm");
        }
        let app = app.clone();
        let service = TowerToHyperService::new(tower::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(remote_addr));
            app.clone().oneshot(request)
        }));
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %remote_addr, "connection ended with an error");
            }
            drop(permit);
        });
    }

    drop(listener);
    tracing::info!("shutting down: closing live streams, finishing open requests");
    simulations.cancel_all();
    hub.close_streams();
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!(grace_secs = SHUTDOWN_GRACE.as_secs(), "requests still open after the grace period; stopping anyway");
    }
    cleanup.abort();
    room_publisher.abort();
    limiter_cleanup.abort();
    tracing::info!("server stopped");
    Ok(())
}

/// Waits 1 s after an accept error other than a reset connection, such as EMFILE when the
/// process runs out of file descriptors, as `axum::serve` does.
async fn handle_accept_error(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "failed to accept a connection; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A count of the connections closed at the connection cap, for a log line at most once per
/// [`REFUSED_LOG_EVERY`].
#[derive(Default)]
struct RefusedConnections {
    since_log: u64,
    last_log: Option<Instant>,
}

/// Interval of the log line about connections closed at the cap.
const REFUSED_LOG_EVERY: Duration = Duration::from_secs(10);

impl RefusedConnections {
    fn count(&mut self) {
        self.since_log += 1;
        let due = self.last_log.is_none_or(|last| last.elapsed() >= REFUSED_LOG_EVERY);
        if due {
            tracing::warn!(closed = self.since_log, "connection limit reached: closed new connections at once");
            self.since_log = 0;
            self.last_log = Some(Instant::now());
        }
    }
}

async fn clean_up_rate_limits(limits: Arc<RateLimits>) {
    let mut interval = tokio::time::interval(rate_limit::CLEANUP_EVERY);
    interval.tick().await;
    loop {
        interval.tick().await;
        limits.clean_up();
    }
}

/// Binds `settings.addr`.
pub async fn bind(settings: &Settings) -> Result<TcpListener, StartupError> {
    TcpListener::bind(settings.addr)
        .await
        .map_err(|source| StartupError::Listen {
            addr: settings.addr.to_string(),
            source,
        })
}

fn create_data_dir(path: &Path) -> Result<(), StartupError> {
    use std::os::unix::fs::DirBuilderExt;
    let result = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path);
    result.map_err(|source| StartupError::DataDir {
        path: path.display().to_string(),
        source,
    })
}

/// Deletes expired sessions and denylist entries, and checkpoints the SQLite WAL so that its
/// file shrinks back to the size limit, every [`SESSION_CLEANUP_EVERY`].
async fn clean_up_database(store: SqlSessionStore) {
    let mut interval = tokio::time::interval(SESSION_CLEANUP_EVERY);
    loop {
        interval.tick().await;
        match store.delete_expired().await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired sessions deleted"),
            Err(error) => tracing::warn!(%error, "failed to delete expired sessions"),
        }
        match revocation::delete_expired(&store).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired denylist entries deleted"),
            Err(error) => tracing::warn!(%error, "failed to delete expired denylist entries"),
        }
        if let Err(error) = db::checkpoint(store.pool(), store.kind()).await {
            tracing::warn!(%error, "failed to checkpoint the SQLite WAL");
        }
    }
}

/// Returns a future that completes on Ctrl-C or SIGTERM. SIGTERM is caught from this call on,
/// so a stop that arrives while the server is still starting waits for it to start and then
/// shuts it down gracefully, rather than killing it.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};

    let terminate = signal(SignalKind::terminate());
    async move {
        let terminate = async {
            match terminate {
                Ok(mut terminate) => {
                    terminate.recv().await;
                }
                Err(error) => {
                    tracing::error!(%error, "failed to listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        let ctrl_c = async {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "failed to listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = ctrl_c => {},
            () = terminate => {},
        }
    }
}
