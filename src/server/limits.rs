//! Request size limits that apply before any handler runs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::server::activity::log_line;
use crate::server::error::{AppError, ErrorDetails};
use crate::server::live_stream::LiveHub;
use crate::server::visitor::VisitorId;

/// Maximum request body, in bytes. The largest legitimate body is a sign-in with a
/// 100-character name.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// Maximum total size of the request headers (names and values), in bytes.
///
/// NOTE: hyper rejects headers far beyond this (about 400 KB) with a bare 431 before this
/// middleware runs, so only sizes between the two limits get the JSON reason.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Middleware that rejects requests whose headers exceed [`MAX_HEADER_BYTES`] with a 431.
pub async fn limit_header_size(
    State(hub): State<Arc<LiveHub>>,
    Extension(visitor): Extension<VisitorId>,
    request: Request,
    next: Next,
) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size <= MAX_HEADER_BYTES {
        return next.run(request).await;
    }

    let response = AppError::client(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
        format!("the request headers have {size} bytes; the limit is {MAX_HEADER_BYTES}"),
    )
    .into_response();
    if let Some(ErrorDetails(error)) = response.extensions().get::<ErrorDetails>() {
        let message = format!("{}: {}", error.error, error.reason);
        let line = log_line(request.method().as_str(), request.uri().path(), 431, 0, message);
        hub.record_other_request(&visitor, line);
    }
    response
}
