//! `build_router`: the whole HTTP surface, shared by `main` and the integration tests.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::model::Mode;
use crate::server::activity::{record_activity, ActivityContext, ActivityKind};
use crate::server::session_backend::session_layer;
use crate::server::state::AppState;
use crate::server::security_headers::add_security_headers;
use crate::server::{
    account, assets, attack_lab, csrf, jwks, limits, live_stream, pages, refresh, revocation, room, services,
    simulator, site, token_inspector, visitor,
};

/// Builds the router with its full middleware stack.
pub fn build_router(state: AppState) -> Router {
    let sessions = session_layer(
        state.session_store.clone(),
        state.settings.session_ttl_secs,
        state.settings.secure_cookies,
    );
    let activity = |kind| from_fn_with_state(ActivityContext { hub: Arc::clone(&state.hub), room: Arc::clone(&state.room), kind }, record_activity);

    // The session layer wraps only the routes that use sessions: it would otherwise load a
    // session on requests that must cost no DB hit.
    //
    // Each router sets the JSON 405 before adding its layers, because
    // method_not_allowed_fallback reaches only the routes registered before it on that router.
    let stateful_pages = Router::new()
        .route("/api/stateful/pages/{page}", get(pages::stateful_page))
        .method_not_allowed_fallback(account::wrong_method)
        .layer(sessions.clone())
        .layer(activity(ActivityKind::Page(Mode::Stateful)));
    let jwt_pages = Router::new()
        .route("/api/jwt/pages/{page}", get(pages::jwt_page))
        .method_not_allowed_fallback(account::wrong_method)
        .layer(activity(ActivityKind::Page(Mode::Jwt)));
    let token_refresh = Router::new()
        .route("/api/token/refresh", post(refresh::refresh))
        .method_not_allowed_fallback(account::wrong_method)
        .layer(activity(ActivityKind::TokenRefresh));
    let account = Router::new()
        .route("/api/login", post(account::login))
        .route("/api/logout", post(account::logout))
        .route("/api/revoke-all", post(revocation::revoke_all))
        .layer(sessions)
        .route("/api/reset", post(account::reset))
        .route("/api/token/permissions", post(token_inspector::set_permissions))
        .route("/api/attacks", get(attack_lab::list))
        .route("/api/attacks/{id}", post(attack_lab::run))
        .route("/api/simulations", post(simulator::routes::start))
        .route(
            "/api/simulations/{id}",
            get(simulator::routes::show).delete(simulator::routes::cancel),
        )
        .route("/api/simulations/{id}/results.csv", get(simulator::routes::download_csv))
        .route("/api/simulations/{id}/results.json", get(simulator::routes::download_json))
        .route("/api/{*path}", get(account::unknown_route).post(account::unknown_route))
        .method_not_allowed_fallback(account::wrong_method)
        .layer(activity(ActivityKind::Other));
    let presenter_only = from_fn_with_state(Arc::clone(&state.presenter_key), room::presenter::require_presenter);
    let room_actions = Router::new()
        .route("/api/room/mode", post(room::routes::set_mode))
        .route("/api/room/rounds", post(room::routes::start_round))
        .route("/api/room/reset", post(room::routes::reset))
        .route_layer(presenter_only)
        .route("/api/room/presenter/key", post(room::routes::presenter_sign_in))
        .method_not_allowed_fallback(account::wrong_method)
        .layer(activity(ActivityKind::Other));
    // The baseline page route sits outside the session and activity layers, so a load test
    // measures the least work a page request costs here.
    let quiet = Router::new()
        .route("/api/baseline/pages/{page}", get(pages::baseline_page))
        .route("/api/events", get(live_stream::events))
        .route("/api/stats", get(account::stats))
        .route("/api/whoami", get(account::whoami))
        .route("/api/token", get(token_inspector::inspect_token))
        .route("/api/info", get(account::info))
        .route("/api/room", get(room::routes::snapshot))
        .route("/api/room/events", get(room::routes::events))
        .route("/api/room/join", get(room::routes::join_info))
        .route("/api/room/presenter", get(room::routes::presenter_status))
        // Joining is quiet: the dashboard joins by itself after each sign-in, and a log line of
        // its own would follow every sign-in line.
        .route("/api/room/participants", post(room::routes::join))
        .route("/present/qr.svg", get(room::routes::qr_code))
        .route("/healthz", get(account::healthz))
        .route(jwks::JWKS_PATH, get(jwks::jwks))
        .method_not_allowed_fallback(account::wrong_method);

    let router = Router::new()
        .merge(stateful_pages)
        .merge(jwt_pages)
        .merge(token_refresh)
        .merge(account)
        .merge(room_actions)
        .merge(quiet)
        .merge(services::router(&state))
        .merge(assets::pkg_router(&state.leptos_options))
        .merge(site::site_router(&state.leptos_options))
        .layer(DefaultBodyLimit::max(limits::MAX_BODY_BYTES))
        // NOTE: the body timeout restarts with every part of the body that arrives, so a client
        // that sends a byte just within each timeout keeps its request open, up to the 4 KiB limit.
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(state.settings.body_read_timeout_secs)))
        .layer(from_fn_with_state(state.clone(), crate::server::rate_limit::limit_rate))
        .layer(from_fn_with_state(Arc::clone(&state.hub), limits::limit_header_size))
        .layer(from_fn_with_state(state.settings.secure_cookies, visitor::ensure_visitor))
        .layer(from_fn(csrf::reject_cross_origin));
    add_security_headers(router)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
