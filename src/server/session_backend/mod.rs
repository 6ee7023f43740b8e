//! The stateful backend: an opaque session ID in a cookie, and the session record in SQLite or
//! PostgreSQL, loaded on every page request through tower-sessions.

pub mod store;

use axum_extra::extract::CookieJar;
use time::Duration;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

pub use store::SqlSessionStore;

use crate::model::User;
use crate::server::error::AppError;

/// Name of the cookie that carries the session ID.
pub const SESSION_COOKIE: &str = "sj_session";

/// Key of the signed-in user inside the session record.
pub(crate) const USER_KEY: &str = "user";

/// Builds the tower-sessions layer with the app's cookie policy: HttpOnly, SameSite=Strict,
/// and Secure when the app is served over TLS.
///
/// The layer loads a session only when a handler reads it, and writes it back only when a
/// handler changed it, so a page request costs exactly one SELECT.
pub fn session_layer(
    store: SqlSessionStore,
    lifetime_secs: u64,
    secure: bool,
) -> SessionManagerLayer<SqlSessionStore> {
    let lifetime = Duration::seconds(i64::try_from(lifetime_secs).unwrap_or(i64::MAX));
    // NOTE: with OnInactivity the stored expiry moves only when the record is written, which
    // happens at sign-in, so in practice sessions expire a fixed time after sign-in.
    SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(lifetime))
}

/// Stores `user` in a session, replacing the session ID of any previous one so that an ID
/// known before sign-in is worthless after it (session fixation).
pub async fn sign_in(session: &Session, user: &User) -> Result<(), AppError> {
    if session.id().is_some() {
        session.cycle_id().await.map_err(AppError::session_store)?;
    }
    session
        .insert(USER_KEY, user)
        .await
        .map_err(AppError::session_store)
}

/// Deletes the session record from the database.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(AppError::session_store)
}

/// Returns the user stored in the session, loading it first if needed.
pub async fn signed_in_user(session: &Session) -> Result<Option<User>, AppError> {
    session.get::<User>(USER_KEY).await.map_err(AppError::session_store)
}

/// Loads the session named by the request's cookie and returns its user.
pub async fn authenticate(session: &Session, cookies: &CookieJar) -> Result<User, AppError> {
    let Some(cookie) = cookies.get(SESSION_COOKIE) else {
        return Err(AppError::Unauthorized {
            code: "session_missing",
            reason: "no session cookie was sent; sign in first".into(),
        });
    };
    if cookie.value().parse::<tower_sessions::session::Id>().is_err() {
        return Err(AppError::Unauthorized {
            code: "session_malformed",
            reason: "the session cookie is not a valid session ID".into(),
        });
    }

    let user = session
        .get::<User>(USER_KEY)
        .await
        .map_err(AppError::session_store)?;
    user.ok_or_else(|| AppError::Unauthorized {
        code: "session_not_found",
        reason: "no live session has this ID: it expired, was logged out, or never existed"
            .into(),
    })
}
