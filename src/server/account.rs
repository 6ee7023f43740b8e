//! Sign-in, logout, the visitor's counters and the health check.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use axum_extra::extract::cookie::Cookie;
use axum_extra::extract::CookieJar;
use tower_sessions::Session;

use crate::components::numbers::count_of;
use crate::model::{LoginRequest, LoginResponse, LogoutResponse, ServerInfo, Stats, User, WhoAmI, MAX_NAME_CHARS};
use crate::server::activity::{with_log_message, RequestOutcome};
use crate::server::error::{ApiJson, AppError};
use crate::server::jwt_backend::{token_cookie, Claims, Fingerprint, TOKEN_COOKIE};
use crate::server::live_stream::LiveHub;
use crate::server::state::AppState;
use crate::server::visitor::VisitorId;
use crate::server::{refresh, revocation, session_backend};

/// Role given to every demo user.
const DEMO_ROLE: &str = "member";

/// `POST /api/login`: creates a server-side session and a signed JWT for the visitor.
pub async fn login(
    State(state): State<AppState>,
    session: Session,
    cookies: CookieJar,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let name = validate_name(&request.name)?;
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        role: DEMO_ROLE.to_owned(),
    };

    session_backend::sign_in(&session, &user).await?;
    let (cookies, _, claims) = issue_access_token(&state, cookies, &user, Vec::new())?;
    let ttl = state.settings.refresh_token_ttl_secs;
    let refresh_token = refresh::start_family(&state.session_store, &user, ttl).await?;
    let cookies = cookies.add(refresh_token.cookie(state.settings.secure_cookies, ttl));

    let message = format!(
        "signed in as {}: session created, JWT issued (jti {}, expires in {} s), refresh token stored as a hash",
        user.name,
        &claims.jti[..8],
        state.jwt.ttl_secs()
    );
    let access_expires_at_ms = claims.exp.saturating_mul(1000);
    // The token travels only in its HttpOnly cookie, so the page's scripts never see it.
    let body = LoginResponse {
        user,
        access_expires_at_ms,
    };
    Ok(with_log_message((cookies, Json(body)).into_response(), message))
}

/// Signs a JWT for `user` and adds it to `cookies`, with a fresh fingerprint cookie when
/// tokens are bound to one. Returns the cookies, the token and its claims.
pub(crate) fn issue_access_token(
    state: &AppState,
    cookies: CookieJar,
    user: &User,
    permissions: Vec<String>,
) -> Result<(CookieJar, String, Claims), AppError> {
    let fingerprint = state.jwt.fingerprint_cookie().map(|_| Fingerprint::generate());
    let (token, claims) = state.jwt.issue_with(user, fingerprint.as_ref(), permissions)?;

    let cookie = token_cookie(token.clone(), state.settings.secure_cookies, state.jwt.ttl_secs());
    let mut cookies = cookies.add(cookie);
    if let Some(fingerprint) = &fingerprint {
        cookies = cookies.add(fingerprint.cookie(state.settings.secure_cookies, state.jwt.ttl_secs()));
    }
    Ok((cookies, token, claims))
}

/// `POST /api/logout`: deletes the session and clears the session, token and fingerprint
/// cookies. The JWT itself stays valid until it expires, because nothing on the server
/// tracks it, unless `--jwt-denylist` is on: then its `jti` goes on the denylist. The user's
/// refresh tokens are deleted.
pub async fn logout(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    session: Session,
    headers: HeaderMap,
    cookies: CookieJar,
) -> Result<Response, AppError> {
    let had_session = session.id().is_some();
    let claims = state.jwt.authenticate(&headers, &cookies).ok();
    // The refresh cookie reaches only /api/token, so the user's families are found by the
    // user ID: from the JWT in memory, or else from the session, which costs a SELECT.
    let user_id = match &claims {
        Some(claims) => Some(claims.sub.clone()),
        None if had_session => session_backend::signed_in_user(&session).await?.map(|user| user.id),
        None => None,
    };
    session_backend::sign_out(&session).await?;
    state.room.leave(&visitor);
    let refresh_tokens_deleted = match &user_id {
        Some(user_id) => refresh::delete_user_families(&state.session_store, user_id).await?,
        None => 0,
    };
    let denied = match claims {
        Some(claims) if state.settings.jwt_denylist => {
            revocation::deny(&state.session_store, &claims).await?;
            Some(claims)
        }
        _ => None,
    };

    let mut cookies = cookies
        .remove(Cookie::build(TOKEN_COOKIE).path("/").build())
        .remove(refresh::removal_cookie());
    if let Some(name) = state.jwt.fingerprint_cookie() {
        let removal = Cookie::build(name)
            .path("/")
            .secure(state.settings.secure_cookies)
            .build();
        cookies = cookies.remove(removal);
    }
    let session_part = if had_session {
        "session deleted"
    } else {
        "there was no session to delete"
    };
    let jwt_part = match &denied {
        Some(claims) => format!("JWT jti {} added to the denylist", revocation::short_jti(claims)),
        None => "a copied JWT still works until it expires".to_owned(),
    };
    let message = format!(
        "logged out: {session_part}; {} deleted; {jwt_part}",
        count_of(refresh_tokens_deleted, "refresh token")
    );
    Ok(with_log_message((cookies, Json(LogoutResponse { signed_out: true })).into_response(), message))
}

/// `GET /api/whoami`: the user named by a valid JWT cookie and the token's expiry, verified
/// in memory so that the page can show who is signed in without a DB hit. With
/// `--jwt-denylist` on, a revoked token names no user, which costs one denylist lookup.
pub async fn whoami(State(state): State<AppState>, cookies: CookieJar) -> Json<WhoAmI> {
    // An empty header map, so that only the cookie counts, as documented.
    let claims = revocation::authenticate_jwt(&state, &HeaderMap::new(), &cookies).await.ok();
    Json(WhoAmI {
        user: claims.as_ref().map(Claims::user),
        access_expires_at_ms: claims.map(|claims| claims.exp.saturating_mul(1000)),
    })
}

/// `GET /api/info`: the session database and timing settings, for the dashboard's labels.
pub async fn info(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        database: state.database_kind().to_owned(),
        simulated_db_latency_ms: state.settings.simulated_db_latency_ms,
        jwt_ttl_secs: state.settings.jwt_ttl_secs,
        session_ttl_secs: state.settings.session_ttl_secs,
    })
}

/// `GET /api/stats`: the visitor's counters and the server's totals.
pub async fn stats(
    State(hub): State<Arc<LiveHub>>,
    Extension(visitor): Extension<VisitorId>,
) -> Json<Stats> {
    Json(hub.stats(&visitor))
}

/// `POST /api/reset`: zeroes the visitor's counters.
pub async fn reset(
    State(hub): State<Arc<LiveHub>>,
    Extension(visitor): Extension<VisitorId>,
) -> Response {
    hub.reset(&visitor);
    let mut response = Json(hub.stats(&visitor)).into_response();
    response.extensions_mut().insert(RequestOutcome {
        auth_us: None,
        credential_bytes: None,
        message: "counters reset to zero".to_owned(),
    });
    response
}

/// `GET /healthz`.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// JSON 404 for unknown API paths.
pub async fn unknown_route() -> AppError {
    AppError::client(StatusCode::NOT_FOUND, "route_not_found", "no API route has this path")
}

/// JSON 405 for a known API path with the wrong method.
pub async fn wrong_method() -> AppError {
    AppError::client(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this API route does not accept that method",
    )
}

/// Returns whether `c` is a zero-width or bidirectional formatting character, which renders as
/// nothing or reorders the text around it.
fn is_invisible_format_char(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

pub(crate) fn validate_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    let invalid = |code, reason: String| AppError::client(StatusCode::BAD_REQUEST, code, reason);
    if name.is_empty() {
        return Err(invalid("name_empty", "the name is empty; enter a display name".into()));
    }
    let length = name.chars().count();
    if length > MAX_NAME_CHARS {
        return Err(invalid(
            "name_too_long",
            format!("the name has {length} characters; the maximum is {MAX_NAME_CHARS}"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name_invalid", "the name contains control characters".into()));
    }
    if name.chars().any(is_invisible_format_char) {
        return Err(invalid(
            "name_invalid",
            "the name contains invisible or direction-changing characters, which could make it look like another name"
                .into(),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_rejected() {
        for name in ["Ada\u{202E}evil", "A\u{200B}da", "\u{2066}Ada", "Ada\u{FEFF}"] {
            let error = validate_name(name).unwrap_err();
            assert_eq!(error.to_string(), "the name contains invisible or direction-changing characters, which could make it look like another name");
        }
        assert_eq!(validate_name("Zoë Ñandú 李").unwrap(), "Zoë Ñandú 李");
    }

    #[test]
    fn names_are_trimmed() {
        assert_eq!(validate_name("  John Doe ").unwrap(), "John Doe");
    }

    #[test]
    fn name_limits_count_characters() {
        assert!(validate_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        let error = validate_name(&"é".repeat(MAX_NAME_CHARS + 1)).unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn blank_and_control_names_are_rejected() {
        for name in ["", "   ", "a\u{0}b", "line\nbreak"] {
            assert!(validate_name(name).is_err(), "{name:?}");
        }
    }
}
