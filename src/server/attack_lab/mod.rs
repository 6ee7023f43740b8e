//! The attack lab: `GET /api/attacks` lists forged and altered tokens, and
//! `POST /api/attacks/{id}` crafts one from the caller's valid JWT and sends it over loopback
//! to the JWT page route, through the same middleware as a browser's request. The route's
//! status and error come back as JSON and, like any request of the visitor, appear in the
//! live log.

mod catalogue;

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use axum_extra::extract::CookieJar;

pub use catalogue::{Attack, ATTACKS, JKU_URL};

use crate::model::{ApiError, AttackResult, AttackSummary};
use crate::server::activity::RequestOutcome;
use crate::server::error::{shorten, ApiPath, AppError};
use crate::server::jwt_backend::token_from_request;
use crate::server::loopback::{self, local_target, loopback_addr, LoopbackSecret};
use crate::server::revocation;
use crate::server::state::AppState;
use crate::server::visitor::{VisitorId, VISITOR_COOKIE};

/// The route every crafted token is sent to.
pub const TARGET_PATH: &str = "/api/jwt/pages/dashboard";

/// The text that replaces the signature of a crafted token that the JWT route accepted.
pub const SIGNATURE_WITHHELD: &str = "[signature withheld]";

/// Timeout of the loopback request to this server.
const LOOPBACK_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /api/attacks`: the attacks the lab can run against the configured algorithm.
pub async fn list(State(state): State<AppState>) -> Json<Vec<AttackSummary>> {
    let attacks = catalogue::available(&state.jwt)
        .map(|attack| AttackSummary {
            id: attack.id.to_owned(),
            title: attack.title.to_owned(),
            explanation: attack.explanation.to_owned(),
        })
        .collect();
    Json(attacks)
}

/// `POST /api/attacks/{id}`: crafts the attack's token from the caller's valid JWT, sends it
/// to [`TARGET_PATH`] and returns the route's status and reason.
pub async fn run(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    cookies: CookieJar,
) -> Result<Response, AppError> {
    let Some(attack) = catalogue::find(&id, &state.jwt) else {
        let known: Vec<&str> = catalogue::available(&state.jwt).map(|attack| attack.id).collect();
        return Err(AppError::client(
            StatusCode::NOT_FOUND,
            "unknown_attack",
            format!("no attack is named {:?}; the attacks are {}", shorten(&id), known.join(", ")),
        ));
    };
    let target = local_target(&state.local_addr)?;

    // The attacks start from the caller's own valid token, so the lab needs one.
    let claims = revocation::authenticate_jwt(&state, &headers, &cookies).await?;
    let original = token_from_request(&headers, &cookies)?;
    let claims = match serde_json::to_value(&claims) {
        Ok(serde_json::Value::Object(claims)) => claims,
        _ => return Err(AppError::Internal("the verified claims are not a JSON object".into())),
    };
    let token = attack.craft(&state.jwt, original, &claims)?;

    let url = format!("http://{}{TARGET_PATH}", loopback_addr(target));
    // A crafted token that keeps the real signature, with the inspector's header and payload,
    // would let the page's scripts rebuild the real token, so its signature is withheld too.
    let reuses_signature = signature_of(&token) == signature_of(original);
    let result = send_over_loopback(&url, &visitor, attack, token, reuses_signature, &state.loopback_secret).await?;
    tracing::info!(
        attack = attack.id,
        visitor = visitor.short(),
        status = result.status,
        error = result.error.as_deref().unwrap_or(""),
        "attack lab request sent"
    );

    let message = match &result.error {
        Some(error) => format!("attack {}: the JWT route rejected the token with {} {error}", attack.id, result.status),
        None => format!("attack {}: the JWT route accepted the token ({})", attack.id, result.status),
    };
    let mut response = Json(result).into_response();
    response.extensions_mut().insert(RequestOutcome {
        auth_us: None,
        credential_bytes: None,
        message,
    });
    Ok(response)
}

/// Sends `token` as a Bearer token to `url`, with the visitor cookie as the only cookie: the
/// request lands in the visitor's live log but carries none of their credentials, as a
/// request from an attacker's machine would.
async fn send_over_loopback(
    url: &str,
    visitor: &VisitorId,
    attack: &Attack,
    token: String,
    reuses_signature: bool,
    secret: &LoopbackSecret,
) -> Result<AttackResult, AppError> {
    let client = loopback::client(secret, LOOPBACK_TIMEOUT)?;
    let response = client
        .get(url)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::COOKIE, format!("{VISITOR_COOKIE}={}", visitor.as_str()))
        .send()
        .await
        .map_err(|error| AppError::Internal(format!("the loopback request of attack {} failed: {error}", attack.id)))?;
    let status = response.status();
    // A served page has no `error` field, so only an error body parses as `ApiError`.
    let error = response.json::<ApiError>().await.ok();

    let token_bytes = token.len();
    // A token that the route accepted is a working credential, and this response is readable
    // by the page's scripts, so only its header and payload come back.
    let token = if status.is_success() || reuses_signature { withhold_signature(&token) } else { token };
    Ok(AttackResult {
        attack: attack.id.to_owned(),
        token_bytes,
        token,
        request: format!("GET {TARGET_PATH}"),
        status: status.as_u16(),
        accepted: status.is_success(),
        error: error.as_ref().map(|error| error.error.clone()),
        reason: error.map(|error| error.reason),
    })
}

/// Returns the last dot-separated segment of `token`, its signature when it has three.
fn signature_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap_or_default()
}

/// Replaces the signature of `token` with [`SIGNATURE_WITHHELD`].
fn withhold_signature(token: &str) -> String {
    match token.rsplit_once('.') {
        Some((signed_part, _)) => format!("{signed_part}.{SIGNATURE_WITHHELD}"),
        None => SIGNATURE_WITHHELD.to_owned(),
    }
}
