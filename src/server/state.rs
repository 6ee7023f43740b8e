//! The state shared by all handlers.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::server::config::Settings;
use crate::server::jwt_backend::JwtBackend;
use crate::server::live_stream::LiveHub;
use crate::server::loopback::LoopbackSecret;
use crate::server::rate_limit::RateLimits;
use crate::server::db::Database;
use crate::server::room::presenter::PresenterKey;
use crate::server::room::Room;
use crate::server::session_backend::SqlSessionStore;
use crate::server::simulator::SimulationRegistry;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub database: Database,
    pub session_store: SqlSessionStore,
    pub jwt: Arc<JwtBackend>,
    pub hub: Arc<LiveHub>,
    pub simulations: Arc<SimulationRegistry>,
    pub room: Arc<Room>,
    pub presenter_key: Arc<PresenterKey>,
    /// The address the server listens on, known once it is bound.
    pub local_addr: Arc<OnceLock<SocketAddr>>,
    /// The secret that exempts the server's own loopback requests from the rate limits.
    pub loopback_secret: Arc<LoopbackSecret>,
    pub rate_limits: Arc<RateLimits>,
}

impl AppState {
    /// The session store's database, as exports and the comparison panel name it.
    pub fn database_kind(&self) -> &'static str {
        self.database.kind.name()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Arc<LiveHub> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.hub)
    }
}

impl FromRef<AppState> for Arc<Room> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.room)
    }
}
