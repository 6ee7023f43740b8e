//! `GET /.well-known/jwks.json`: the public key that verifies this server's tokens, as a JWK
//! set (RFC 7517), for the services and any other verifier.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use crate::server::state::AppState;

/// Path of the JWK set.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// `GET /.well-known/jwks.json`: the EdDSA or RS256 public key, or an empty key set under
/// HS256, whose shared secret must never be published.
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    // The key changes only when the key file is deleted and the server restarts.
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(state.jwt.jwks()))
}
