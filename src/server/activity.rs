//! The activity middleware: times each API request, collects the SQL statements it ran, and
//! sends one line per request to the visitor's live log, adding page requests to the counters.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::model::{LogLine, Mode, Statement};
use crate::server::db_hits::QueryRecorder;
use crate::server::error::{AppError, ErrorDetails};
use crate::server::live_stream::LiveHub;
use crate::server::room::Room;
use crate::server::visitor::VisitorId;

/// Longest request path kept in a log line, in bytes.
const MAX_LOGGED_PATH_BYTES: usize = 200;

/// Whether a route's requests count towards the DB-hit counters.
#[derive(Clone, Copy, Debug)]
pub enum ActivityKind {
    /// A page request through one backend: counted.
    Page(Mode),
    /// Sign-in, logout, reset and errors on other routes: logged but not counted.
    Other,
    /// An access-token refresh: its statements count as DB hits, but not as a page request.
    TokenRefresh,
}

/// State of one activity layer.
#[derive(Clone)]
pub struct ActivityContext {
    pub hub: Arc<LiveHub>,
    pub room: Arc<Room>,
    pub kind: ActivityKind,
}

/// The service that handled a request, as a response extension that its middleware adds.
#[derive(Clone, Copy, Debug)]
pub struct ServiceName(pub &'static str);

/// What a handler reports about its request, as a response extension.
#[derive(Clone, Debug, Default)]
pub struct RequestOutcome {
    /// Time the authentication step took, in microseconds.
    pub auth_us: Option<u64>,
    /// Size of the credential the request carried, in bytes.
    pub credential_bytes: Option<u64>,
    /// What happened, in words, for a successful request.
    pub message: String,
}

/// Attaches `message` to `response` as the text of its live-log line.
pub fn with_log_message(mut response: Response, message: String) -> Response {
    response.extensions_mut().insert(RequestOutcome {
        auth_us: None,
        credential_bytes: None,
        message,
    });
    response
}

/// Middleware that records one request in the visitor's live log.
pub async fn record_activity(
    State(context): State<ActivityContext>,
    Extension(visitor): Extension<VisitorId>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = loggable_path(request.uri().path());
    let recorder = QueryRecorder::default();
    let started = Instant::now();

    let response = recorder.scope(next.run(request)).await;

    let total_us = micros_since(started);
    let statements = recorder.statements();
    let outcome = response.extensions().get::<RequestOutcome>().cloned().unwrap_or_default();
    let message = match response.extensions().get::<ErrorDetails>() {
        Some(ErrorDetails(error)) => format!("{}: {}", error.error, error.reason),
        None => outcome.message,
    };
    let status = response.status().as_u16();
    let service = response.extensions().get::<ServiceName>().map(|ServiceName(name)| *name);
    tracing::info!(
        visitor = visitor.short(),
        service = service.unwrap_or(""),
        %method,
        %path,
        status,
        statements = statements.len(),
        total_us,
        "request"
    );

    let line = log_line(&method, &path, status, total_us, message);
    let line = LogLine {
        statements,
        auth_us: outcome.auth_us,
        credential_bytes: outcome.credential_bytes,
        service: service.map(str::to_owned),
        ..line
    };
    match context.kind {
        ActivityKind::Page(mode) => {
            let db_hits = line.statements.len() as u64;
            let line = LogLine {
                mode: Some(mode),
                counted: true,
                ..line
            };
            context.room.record_page_request(&visitor, mode, db_hits, &line);
            context.hub.record_page_request(&visitor, mode, db_hits, line);
        }
        ActivityKind::Other => context.hub.record_other_request(&visitor, line),
        ActivityKind::TokenRefresh => {
            let db_hits = line.statements.len() as u64;
            let line = LogLine { counted: true, ..line };
            context.hub.record_token_refresh(&visitor, db_hits, line);
        }
    }
    response
}

/// Returns `error` as a response and records it as a line in the visitor's live log, for
/// middleware that rejects a request before the activity layer runs.
pub fn reject_and_log(hub: &LiveHub, visitor: &VisitorId, method: &str, path: &str, error: AppError) -> Response {
    let status = error.status().as_u16();
    let response = error.into_response();
    if let Some(ErrorDetails(error)) = response.extensions().get::<ErrorDetails>() {
        let message = format!("{}: {}", error.error, error.reason);
        hub.record_other_request(visitor, log_line(method, path, status, 0, message));
    }
    response
}

/// Builds a log line with no statements, mode or auth timing.
pub fn log_line(method: &str, path: &str, status: u16, total_us: u64, message: String) -> LogLine {
    LogLine {
        seq: 0,
        at_ms: unix_millis(),
        method: method.to_owned(),
        path: loggable_path(path),
        mode: None,
        statements: Vec::<Statement>::new(),
        counted: false,
        auth_us: None,
        credential_bytes: None,
        status,
        total_us,
        message,
        service: None,
    }
}

/// Returns the microseconds elapsed since `started`.
pub fn micros_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn loggable_path(path: &str) -> String {
    if path.len() <= MAX_LOGGED_PATH_BYTES {
        return path.to_owned();
    }
    let mut end = MAX_LOGGED_PATH_BYTES;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &path[..end])
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
