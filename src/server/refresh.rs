//! Refresh tokens: a long-lived random token, stored only as its SHA-256, that buys a new
//! short-lived JWT at `POST /api/token/refresh` and is replaced by a new one on every use.
//!
//! Tokens of one sign-in form a family. Presenting a token that was already used means that
//! two parties hold it, so the whole family is deleted and both must sign in again.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::model::{RefreshResponse, User};
use crate::server::account::issue_access_token;
use crate::server::activity::with_log_message;
use crate::server::error::AppError;
use crate::server::session_backend::SqlSessionStore;
use crate::server::state::AppState;
use crate::server::token_inspector::permission_names;

/// Name of the cookie that carries the refresh token. Its path limits it to the refresh route.
pub const REFRESH_COOKIE: &str = "sj_refresh";
pub const REFRESH_COOKIE_PATH: &str = "/api/token";

/// Random bytes in a refresh token: 256 bits, 43 characters of unpadded base64url.
const TOKEN_BYTES: usize = 32;

pub const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens \
     (token_hash, family_id, user_id, user_name, user_role, expires_at, used, permission_claims) \
     VALUES ($1, $2, $3, $4, $5, $6, 0, $7)";
/// Marks an unused token used and returns its row, so that two concurrent refreshes with
/// one token cannot both succeed.
pub const CLAIM_REFRESH_TOKEN: &str = "UPDATE refresh_tokens SET used = 1 \
     WHERE token_hash = $1 AND used = 0 \
     RETURNING family_id, user_id, user_name, user_role, expires_at, permission_claims";
/// Keeps the number of permission claims the visitor chose with the unused refresh token, so
/// that the next refreshed JWT carries them too.
pub const SET_PERMISSION_CLAIMS: &str =
    "UPDATE refresh_tokens SET permission_claims = $1 WHERE token_hash = $2 AND used = 0";
/// Deletes the family of a token that was already used: a replay.
pub const DELETE_REPLAYED_FAMILY: &str = "DELETE FROM refresh_tokens WHERE family_id = \
     (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND used = 1)";
pub const DELETE_USER_REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE user_id = $1";

/// A new refresh token, as sent to the browser once and never stored.
pub struct IssuedRefreshToken {
    raw: String,
}

impl IssuedRefreshToken {
    /// Builds the token's cookie: HttpOnly, SameSite=Strict and sent only to the refresh route.
    pub fn cookie(&self, secure: bool, max_age_secs: u64) -> Cookie<'static> {
        Cookie::build((REFRESH_COOKIE, self.raw.clone()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .path(REFRESH_COOKIE_PATH)
            .max_age(time::Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX)))
            .build()
    }
}

/// Returns the cookie that makes the browser drop its refresh token.
pub fn removal_cookie() -> Cookie<'static> {
    Cookie::build(REFRESH_COOKIE).path(REFRESH_COOKIE_PATH).build()
}

/// Returns the hex SHA-256 of a refresh token, the only form the database stores.
pub fn hash_token(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn store_error(action: &str, error: sqlx::Error) -> AppError {
    AppError::Internal(format!("failed to {action}: {error}"))
}

/// The grant of a refresh token: a JWT for `user` with `permission_claims` permission claims.
pub struct Grant {
    pub user: User,
    pub permission_claims: u32,
}

/// Inserts a new refresh token for `grant` in `family_id`, with a lifetime of `ttl_secs`.
pub async fn issue(
    store: &SqlSessionStore,
    grant: &Grant,
    family_id: &str,
    ttl_secs: u64,
) -> Result<IssuedRefreshToken, AppError> {
    let user = &grant.user;
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let raw = URL_SAFE_NO_PAD.encode(bytes);
    let expires_at = unix_now().saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX));

    let started = store.before_statement().await;
    let result = sqlx::query(INSERT_REFRESH_TOKEN)
        .bind(hash_token(&raw))
        .bind(family_id.to_owned())
        .bind(user.id.clone())
        .bind(user.name.clone())
        .bind(user.role.clone())
        .bind(expires_at)
        .bind(i64::from(grant.permission_claims))
        .execute(store.pool())
        .await;
    store.record(INSERT_REFRESH_TOKEN, started);
    result.map_err(|error| store_error("store a refresh token", error))?;
    Ok(IssuedRefreshToken { raw })
}

/// Starts a new family for `user` at sign-in and returns its first token.
pub async fn start_family(store: &SqlSessionStore, user: &User, ttl_secs: u64) -> Result<IssuedRefreshToken, AppError> {
    let grant = Grant {
        user: user.clone(),
        permission_claims: 0,
    };
    issue(store, &grant, &uuid::Uuid::new_v4().to_string(), ttl_secs).await
}

/// Stores `count` permission claims with the refresh token `raw`, if it is live, so that the
/// JWTs it refreshes keep them.
pub async fn set_permission_claims(store: &SqlSessionStore, raw: &str, count: u32) -> Result<(), AppError> {
    let started = store.before_statement().await;
    let result = sqlx::query(SET_PERMISSION_CLAIMS)
        .bind(i64::from(count))
        .bind(hash_token(raw))
        .execute(store.pool())
        .await;
    store.record(SET_PERMISSION_CLAIMS, started);
    result
        .map(|_| ())
        .map_err(|error| store_error("keep the permission claims with the refresh token", error))
}

/// Deletes every refresh token of the user with `user_id` and returns how many were removed.
pub async fn delete_user_families(store: &SqlSessionStore, user_id: &str) -> Result<u64, AppError> {
    let started = store.before_statement().await;
    let result = sqlx::query(DELETE_USER_REFRESH_TOKENS)
        .bind(user_id.to_owned())
        .execute(store.pool())
        .await;
    store.record(DELETE_USER_REFRESH_TOKENS, started);
    Ok(result.map_err(|error| store_error("delete the user's refresh tokens", error))?.rows_affected())
}

fn rejected(code: &'static str, reason: &str) -> AppError {
    AppError::Unauthorized {
        code,
        reason: reason.to_owned(),
    }
}

/// The row that [`CLAIM_REFRESH_TOKEN`] returns: family ID, user ID, name, role, expiry and
/// the number of permission claims.
type ClaimedRow = (String, String, String, String, i64, i64);

/// Consumes the refresh token `raw`: on success returns its grant and family, after one
/// statement. Otherwise runs a second statement that deletes the family when the token was
/// already used, and returns the rejection.
async fn consume(store: &SqlSessionStore, raw: &str) -> Result<(Grant, String), AppError> {
    let token_hash = hash_token(raw);
    let started = store.before_statement().await;
    let claimed: sqlx::Result<Option<ClaimedRow>> = sqlx::query_as(CLAIM_REFRESH_TOKEN)
        .bind(token_hash.clone())
        .fetch_optional(store.pool())
        .await;
    store.record(CLAIM_REFRESH_TOKEN, started);

    let claimed = claimed.map_err(|error| store_error("claim a refresh token", error))?;
    if let Some((family_id, id, name, role, expires_at, permission_claims)) = claimed {
        if expires_at <= unix_now() {
            return Err(rejected("refresh_token_expired", "the refresh token has expired; sign in again"));
        }
        let grant = Grant {
            user: User { id, name, role },
            permission_claims: u32::try_from(permission_claims).unwrap_or(0),
        };
        return Ok((grant, family_id));
    }

    let started = store.before_statement().await;
    let deleted = sqlx::query(DELETE_REPLAYED_FAMILY)
        .bind(token_hash)
        .execute(store.pool())
        .await;
    store.record(DELETE_REPLAYED_FAMILY, started);
    if deleted.map_err(|error| store_error("delete a refresh token family", error))?.rows_affected() > 0 {
        return Err(rejected(
            "refresh_token_reused",
            "this refresh token was already used, so it may be stolen: every token of its family \
             is revoked; sign in again",
        ));
    }
    Err(rejected(
        "refresh_token_invalid",
        "no live refresh token matches the cookie: it was revoked, its family was revoked, or it \
         never existed; sign in again",
    ))
}

/// `POST /api/token/refresh`: trades the refresh token cookie for a new JWT and a new refresh
/// token in the same family. Costs one or two statements, which count as DB hits.
pub async fn refresh(State(state): State<AppState>, cookies: CookieJar) -> Result<Response, AppError> {
    let Some(raw) = cookies.get(REFRESH_COOKIE).map(|cookie| cookie.value().to_owned()) else {
        return Err(rejected(
            "refresh_token_missing",
            "no refresh token cookie was sent; sign in first",
        ));
    };
    if raw.len() != 43 || URL_SAFE_NO_PAD.decode(&raw).is_err() {
        return Err(rejected(
            "refresh_token_malformed",
            "the refresh token cookie is not 43 characters of base64url; sign in again",
        ));
    }

    let (grant, family_id) = consume(&state.session_store, &raw).await?;
    let next = issue(&state.session_store, &grant, &family_id, state.settings.refresh_token_ttl_secs).await?;
    let permissions = permission_names(grant.permission_claims);
    let user = grant.user;
    let (cookies, _token, claims) = issue_access_token(&state, cookies, &user, permissions)?;
    let cookies = cookies.add(next.cookie(state.settings.secure_cookies, state.settings.refresh_token_ttl_secs));

    let message = format!(
        "refreshed the JWT for {}: refresh token rotated in family {}, new JWT jti {} expires in {} s",
        user.name,
        family_id.get(..8).unwrap_or(&family_id),
        claims.jti.get(..8).unwrap_or(&claims.jti),
        state.jwt.ttl_secs()
    );
    let body = RefreshResponse {
        user,
        access_expires_at_ms: claims.exp.saturating_mul(1000),
    };
    Ok(with_log_message((cookies, Json(body)).into_response(), message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_hex_sha256() {
        let hash = hash_token("abc");
        assert_eq!(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
