//! Requests from the server to its own routes over loopback, as the traffic simulator and the
//! attack lab send them, so that they pass through the whole middleware stack.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::http::StatusCode;

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
