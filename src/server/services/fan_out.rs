//! `GET /api/{mode}/services/{page}`: sends the visitor's credentials over loopback to the
//! three services and returns each one's status, authentication time and DB hits.

use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use axum_extra::extract::CookieJar;
use jsonwebtoken::Algorithm;

use super::{need_public_key, services_unavailable, ServiceReply, DB_QUERIES_HEADER, LOOPBACK_TIMEOUT, SERVICES};
use crate::model::{ApiError, Mode, ServiceCall, ServicesResponse};
use crate::server::activity::{micros_since, RequestOutcome};
use crate::server::error::{ApiPath, AppError};
use crate::server::jwt_backend::token_from_request;
use crate::server::loopback::{self, local_target, loopback_addr};
use crate::server::pages::{page_not_found, page_title};
use crate::server::session_backend::SESSION_COOKIE;
use crate::server::state::AppState;
use crate::server::visitor::{VisitorId, VISITOR_COOKIE};

/// `GET /api/stateful/services/{page}` and `GET /api/jwt/services/{page}`. Each route adds its
/// mode as an extension.
pub async fn fan_out(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    Extension(mode): Extension<Mode>,
    ApiPath(page): ApiPath<String>,
    headers: HeaderMap,
    cookies: CookieJar,
) -> Response {
    match try_fan_out(&state, mode, &visitor, &page, &headers, &cookies).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn try_fan_out(
    state: &AppState,
    mode: Mode,
    visitor: &VisitorId,
    page: &str,
    headers: &HeaderMap,
    cookies: &CookieJar,
) -> Result<Response, AppError> {
    if page_title(page).is_none() {
        return Ok(page_not_found(page));
    }
    if mode == Mode::Jwt && state.jwt.algorithm() == Algorithm::HS256 {
        return Err(need_public_key());
    }
    let target = local_target(&state.local_addr)?;

    // Only the visitor cookie and the credentials of the mode are forwarded: the session
    // cookie, or the JWT with its fingerprint cookie when tokens are bound to one.
    let mut cookie = format!("{VISITOR_COOKIE}={}", visitor.as_str());
    let mut authorization = None;
    match mode {
        Mode::Stateful => {
            if let Some(session) = cookies.get(SESSION_COOKIE) {
                cookie.push_str(&format!("; {SESSION_COOKIE}={}", session.value()));
            }
        }
        Mode::Jwt => {
            authorization = token_from_request(headers, cookies).ok().map(|token| format!("Bearer {token}"));
            let fingerprint = state.jwt.fingerprint_cookie().and_then(|name| cookies.get(name));
            if let Some(fingerprint) = fingerprint {
                cookie.push_str(&format!("; {}={}", fingerprint.name(), fingerprint.value()));
            }
        }
    }

    let started = Instant::now();
    let client = loopback::client(&state.loopback_secret, LOOPBACK_TIMEOUT)?;
    let base = format!("http://{}", loopback_addr(target));
    let calls = SERVICES.map(|service| {
        let mut request = client
            .get(format!("{base}/services/{service}/{}", mode.path_segment()))
            .header(header::COOKIE, cookie.clone());
        if let Some(authorization) = &authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        call_service(service, request)
    });
    let calls: Vec<ServiceCall> = futures::future::join_all(calls).await.into_iter().collect::<Result<_, _>>()?;

    let accepted = calls.iter().filter(|call| call.error.is_none()).count();
    let db_hits: u32 = calls.iter().map(|call| call.db_hits).sum();
    let body = ServicesResponse {
        mode,
        page: page.to_owned(),
        calls,
        total_us: micros_since(started),
    };
    let mut response = Json(body).into_response();
    response.extensions_mut().insert(RequestOutcome {
        auth_us: None,
        credential_bytes: None,
        message: format!("{accepted} of {} services accepted the credentials, with {db_hits} DB hits", SERVICES.len()),
    });
    Ok(response)
}

async fn call_service(service: &str, request: reqwest::RequestBuilder) -> Result<ServiceCall, AppError> {
    let response = request
        .send()
        .await
        .map_err(|error| services_unavailable(&format!("the {service} service"), &error))?;
    let status = response.status();
    let db_hits = response
        .headers()
        .get(DB_QUERIES_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let text = response.text().await.unwrap_or_default();
    let call = match serde_json::from_str::<ServiceReply>(&text) {
        Ok(reply) if status.is_success() => ServiceCall {
            service: service.to_owned(),
            status: status.as_u16(),
            auth_us: Some(reply.auth_us),
            db_hits,
            verified_with: Some(reply.verified_with),
            error: None,
        },
        _ => ServiceCall {
            service: service.to_owned(),
            status: status.as_u16(),
            auth_us: None,
            db_hits,
            verified_with: None,
            error: Some(serde_json::from_str::<ApiError>(&text).map_or_else(|_| "unknown".into(), |error| error.error)),
        },
    };
    Ok(call)
}
