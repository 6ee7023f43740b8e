//! The presenter key, which the server prints at start. A browser that enters it on `/present`
//! gets it back as an HttpOnly cookie, and every presenter action requires that cookie.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::server::error::AppError;

/// Name of the cookie that carries the presenter key.
pub const PRESENTER_COOKIE: &str = "sj_presenter";

/// The cookie's path: only the room's API needs it.
const PRESENTER_COOKIE_PATH: &str = "/api/room";

/// How long a browser keeps the presenter key: a long workshop day.
const PRESENTER_COOKIE_MAX_AGE_SECS: i64 = 12 * 60 * 60;

/// Random bytes in a generated key: 128 bits, 22 characters of base64url.
const GENERATED_KEY_BYTES: usize = 16;

/// The shortest key that `--presenter-key` accepts.
pub const MIN_KEY_CHARS: usize = 16;

/// The presenter key. Its `Debug` output never shows the value.
#[derive(Clone)]
pub struct PresenterKey {
    value: String,
    hash: [u8; 32],
}

impl std::fmt::Debug for PresenterKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PresenterKey(..)")
    }
}

impl PresenterKey {
    /// Draws a key from the operating system's random generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; GENERATED_KEY_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self::new(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts a key that the host chose, if it is long enough to resist guessing.
    pub fn from_setting(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let length = value.chars().count();
        if length < MIN_KEY_CHARS {
            return Err(format!(
                "the presenter key has {length} characters; use at least {MIN_KEY_CHARS}, or leave it unset to generate one"
            ));
        }
        Ok(Self::new(value.to_owned()))
    }

    fn new(value: String) -> Self {
        let hash = Sha256::digest(value.as_bytes()).into();
        Self { value, hash }
    }

    /// Returns the key itself, for the line the server prints at start.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Returns whether `candidate` is the key. Both sides are compared as SHA-256 hashes, so
    /// the time the comparison takes reveals nothing about the key.
    pub fn matches(&self, candidate: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        candidate == self.hash
    }

    /// Builds the HttpOnly, SameSite=Strict cookie that carries the key to the room's API.
    pub fn cookie(&self, secure: bool) -> Cookie<'static> {
        Cookie::build((PRESENTER_COOKIE, self.value.clone()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .path(PRESENTER_COOKIE_PATH)
            .max_age(time::Duration::seconds(PRESENTER_COOKIE_MAX_AGE_SECS))
            .build()
    }

    /// Returns whether the request's cookies hold the key.
    pub fn is_presenter(&self, cookies: &CookieJar) -> bool {
        cookies.get(PRESENTER_COOKIE).is_some_and(|cookie| self.matches(cookie.value()))
    }

    /// Rejects a request whose cookies do not hold the key: 401 without a presenter cookie,
    /// 403 with a wrong one.
    pub fn require(&self, cookies: &CookieJar) -> Result<(), AppError> {
        match cookies.get(PRESENTER_COOKIE) {
            None => Err(AppError::Unauthorized {
                code: "presenter_key_missing",
                reason: "only the presenter can do this; open /present and enter the presenter key that the server printed at start".into(),
            }),
            Some(cookie) if !self.matches(cookie.value()) => Err(invalid_key()),
            Some(_) => Ok(()),
        }
    }
}

/// Middleware of the presenter's action routes: rejects a request without the presenter key
/// before its body is read, so that a stranger learns nothing about what a body should hold.
pub async fn require_presenter(
    State(key): State<Arc<PresenterKey>>,
    cookies: CookieJar,
    request: Request,
    next: Next,
) -> Response {
    match key.require(&cookies) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// Builds the 403 for a wrong presenter key.
pub fn invalid_key() -> AppError {
    AppError::client(
        StatusCode::FORBIDDEN,
        "presenter_key_invalid",
        "the presenter key is wrong; use the key that the server printed at start",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_differ_and_have_22_chars() {
        let first = PresenterKey::generate();
        let second = PresenterKey::generate();
        assert_eq!(first.expose().len(), 22);
        assert_ne!(first.expose(), second.expose());
    }

    #[test]
    fn key_matches_only_itself() {
        let key = PresenterKey::from_setting("a-long-enough-key-1").unwrap();
        assert!(key.matches("a-long-enough-key-1"));
        assert!(!key.matches("a-long-enough-key-2"));
        assert!(!key.matches(""));
    }

    #[test]
    fn short_setting_is_rejected() {
        let error = PresenterKey::from_setting("short").unwrap_err();
        assert_eq!(error, "the presenter key has 5 characters; use at least 16, or leave it unset to generate one");
    }

    #[test]
    fn debug_hides_key() {
        let key = PresenterKey::generate();
        assert_eq!(format!("{key:?}"), "PresenterKey(..)");
    }

    #[test]
    fn cookie_is_http_only_and_strict() {
        let cookie = PresenterKey::generate().cookie(false).to_string();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Path=/api/room"), "{cookie}");
    }
}
