//! The page routes of the demo shop back office: one per backend, and an unauthenticated
//! baseline for load tests.

use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use serde::Serialize;
use tower_sessions::Session;

use crate::model::{Mode, PageItem, PageResponse, User, PAGES};
use crate::server::activity::{micros_since, RequestOutcome};
use crate::server::db_hits;
use crate::server::error::{shorten, ApiPath, AppError};
use crate::server::state::AppState;
use crate::server::{jwt_backend, revocation, session_backend};

/// `GET /api/stateful/pages/{page}`: authenticates with the session cookie only.
pub async fn stateful_page(
    ApiPath(page): ApiPath<String>,
    session: Session,
    cookies: CookieJar,
) -> Response {
    let started = Instant::now();
    let credential_bytes = cookies
        .get(session_backend::SESSION_COOKIE)
        .map(|cookie| cookie.name().len() + 1 + cookie.value().len());
    serve_page(Mode::Stateful, &page, started, credential_bytes, || async {
        session_backend::authenticate(&session, &cookies).await
    })
    .await
}

/// `GET /api/jwt/pages/{page}`: authenticates with the JWT only, from the Authorization
/// header or the token cookie. With `--jwt-denylist` it also checks the token's `jti` against
/// the denylist, which costs one query.
pub async fn jwt_page(
    State(state): State<AppState>,
    ApiPath(page): ApiPath<String>,
    headers: HeaderMap,
    cookies: CookieJar,
) -> Response {
    let started = Instant::now();
    let credential_bytes = jwt_backend::credential_bytes(&headers, &cookies);
    serve_page(Mode::Jwt, &page, started, credential_bytes, || async {
        let claims = revocation::authenticate_jwt(&state, &headers, &cookies).await?;
        Ok(claims.user())
    })
    .await
}

/// Body of `GET /api/baseline/pages/{page}`: the page content without a user or timings.
#[derive(Debug, Serialize)]
pub struct BaselinePage {
    pub page: String,
    pub title: &'static str,
    pub items: Vec<PageItem>,
}

/// `GET /api/baseline/pages/{page}`: returns the page content with no authentication, session
/// layer or activity logging. Load tests compare both backends with it, because it is the least
/// work a page request costs on this server.
pub async fn baseline_page(ApiPath(page): ApiPath<String>) -> Response {
    let Some(title) = page_title(&page) else {
        return page_not_found(&page);
    };
    let body = BaselinePage {
        items: page_items(&page),
        page,
        title,
    };
    Json(body).into_response()
}

async fn serve_page<F, Fut>(
    mode: Mode,
    page: &str,
    started: Instant,
    credential_bytes: Option<usize>,
    authenticate: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<User, AppError>>,
{
    // An unknown page is rejected before authentication, as a router would, so it costs no
    // DB hit in either mode.
    let Some(title) = page_title(page) else {
        return page_not_found(page);
    };

    let auth_started = Instant::now();
    let authenticated = authenticate().await;
    let auth_us = micros_since(auth_started);

    let (mut response, message) = match authenticated {
        Ok(user) => {
            let message = format!("served {title} to {}", user.name);
            let body = PageResponse {
                page: page.to_owned(),
                title: title.to_owned(),
                items: page_items(page),
                user,
                mode,
                db_queries: db_hits::current_count(),
                auth_us,
                total_us: micros_since(started),
            };
            (Json(body).into_response(), message)
        }
        Err(error) => (error.into_response(), String::new()),
    };
    response.extensions_mut().insert(RequestOutcome {
        auth_us: Some(auth_us),
        credential_bytes: credential_bytes.map(|bytes| bytes as u64),
        message,
    });
    response
}

pub(crate) fn page_not_found(page: &str) -> Response {
    AppError::client(
        StatusCode::NOT_FOUND,
        "page_not_found",
        format!("no page is named {:?}; the pages are {}", shorten(page), PAGES.join(", ")),
    )
    .into_response()
}

pub(crate) fn page_title(page: &str) -> Option<&'static str> {
    let title = match page {
        "dashboard" => "Dashboard",
        "orders" => "Orders",
        "billing" => "Billing",
        "profile" => "Profile",
        "settings" => "Settings",
        _ => return None,
    };
    Some(title)
}

/// Returns the fixed demo content of a page. The shop and its figures are fictional.
fn page_items(page: &str) -> Vec<PageItem> {
    let pairs: &[(&str, &str)] = match page {
        "dashboard" => &[("Orders today", "42"), ("Revenue today", "€3,180"), ("Open tickets", "5")],
        "orders" => &[("#1042", "2 × Ceramic mug, shipped"), ("#1043", "1 × Tea sampler, packing")],
        "billing" => &[("Plan", "Shop Pro, monthly"), ("Next invoice", "€49.00 on the 1st")],
        "profile" => &[("Email", "owner@example.com"), ("Two-factor", "on")],
        "settings" => &[("Currency", "EUR"), ("Time zone", "Europe/Berlin")],
        _ => &[],
    };
    pairs
        .iter()
        .map(|(label, value)| PageItem {
            label: (*label).to_owned(),
            value: (*value).to_owned(),
        })
        .collect()
}
