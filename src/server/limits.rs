//! Request size limits that apply before any handler runs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::Extension;

use crate::server::activity::reject_and_log;
use crate::server::error::AppError;
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

/// Maximum number of request headers. A request with more gets a JSON 431 from
/// [`limit_header_size`].
pub const MAX_HEADER_COUNT: usize = 100;

/// The number of headers hyper parses before it rejects a request itself, set in
/// `startup::serve`.
///
/// NOTE: past this count hyper returns a bare 431 with no body, before any middleware runs.
pub const HYPER_MAX_HEADERS: usize = 512;

/// Middleware that rejects requests with more than [`MAX_HEADER_COUNT`] headers or whose
/// headers exceed [`MAX_HEADER_BYTES`] with a 431.
pub async fn limit_header_size(
    State(hub): State<Arc<LiveHub>>,
    Extension(visitor): Extension<VisitorId>,
    request: Request,
    next: Next,
) -> Response {
    let count = request.headers().len();
    if count > MAX_HEADER_COUNT {
        let error = AppError::client(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "too_many_headers",
            format!("the request has {count} headers; the limit is {MAX_HEADER_COUNT}"),
        );
        return reject_and_log(&hub, &visitor, request.method().as_str(), request.uri().path(), error);
    }
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size <= MAX_HEADER_BYTES {
        return next.run(request).await;
    }

    let error = AppError::client(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
        format!("the request headers have {size} bytes; the limit is {MAX_HEADER_BYTES}"),
    );
    reject_and_log(&hub, &visitor, request.method().as_str(), request.uri().path(), error)
}
