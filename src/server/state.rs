//! The state shared by all handlers.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::SqlitePool;

use crate::server::config::Settings;
use crate::server::jwt_backend::JwtBackend;
use crate::server::live_stream::LiveHub;
use crate::server::session_backend::SqliteSessionStore;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub pool: SqlitePool,
    pub session_store: SqliteSessionStore,
    pub jwt: Arc<JwtBackend>,
    pub hub: Arc<LiveHub>,
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
