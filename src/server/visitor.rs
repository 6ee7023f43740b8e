//! The visitor: one browser, named by a random ID in its own cookie, separate from both
//! credentials so that the live log and counters work in both modes and after logout.

use axum::extract::{Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use rand::rngs::OsRng;
use rand::RngCore;

/// Name of the visitor cookie.
pub const VISITOR_COOKIE: &str = "sj_visitor";

/// How long a browser keeps its visitor ID, in seconds.
const VISITOR_COOKIE_MAX_AGE_SECS: i64 = 30 * 24 * 60 * 60;

/// A visitor ID: 128 random bits as 32 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VisitorId(String);

impl VisitorId {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// Accepts only IDs of the form this server issues.
    pub fn parse(value: &str) -> Option<Self> {
        let well_formed = value.len() == 32
            && value.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first eight digits, enough to tell visitors apart in the server's own log.
    pub fn short(&self) -> &str {
        &self.0[..8]
    }
}

/// Request extension present when the request had no valid visitor cookie, so that its
/// [`VisitorId`] was issued for this request alone.
#[derive(Clone, Copy, Debug)]
pub struct IssuedVisitor;

/// Middleware that puts the request's [`VisitorId`] into its extensions, issuing a new ID
/// (and cookie) when the request has none or a malformed one. The state says whether cookies
/// are marked Secure.
pub async fn ensure_visitor(
    State(secure_cookies): State<bool>,
    cookies: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let existing = cookies
        .get(VISITOR_COOKIE)
        .and_then(|cookie| VisitorId::parse(cookie.value()));
    let (visitor, is_new) = match existing {
        Some(visitor) => (visitor, false),
        None => (VisitorId::generate(), true),
    };

    request.extensions_mut().insert(visitor.clone());
    if is_new {
        request.extensions_mut().insert(IssuedVisitor);
    }
    let mut response = next.run(request).await;

    if is_new {
        let cookie = Cookie::build((VISITOR_COOKIE, visitor.as_str().to_owned()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure_cookies)
            .path("/")
            .max_age(time::Duration::seconds(VISITOR_COOKIE_MAX_AGE_SECS))
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_parses() {
        let visitor = VisitorId::generate();
        assert_eq!(VisitorId::parse(visitor.as_str()), Some(visitor));
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for value in ["", "abc", "ABCDEF0123456789ABCDEF0123456789", "zz".repeat(16).as_str()] {
            assert_eq!(VisitorId::parse(value), None, "{value:?}");
        }
    }
}
