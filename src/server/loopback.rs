//! Requests from the server to its own routes over loopback, as the traffic simulator and the
//! attack lab send them, so that they pass through the whole middleware stack.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use rand::rngs::OsRng;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::server::error::AppError;

/// Returns the address the server listens on, or a 503 `not_ready` before it is bound.
pub fn local_target(local_addr: &OnceLock<SocketAddr>) -> Result<SocketAddr, AppError> {
    local_addr.get().copied().ok_or_else(|| {
        AppError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the server has not finished starting; try again in a moment",
        )
    })
}

/// The address to reach this server on loopback: a wildcard bind address is replaced by the
/// loopback address of the same family, so simulated traffic never leaves the machine.
pub fn loopback_addr(target: SocketAddr) -> SocketAddr {
    let mut target = target;
    match target {
        SocketAddr::V4(ref mut v4) if v4.ip().is_unspecified() => v4.set_ip(std::net::Ipv4Addr::LOCALHOST),
        SocketAddr::V6(ref mut v6) if v6.ip().is_unspecified() => v6.set_ip(std::net::Ipv6Addr::LOCALHOST),
        _ => {}
    }
    target
}

/// Request header that marks the server's own loopback traffic (virtual users, the services
/// fan-out, the attack lab), which the rate limits exempt.
pub const LOOPBACK_SECRET_HEADER: &str = "x-session-journey-loopback";

/// A random secret, generated per process from the operating system's random generator, that
/// the server's own loopback requests carry in [`LOOPBACK_SECRET_HEADER`]. It never leaves
/// the process except in those requests, and its `Debug` output hides it.
pub struct LoopbackSecret(String);

impl LoopbackSecret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// Returns whether `value` is this secret, comparing in constant time.
    pub fn matches(&self, value: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(value).into()
    }

    fn header_value(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&self.0).expect("hex digits are a valid header value");
        value.set_sensitive(true);
        value
    }
}

impl std::fmt::Debug for LoopbackSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("LoopbackSecret([hidden])")
    }
}

/// Returns a client builder for requests to this server: no proxy, and the loopback secret on
/// every request.
pub fn client_builder(secret: &LoopbackSecret) -> reqwest::ClientBuilder {
    let mut headers = HeaderMap::new();
    headers.insert(LOOPBACK_SECRET_HEADER, secret.header_value());
    reqwest::Client::builder().no_proxy().default_headers(headers)
}

/// Builds a client for requests to this server over loopback: no proxy, no redirects, a
/// timeout of `timeout`, and the loopback secret.
pub fn client(secret: &LoopbackSecret, timeout: std::time::Duration) -> Result<reqwest::Client, AppError> {
    client_builder(secret)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|error| AppError::Internal(format!("failed to build the loopback client: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_matches_only_itself() {
        let secret = LoopbackSecret::generate();
        assert!(secret.matches(secret.0.as_bytes()));
        assert!(!secret.matches(LoopbackSecret::generate().0.as_bytes()));
        assert!(!secret.matches(&secret.0.as_bytes()[..63]));
        assert!(!secret.matches(b""));
    }

    #[test]
    fn secret_debug_hides_value() {
        let secret = LoopbackSecret::generate();
        assert!(!format!("{secret:?}").contains(&secret.0));
    }
}
