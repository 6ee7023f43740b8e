//! The Billing, Profile and Settings services: three routers in this process, each with its
//! own middleware, mounted at `/services/{name}/stateful` and `/services/{name}/jwt`. They
//! share the loopback port with the rest of the app rather than listening on ports of their
//! own, so that the live log, the visitor cookie and the tests reach them with no extra setup.
//!
//! In JWT mode a service verifies tokens itself with a [`TokenVerifier`] built from the public
//! key it fetches from this server's `/.well-known/jwks.json` over loopback on first use. The
//! verifier has no private key, so a service cannot issue tokens. Under HS256 the key set is
//! empty and the JWT routes answer 409 `services_need_public_key`. In stateful mode each
//! service loads the session from the shared session store.
//!
//! With `--bind-token-fingerprint` a JWT service also checks the fingerprint cookie, in memory.
//! With `--jwt-denylist` it must also ask the shared store whether the token was revoked, so
//! revocation costs every service a DB hit, as it would across real services.
//!
//! NOTE: service requests add to the visitor's page-request counters like any page request.
//! TODO: per-service DB-hit counters. The service name shows in each log line (`service`), next
//! to the statements that count towards DB Hits, and in the fan-out's response.

pub mod fan_out;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Json, Router};
use axum_extra::extract::CookieJar;
use jsonwebtoken::jwk::JwkSet;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;
use tower_sessions::Session;

use crate::model::{Mode, User};
use crate::server::account::wrong_method;
use crate::server::activity::{
    micros_since, record_activity, ActivityContext, ActivityKind, RequestOutcome, ServiceName,
};
use crate::server::error::AppError;
use crate::server::jwks::JWKS_PATH;
use crate::server::jwt_backend::{check_fingerprint, token_from_request, Claims, TokenVerifier};
use crate::server::loopback::{self, local_target, loopback_addr, LoopbackSecret};
use crate::server::revocation;
use crate::server::session_backend::{self, session_layer, SqlSessionStore};
use crate::server::state::AppState;
use crate::server::db_hits;

/// The services, in the order the fan-out lists them.
pub const SERVICES: [&str; 3] = ["billing", "profile", "settings"];

/// Response header with the name of the service that handled a request.
pub const SERVICE_HEADER: &str = "x-service";

/// Response header with the number of SQL statements the service ran for a request, set on
/// errors too, whose JSON body has no count.
pub const DB_QUERIES_HEADER: &str = "x-db-queries";

/// Timeout of a loopback request to the key set or a service.
pub(crate) const LOOPBACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Body of a service's successful response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceReply {
    pub service: String,
    pub mode: Mode,
    pub user: User,
    pub auth_us: u64,
    pub db_queries: u32,
    pub verified_with: String,
}

/// The state of one service: its name, what it needs to fetch the key set, and its verifier
/// once fetched.
#[derive(Clone)]
struct ServiceState {
    name: &'static str,
    local_addr: Arc<OnceLock<SocketAddr>>,
    issuer: String,
    audience: String,
    verifier: Arc<OnceCell<TokenVerifier>>,
    /// The fingerprint cookie's name when tokens are bound to one.
    fingerprint_cookie: Option<&'static str>,
    /// The shared store, when `--jwt-denylist` makes JWT services check revocations.
    denylist: Option<SqlSessionStore>,
    loopback_secret: Arc<LoopbackSecret>,
}

/// Builds the routers of the three services and of the fan-out endpoint.
pub fn router(state: &AppState) -> Router<AppState> {
    let activity = |kind| from_fn_with_state(ActivityContext { hub: Arc::clone(&state.hub), room: Arc::clone(&state.room), kind }, record_activity);
    let mut router = Router::new()
        .route("/api/stateful/services/{page}", get(fan_out::fan_out).layer(Extension(Mode::Stateful)))
        .route("/api/jwt/services/{page}", get(fan_out::fan_out).layer(Extension(Mode::Jwt)))
        .method_not_allowed_fallback(wrong_method)
        .layer(activity(ActivityKind::Other))
        .route("/services/{*path}", any(unknown_service));
    for name in SERVICES {
        let service = ServiceState {
            name,
            local_addr: Arc::clone(&state.local_addr),
            issuer: state.settings.jwt_issuer.clone(),
            audience: state.settings.jwt_audience.clone(),
            verifier: Arc::default(),
            fingerprint_cookie: state.jwt.fingerprint_cookie(),
            denylist: state.settings.jwt_denylist.then(|| state.session_store.clone()),
            loopback_secret: Arc::clone(&state.loopback_secret),
        };
        let sessions = session_layer(
            state.session_store.clone(),
            state.settings.session_ttl_secs,
            state.settings.secure_cookies,
        );
        // The service layer sits inside the activity layer, so it can read the statement count
        // of the request from the activity layer's recorder.
        let stateful = Router::new()
            .route(&format!("/services/{name}/stateful"), get(stateful_service))
            .method_not_allowed_fallback(wrong_method)
            .layer(sessions)
            .layer(from_fn_with_state(name, tag_service_response))
            .layer(activity(ActivityKind::Page(Mode::Stateful)));
        let jwt = Router::new()
            .route(&format!("/services/{name}/jwt"), get(jwt_service))
            .method_not_allowed_fallback(wrong_method)
            .layer(from_fn_with_state(name, tag_service_response))
            .layer(activity(ActivityKind::Page(Mode::Jwt)));
        router = router.merge(stateful.merge(jwt).with_state(service));
    }
    router
}

/// JSON 404 for a path under `/services` that names no service and mode.
async fn unknown_service() -> AppError {
    AppError::client(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!("no service has this path; the services are /services/{{{}}}/{{stateful,jwt}}", SERVICES.join(",")),
    )
}

/// Middleware of every service: names the service and the statement count in response headers,
/// and names the service for the activity layer's log line.
async fn tag_service_response(State(name): State<&'static str>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.extensions_mut().insert(ServiceName(name));
    let headers = response.headers_mut();
    headers.insert(SERVICE_HEADER, HeaderValue::from_static(name));
    headers.insert(DB_QUERIES_HEADER, HeaderValue::from(db_hits::current_count()));
    response
}

/// `GET /services/{name}/stateful`: loads the visitor's session from the shared store.
async fn stateful_service(State(service): State<ServiceState>, session: Session, cookies: CookieJar) -> Response {
    let started = Instant::now();
    let user = session_backend::authenticate(&session, &cookies).await;
    service_response(&service, Mode::Stateful, started, user, "the shared session store".into())
}

/// `GET /services/{name}/jwt`: verifies the token with the public key from the key set.
async fn jwt_service(State(service): State<ServiceState>, headers: HeaderMap, cookies: CookieJar) -> Response {
    let verifier = match service.verifier().await {
        Ok(verifier) => verifier,
        Err(error) => return error.into_response(),
    };
    let started = Instant::now();
    let user = service.authenticate(verifier, &headers, &cookies).await.map(|claims| claims.user());
    let kid = verifier.kid().unwrap_or_default();
    let mut verified_with = format!("public key {kid} ({})", verifier.algorithm_name());
    if service.denylist.is_some() {
        verified_with.push_str(" and the denylist in the shared store");
    }
    service_response(&service, Mode::Jwt, started, user, verified_with)
}

fn service_response(
    service: &ServiceState,
    mode: Mode,
    started: Instant,
    user: Result<User, AppError>,
    verified_with: String,
) -> Response {
    let auth_us = micros_since(started);
    let (mut response, message) = match user {
        Ok(user) => {
            let message = format!("{} service authenticated {} with {verified_with}", service.name, user.name);
            let reply = ServiceReply {
                service: service.name.to_owned(),
                mode,
                user,
                auth_us,
                db_queries: db_hits::current_count(),
                verified_with,
            };
            (Json(reply).into_response(), message)
        }
        Err(error) => (error.into_response(), String::new()),
    };
    response.extensions_mut().insert(RequestOutcome {
        auth_us: Some(auth_us),
        credential_bytes: None,
        message,
    });
    response
}

impl ServiceState {
    /// Verifies the request's token with the public key, then checks the fingerprint cookie
    /// and the denylist when the server turns them on.
    async fn authenticate(&self, verifier: &TokenVerifier, headers: &HeaderMap, cookies: &CookieJar) -> Result<Claims, AppError> {
        let claims = verifier.verify(token_from_request(headers, cookies)?)?;
        if let Some(cookie_name) = self.fingerprint_cookie {
            check_fingerprint(&claims, cookie_name, cookies)?;
        }
        if let Some(store) = &self.denylist {
            revocation::check_not_revoked(store, &claims).await?;
        }
        Ok(claims)
    }

    /// Returns the service's verifier, fetching the key set on first use. A failed fetch is
    /// not cached, so the next request tries again.
    async fn verifier(&self) -> Result<&TokenVerifier, AppError> {
        self.verifier.get_or_try_init(|| self.fetch_verifier()).await
    }

    async fn fetch_verifier(&self) -> Result<TokenVerifier, AppError> {
        let url = format!("http://{}{JWKS_PATH}", loopback_addr(local_target(&self.local_addr)?));
        let fetch_failed = |error: reqwest::Error| {
            AppError::Internal(format!("the {} service failed to fetch {url}: {error}", self.name))
        };
        let client = loopback::client(&self.loopback_secret, LOOPBACK_TIMEOUT)?;
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|error| services_unavailable(&format!("the key set {JWKS_PATH}"), &error))?;
        let set: JwkSet = response
            .error_for_status()
            .map_err(fetch_failed)?
            .json()
            .await
            .map_err(fetch_failed)?;
        let Some(jwk) = set.keys.first() else {
            return Err(need_public_key());
        };
        let verifier = TokenVerifier::from_public_jwk(jwk, &self.issuer, &self.audience)
            .map_err(|reason| AppError::Internal(format!("the {} service cannot use the JWK: {reason}", self.name)))?;
        tracing::info!(service = self.name, kid = verifier.kid().unwrap_or_default(), "service fetched the public key");
        Ok(verifier)
    }
}

/// Builds the 503 `services_unavailable` of a loopback request from the fan-out or a service
/// to this server that failed without a response, and logs the error. `target` names what the
/// request was for, such as "the profile service".
///
/// NOTE: the usual cause is the connection cap (`--max-connections`), which closes the loopback
/// connection at once, but reqwest reports that like any other closed connection, so the
/// reason names the cap as the likely cause rather than the certain one.
pub(crate) fn services_unavailable(target: &str, error: &reqwest::Error) -> AppError {
    tracing::warn!(%error, target, "a loopback request to this server failed");
    let reason = if error.is_timeout() {
        format!("the request to {target} over loopback timed out after {} s", LOOPBACK_TIMEOUT.as_secs())
    } else if error.is_connect() {
        format!("the request to {target} over loopback failed to connect")
    } else {
        format!(
            "the server closed the loopback connection to {target} before a response, most likely because \
             it is at its connection limit"
        )
    };
    AppError::client(
        StatusCode::SERVICE_UNAVAILABLE,
        "services_unavailable",
        format!("{reason}; try again in a moment"),
    )
}

/// Builds the 409 of a JWT service request when the server signs with HS256.
pub(crate) fn need_public_key() -> AppError {
    AppError::client(
        StatusCode::CONFLICT,
        "services_need_public_key",
        "the services verify tokens with the public key from /.well-known/jwks.json, but this \
         server signs with HS256, whose shared secret is never published; start it with \
         --jwt-algorithm eddsa or rs256",
    )
}

