//! Revocation: "revoke everything" for a compromised account, and the optional JWT denylist
//! (`--jwt-denylist`) that makes a revoked token fail before it expires.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::components::numbers::count_of;
use crate::model::RevokeAllResponse;
use crate::server::activity::with_log_message;
use crate::server::error::AppError;
use crate::server::jwt_backend::Claims;
use crate::server::refresh;
use crate::server::session_backend::{self, SqlSessionStore, SESSION_COOKIE};
use crate::server::state::AppState;

pub const INSERT_REVOKED_TOKEN: &str =
    "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING";
pub const DELETE_EXPIRED_REVOKED_TOKENS: &str = "DELETE FROM revoked_tokens WHERE expires_at <= $1";
pub const DELETE_EXPIRED_REVOKED_USERS: &str = "DELETE FROM revoked_users WHERE expires_at <= $1";
/// Records a user's "revoke everything": every JWT of the user issued at or before
/// `revoked_at` is rejected until `expires_at`, when the last of them expires anyway.
pub const UPSERT_REVOKED_USER: &str = "INSERT INTO revoked_users (user_id, revoked_at, expires_at) \
     VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET revoked_at = excluded.revoked_at, \
     expires_at = excluded.expires_at";
/// Counts the denylist entries that match a token: its own `jti`, and its user's "revoke
/// everything" when the token was issued at or before it. One statement, so one DB hit.
pub const COUNT_REVOCATIONS: &str = "SELECT \
     (SELECT COUNT(*) FROM revoked_tokens WHERE jti = $1) + \
     (SELECT COUNT(*) FROM revoked_users WHERE user_id = $2 AND revoked_at >= $3)";

/// Adds the token with `claims` to the denylist until it expires.
pub async fn deny(store: &SqlSessionStore, claims: &Claims) -> Result<(), AppError> {
    let expires_at = i64::try_from(claims.exp).unwrap_or(i64::MAX);
    let started = store.before_statement().await;
    let result = sqlx::query(INSERT_REVOKED_TOKEN)
        .bind(claims.jti.clone())
        .bind(expires_at)
        .execute(store.pool())
        .await;
    store.record(INSERT_REVOKED_TOKEN, started);
    result
        .map(|_| ())
        .map_err(|error| AppError::Internal(format!("failed to add a JWT to the denylist: {error}")))
}

/// Deletes the denylist entries whose tokens have expired anyway, and returns how many.
pub async fn delete_expired(store: &SqlSessionStore) -> sqlx::Result<u64> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut deleted = 0;
    for sql in [DELETE_EXPIRED_REVOKED_TOKENS, DELETE_EXPIRED_REVOKED_USERS] {
        let started = store.before_statement().await;
        let result = sqlx::query(sql).bind(now).execute(store.pool()).await;
        store.record(sql, started);
        deleted += result?.rows_affected();
    }
    Ok(deleted)
}

/// Rejects every JWT of `user_id` issued until now, for as long as a token issued now lives.
pub async fn deny_user(store: &SqlSessionStore, user_id: &str, token_ttl_secs: u64) -> Result<(), AppError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let expires_at = now.saturating_add(i64::try_from(token_ttl_secs).unwrap_or(i64::MAX));
    let started = store.before_statement().await;
    let result = sqlx::query(UPSERT_REVOKED_USER)
        .bind(user_id.to_owned())
        .bind(now)
        .bind(expires_at)
        .execute(store.pool())
        .await;
    store.record(UPSERT_REVOKED_USER, started);
    result
        .map(|_| ())
        .map_err(|error| AppError::Internal(format!("failed to add a user to the denylist: {error}")))
}

/// Authenticates a JWT request the way every JWT route does. The token and, with fingerprint
/// binding on, its fingerprint cookie are checked in memory. With `--jwt-denylist` on, the
/// denylist is checked too, which costs one DB hit.
pub async fn authenticate_jwt(state: &AppState, headers: &HeaderMap, cookies: &CookieJar) -> Result<Claims, AppError> {
    let claims = state.jwt.authenticate(headers, cookies)?;
    if state.settings.jwt_denylist {
        check_not_revoked(&state.session_store, &claims).await?;
    }
    Ok(claims)
}

/// Rejects the token with `claims` when its `jti` is on the denylist, or when its user revoked
/// everything after it was issued. Runs one SQL query, which counts as a DB hit of the request.
pub async fn check_not_revoked(store: &SqlSessionStore, claims: &Claims) -> Result<(), AppError> {
    let issued_at = i64::try_from(claims.iat).unwrap_or(i64::MAX);
    let started = store.before_statement().await;
    let result: sqlx::Result<(i64,)> = sqlx::query_as(COUNT_REVOCATIONS)
        .bind(claims.jti.clone())
        .bind(claims.sub.clone())
        .bind(issued_at)
        .fetch_one(store.pool())
        .await;
    store.record(COUNT_REVOCATIONS, started);
    let (count,) =
        result.map_err(|error| AppError::Internal(format!("failed to read the JWT denylist: {error}")))?;
    if count > 0 {
        return Err(AppError::Unauthorized {
            code: "token_revoked",
            reason: "this token was revoked by logout or \"revoke everything\"; sign in again".into(),
        });
    }
    Ok(())
}

/// Returns the seconds left until the token with `claims` expires, 0 once it has.
pub fn seconds_left(claims: &Claims) -> u64 {
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    claims.exp.saturating_sub(now)
}

/// `POST /api/revoke-all`: for a compromised account, deletes every server-side session and
/// every refresh token of the signed-in user and, with the denylist on, rejects every JWT
/// issued to the user so far.
///
/// The caller is named by the session cookie or the JWT. Cookies are left in place, so that
/// the next page request shows what revocation did in each mode: the stateful route fails at
/// once, and the JWT route keeps working until the token expires unless the denylist is on.
pub async fn revoke_all(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    cookies: CookieJar,
) -> Result<Response, AppError> {
    let claims = state.jwt.authenticate(&headers, &cookies).ok();
    let session_user = match cookies.get(SESSION_COOKIE) {
        Some(_) => session_backend::authenticate(&session, &cookies).await.ok(),
        None => None,
    };
    let user = session_user.or_else(|| claims.as_ref().map(Claims::user));
    let Some(user) = user else {
        return Err(AppError::Unauthorized {
            code: "not_signed_in",
            reason: "neither a live session nor a valid JWT was sent; sign in first".into(),
        });
    };

    let sessions_deleted = state
        .session_store
        .delete_user_sessions(&user.id)
        .await
        .map_err(|error| AppError::Internal(format!("failed to delete the user's sessions: {error}")))?;
    let refresh_tokens_deleted = refresh::delete_user_families(&state.session_store, &user.id).await?;
    // The user, not only the caller's token, goes on the denylist, so that tokens copied to
    // another browser or replaced by a refresh fail too.
    let token_denied = state.settings.jwt_denylist;
    if token_denied {
        deny_user(&state.session_store, &user.id, state.jwt.ttl_secs()).await?;
    }
    let token_expires_in_secs = claims.as_ref().map(seconds_left);

    let jwt_part = match (&claims, token_denied) {
        (None, false) => "no JWT was sent".to_owned(),
        (None, true) => "no JWT was sent, and every JWT of the user is on the denylist".to_owned(),
        (Some(claims), true) => format!(
            "every JWT of the user is on the denylist, so this one (jti {}) fails at once",
            short_jti(claims)
        ),
        (Some(claims), false) => format!(
            "the JWT (jti {}) still works for {} s until it expires, because nothing on the server tracks it",
            short_jti(claims),
            seconds_left(claims)
        ),
    };
    let message = format!(
        "revoked everything for {}: {} and {} deleted; {jwt_part}",
        user.name,
        count_of(sessions_deleted, "session"),
        count_of(refresh_tokens_deleted, "refresh token")
    );
    let body = RevokeAllResponse {
        sessions_deleted,
        refresh_tokens_deleted,
        token_denied,
        token_expires_in_secs,
    };
    Ok(with_log_message(Json(body).into_response(), message))
}

/// The first 8 characters of the token's `jti`, enough to tell tokens apart in the log.
pub fn short_jti(claims: &Claims) -> &str {
    claims.jti.get(..8).unwrap_or(&claims.jti)
}
