//! The one error type of the HTTP layer and its mapping to status codes and JSON bodies.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

use crate::model::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing or invalid credentials: 401.
    #[error("{reason}")]
    Unauthorized { code: &'static str, reason: String },

    /// Any other client error, with its status.
    #[error("{reason}")]
    Client {
        status: StatusCode,
        code: &'static str,
        reason: String,
    },

    /// A server fault. The cause is logged and the client sees a generic message.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn client(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self::Client {
            status,
            code,
            reason: reason.into(),
        }
    }

    pub fn session_store(error: tower_sessions::session::Error) -> Self {
        Self::Internal(format!("session store failed: {error}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Client { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ApiError {
        match self {
            Self::Unauthorized { code, reason } | Self::Client { code, reason, .. } => ApiError {
                error: (*code).to_owned(),
                reason: reason.clone(),
            },
            Self::Internal(_) => ApiError {
                error: "internal".into(),
                reason: "the server failed to handle this request; the details are in its log"
                    .into(),
            },
        }
    }
}

/// The JSON error body of a response, kept as a response extension so that the activity log
/// can show the reason without parsing the body again.
#[derive(Clone, Debug)]
pub struct ErrorDetails(pub ApiError);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let body = self.body();
        let mut response = (self.status(), Json(body.clone())).into_response();
        response.extensions_mut().insert(ErrorDetails(body));
        response
    }
}

/// Characters of client input kept when an error reason quotes it, so that a long path
/// cannot make every log line and buffered stream event large.
const MAX_QUOTED_CHARS: usize = 64;

/// Returns `input` cut to [`MAX_QUOTED_CHARS`] characters, marked with `…` when cut.
pub fn shorten(input: &str) -> String {
    match input.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &input[..end]),
        None => input.to_owned(),
    }
}

/// A path parameter whose rejections (such as invalid UTF-8 after percent-decoding) become
/// [`AppError`]s with a JSON reason instead of axum's plain-text body.
pub struct ApiPath<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::client(
                StatusCode::BAD_REQUEST,
                "invalid_path",
                rejection.body_text(),
            )),
        }
    }
}

/// A JSON request body whose rejections (malformed JSON, wrong field types, wrong content
/// type, oversized body) become [`AppError`]s with a specific reason.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(json_rejection)?;
        // serde's derived structs also accept a JSON array of the fields in order. The API
        // promises objects, so anything else is rejected before it reaches the handler.
        if !value.is_object() {
            return Err(AppError::client(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "the request body must be a JSON object",
            ));
        }
        serde_json::from_value(value).map(Self).map_err(|error| {
            AppError::client(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("the JSON body does not match the expected fields: {error}"),
            )
        })
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    if is_body_timeout(&rejection) {
        return AppError::client(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the rest of the request body did not arrive in time; send the whole body at once",
        );
    }
    let status = rejection.status();
    let code = match &rejection {
        JsonRejection::JsonDataError(_) => "invalid_field",
        JsonRejection::JsonSyntaxError(_) => "malformed_json",
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        _ => "invalid_body",
    };
    AppError::client(status, code, rejection.body_text())
}

/// Returns whether `rejection` comes from `RequestBodyTimeoutLayer` (the body stopped arriving),
/// by looking for its error in the source chain.
fn is_body_timeout(rejection: &JsonRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = source {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = error.source();
    }
    false
}
