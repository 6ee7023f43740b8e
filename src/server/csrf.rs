//! Cross-site request forgery defence: a state-changing request that a browser sends from
//! another site carries that site's `Origin`, and is rejected. Requests without an `Origin`
//! header (curl, the traffic simulator, the attack lab's loopback requests) pass, because
//! browsers send `Origin` on every cross-origin POST, PUT, PATCH and DELETE.
//!
//! Hand-written, because tower-http has no origin check for requests (its CORS layer only
//! sets response headers and lets the request run), and the check is a comparison of two
//! header values.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::server::error::{shorten, AppError};

/// Middleware that rejects a state-changing request whose `Origin` is not this server's
/// origin with a 403 and the code `cross_origin_request`.
pub async fn reject_cross_origin(request: Request, next: Next) -> Response {
    if is_state_changing(request.method()) {
        if let Err(error) = check_origin(request.headers(), request.uri().authority().map(|authority| authority.as_str())) {
            tracing::warn!(method = %request.method(), path = request.uri().path(), "cross-origin request rejected");
            return error.into_response();
        }
    }
    next.run(request).await
}

fn is_state_changing(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// Accepts a request with no `Origin`, or one whose `Origin` is `http://` or `https://`
/// followed by the request's own host (the `Host` header, or the URI's authority in HTTP/2).
/// Both schemes are accepted because a TLS-terminating proxy forwards HTTPS as plain HTTP.
///
/// NOTE: a reverse proxy that rewrites `Host` (rather than passing the browser's on) makes
/// every same-origin browser POST look cross-origin; configure it to keep the `Host` header.
fn check_origin(headers: &HeaderMap, uri_authority: Option<&str>) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or(uri_authority);
    let same_origin = host.is_some_and(|host| {
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host))
    });
    if same_origin {
        return Ok(());
    }
    Err(AppError::client(
        StatusCode::FORBIDDEN,
        "cross_origin_request",
        format!(
            "the request comes from the origin {:?}, not from this server ({}); state-changing \
             requests from other sites are rejected",
            shorten(origin),
            shorten(host.unwrap_or("no Host header"))
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
        }
        headers
    }

    #[test]
    fn same_origin_and_missing_origin_pass() {
        assert!(check_origin(&headers(None, "127.0.0.1:3000"), None).is_ok());
        assert!(check_origin(&headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000"), None).is_ok());
        assert!(check_origin(&headers(Some("https://Example.org"), "example.org"), None).is_ok());
    }

    #[test]
    fn other_origins_are_rejected() {
        let host = "127.0.0.1:3000";
        for origin in ["http://evil.example", "http://127.0.0.1:3001", "null", "ftp://127.0.0.1:3000", "http://127.0.0.1:3000.evil.example"] {
            let error = check_origin(&headers(Some(origin), host), None).unwrap_err();
            assert_eq!(error.status(), StatusCode::FORBIDDEN, "{origin}");
        }
    }
}
