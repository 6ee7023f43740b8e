//! `GET /api/token`: the visitor's JWT from its cookie, split into header, payload and
//! signature for the token inspector, with the sizes of the token and the session cookie.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use axum_extra::extract::CookieJar;
use serde_json::Value;

use crate::model::{ApiError, TokenInspection};
use crate::server::error::AppError;
use crate::server::jwt_backend::{inspect, unix_now, TOKEN_COOKIE};
use crate::server::session_backend::SESSION_COOKIE;
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
    // A token that is not even well formed cannot be taken apart; the error says why.
    let parts = inspect::inspect(token)?;
    let [header_segment, payload_segment, signature_segment] = three_segments(token);
    let rejection = state.jwt.verify(token).err().map(|error| match error {
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

/// Splits a token that [`inspect::inspect`] accepted, which has exactly three segments.
fn three_segments(token: &str) -> [&str; 3] {
    let mut segments = token.splitn(3, '.');
    let mut next = || segments.next().unwrap_or_default();
    [next(), next(), next()]
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
