//! The token inspector's routes. `GET /api/token` splits the visitor's JWT from its cookie into
//! header, payload and signature, with the sizes of the token and the session cookie.
//! `POST /api/token/permissions` re-issues the token with a number of permission claims, so
//! that the visitor can measure what a bigger payload costs on every request.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use serde_json::Value;

use crate::model::{
    ApiError, PermissionsRequest, PermissionsResponse, TokenInspection, MAX_PERMISSION_CLAIMS,
};
use crate::server::activity::RequestOutcome;
use crate::server::error::{ApiJson, AppError};
use crate::server::jwt_backend::{inspect, token_cookie, unix_now, Claims, MAX_COOKIE_BYTES, TOKEN_COOKIE};
use crate::server::refresh::{self, REFRESH_COOKIE};
use crate::server::session_backend::SESSION_COOKIE;
use crate::server::revocation;
use crate::server::state::AppState;

/// How many characters of the signature the inspector shows.
const SIGNATURE_START_CHARS: usize = 10;

/// `GET /api/token`.
pub async fn inspect_token(State(state): State<AppState>, cookies: CookieJar) -> Result<Json<TokenInspection>, AppError> {
    let Some(cookie) = cookies.get(TOKEN_COOKIE) else {
        return Err(AppError::client(
            StatusCode::NOT_FOUND,
            "token_missing",
            "this browser has no JWT cookie; sign in to get one",
        ));
    };
    let token = cookie.value();
    // A token that is not even well formed cannot be taken apart, so the error returns the reason.
    let parts = inspect::inspect(token, state.jwt.header_policy())?;
    let [header_segment, payload_segment, signature_segment] = three_segments(token);
    // The same checks as a JWT page request from this browser: signature and claims, the
    // fingerprint cookie when tokens are bound, and the denylist when it is on.
    let verdict = revocation::authenticate_jwt(&state, &HeaderMap::new(), &cookies).await;
    let rejection = verdict.err().map(|error| match error {
        AppError::Unauthorized { code, reason } | AppError::Client { code, reason, .. } => ApiError {
            error: code.to_owned(),
            reason,
        },
        AppError::Internal(_) => ApiError {
            error: "internal".to_owned(),
            reason: "the server failed to verify the token".to_owned(),
        },
    });

    let header = Value::Object(parts.header);
    let payload = Value::Object(parts.payload);
    let claim = |name: &str| payload.get(name).and_then(Value::as_u64);
    Ok(Json(TokenInspection {
        header: pretty(&header),
        payload: pretty(&payload),
        signature_start: signature_segment.chars().take(SIGNATURE_START_CHARS).collect(),
        header_bytes: header_segment.len(),
        payload_bytes: payload_segment.len(),
        signature_bytes: signature_segment.len(),
        token_bytes: token.len(),
        session_cookie_bytes: cookies
            .get(SESSION_COOKIE)
            .map(|session| session.name().len() + 1 + session.value().len()),
        issued_at: claim("iat"),
        expires_at: claim("exp"),
        server_now: unix_now(),
        valid: rejection.is_none(),
        rejection,
    }))
}

/// Resources and actions that generated permission names combine, as in `orders:read`.
const RESOURCES: [&str; 8] = ["orders", "invoices", "customers", "reports", "settings", "billing", "profile", "audit"];
const ACTIONS: [&str; 4] = ["read", "write", "delete", "export"];

/// `POST /api/token/permissions`: re-issues the caller's valid JWT with `count` permission
/// claims and sets it as the token cookie.
pub async fn set_permissions(
    State(state): State<AppState>,
    headers: HeaderMap,
    cookies: CookieJar,
    ApiJson(request): ApiJson<PermissionsRequest>,
) -> Result<Response, AppError> {
    if request.count > MAX_PERMISSION_CLAIMS {
        return Err(AppError::client(
            StatusCode::BAD_REQUEST,
            "permissions_out_of_range",
            format!("count is {}; choose 0 to {MAX_PERMISSION_CLAIMS} permission claims", request.count),
        ));
    }
    // The same checks as the JWT page route, so that a revoked token cannot be re-issued.
    let claims = revocation::authenticate_jwt(&state, &headers, &cookies).await?;
    let previous_token_bytes = cookies.get(TOKEN_COOKIE).map_or(0, |cookie| cookie.value().len());
    let token = state.jwt.reissue_with_permissions(&claims, permission_names(request.count))?;
    let token_bytes = token.len();
    if !fits_in_cookie(&token) {
        let fitting = largest_fitting_count(&state, &claims, request.count)?;
        return Err(AppError::client(
            StatusCode::BAD_REQUEST,
            "token_too_large_for_cookie",
            format!(
                "with {} permission claims the JWT is {token_bytes} bytes, and browsers drop a cookie \
                 whose name and value pass {MAX_COOKIE_BYTES} bytes, so it would never reach the \
                 server; at most {fitting} claims fit",
                request.count
            ),
        ));
    }
    // The refresh token keeps the choice, so that the next refreshed JWT carries the claims too.
    if let Some(refresh_token) = cookies.get(REFRESH_COOKIE) {
        refresh::set_permission_claims(&state.session_store, refresh_token.value(), request.count).await?;
    }

    let message = format!(
        "re-issued the JWT with {} permission claims: {previous_token_bytes} → {token_bytes} bytes on every request",
        request.count
    );
    let cookie = token_cookie(token, state.settings.secure_cookies, revocation::seconds_left(&claims));
    let body = PermissionsResponse {
        count: request.count,
        previous_token_bytes,
        token_bytes,
    };
    let mut response = (cookies.add(cookie), Json(body)).into_response();
    response.extensions_mut().insert(RequestOutcome {
        auth_us: None,
        credential_bytes: None,
        message,
    });
    Ok(response)
}

/// Names `count` permissions: each resource with each action, then the same with a number.
pub(crate) fn permission_names(count: u32) -> Vec<String> {
    let pairs = RESOURCES.len() * ACTIONS.len();
    (0..count as usize)
        .map(|index| {
            let resource = RESOURCES[index % RESOURCES.len()];
            let action = ACTIONS[index / RESOURCES.len() % ACTIONS.len()];
            match index / pairs {
                0 => format!("{resource}:{action}"),
                round => format!("{resource}:{action}:{round}"),
            }
        })
        .collect()
}

/// Returns whether a browser keeps the token cookie with `token`. Browsers drop a cookie whose
/// name and value together pass [`MAX_COOKIE_BYTES`]. The `=` between them is counted too, to
/// leave one byte for browsers that measure the whole pair.
fn fits_in_cookie(token: &str) -> bool {
    TOKEN_COOKIE.len() + 1 + token.len() <= MAX_COOKIE_BYTES
}

/// Finds the largest number of permission claims below `too_many` whose token still fits in
/// the cookie. The size grows with the count, so a binary search signs a handful of tokens.
fn largest_fitting_count(state: &AppState, claims: &Claims, too_many: u32) -> Result<u32, AppError> {
    let (mut fits, mut too_big) = (0, too_many);
    while too_big - fits > 1 {
        let middle = fits + (too_big - fits) / 2;
        let token = state.jwt.reissue_with_permissions(claims, permission_names(middle))?;
        if fits_in_cookie(&token) {
            fits = middle;
        } else {
            too_big = middle;
        }
    }
    Ok(fits)
}

/// Splits a token that [`inspect::inspect`] accepted, which has exactly three segments.
fn three_segments(token: &str) -> [&str; 3] {
    let mut segments = token.splitn(3, '.');
    let mut next = || segments.next().unwrap_or_default();
    [next(), next(), next()]
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_are_unique() {
        let names = permission_names(MAX_PERMISSION_CLAIMS);
        let unique: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(names.len(), MAX_PERMISSION_CLAIMS as usize);
        assert_eq!(unique.len(), names.len());
        assert_eq!(names[0], "orders:read");
        assert_eq!(names[8], "orders:write");
        assert_eq!(names[32], "orders:read:1");
    }
}
