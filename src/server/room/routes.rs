//! The room's HTTP routes: the public snapshot, join address and QR code, the room stream,
//! joining, and the presenter's actions, which the router guards with
//! [`presenter::require_presenter`](super::presenter::require_presenter).

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use axum_extra::extract::CookieJar;
use futures::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::WatchStream;

use super::{Room, RoomFull};
use crate::model::room::{
    JoinInfo, JoinRequest, PresenterKeyRequest, PresenterStatus, RoomModeRequest, RoomSnapshot, RoundRequest,
    MAX_ROUND_REQUESTS, MAX_ROUND_SECS, MIN_ROUND_SECS,
};
use crate::server::account::validate_name;
use crate::server::activity::with_log_message;
use crate::server::error::{ApiJson, AppError};
use crate::server::revocation;
use crate::server::room::presenter::invalid_key;
use crate::server::state::AppState;
use crate::server::visitor::VisitorId;

/// The longest `Host` header that the join address takes over. A host name has at most 253
/// characters, and a port and brackets add a few more. A longer header falls back to the
/// server's own address, so the QR code always encodes.
const MAX_HOST_CHARS: usize = 270;

/// Interval of the comment lines that keep the presenter's stream open through proxies.
const KEEP_ALIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// `GET /api/room`: the room now, as the presenter view shows it.
pub async fn snapshot(State(room): State<Arc<Room>>) -> Json<RoomSnapshot> {
    Json(room.snapshot())
}

/// `GET /api/room/events`: the presenter's stream. It opens with a `room` event holding the
/// snapshot, then sends one whenever the room changes, at most every quarter second.
pub async fn events(
    State(state): State<AppState>,
    cookies: CookieJar,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let presenter = state.presenter_key.is_presenter(&cookies);
    let permit = state.room.open_stream(presenter).map_err(|max| {
        let key_state = if presenter { "with the presenter key" } else { "without the presenter key" };
        AppError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("{max} room views {key_state} are already open; close one and reload"),
        )
    })?;
    let first = room_event(&state.room.snapshot());
    let changes = WatchStream::from_changes(state.room.watch_snapshot()).map(|snapshot| room_event(&snapshot));
    let closing = WatchStream::new(state.hub.closing()).filter(|closing| std::future::ready(*closing));
    let events = stream::once(std::future::ready(first))
        .chain(changes)
        .take_until(closing.into_future())
        .map(move |event| {
            // The permit travels with the stream, so the slot frees when the stream ends.
            let _stream_permit = &permit;
            Ok(event)
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE_EVERY)))
}

fn room_event(snapshot: &RoomSnapshot) -> Event {
    // These plain structs always serialize. An empty event would be harmless anyway.
    Event::default().event("room").data(serde_json::to_string(snapshot).unwrap_or_default())
}

/// `GET /api/room/join`: the address participants open.
pub async fn join_info(State(state): State<AppState>, headers: HeaderMap) -> Json<JoinInfo> {
    Json(join_info_for(&state, &headers))
}

/// `GET /present/qr.svg`: the join address as a QR code.
pub async fn qr_code(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let info = join_info_for(&state, &headers);
    let code = qrcode::QrCode::new(info.join_url.as_bytes())
        .map_err(|error| AppError::Internal(format!("failed to encode the join address as a QR code: {error}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(320, 320)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    let headers = [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-store")];
    Ok((headers, svg).into_response())
}

/// Returns the join address: `--public-url` when set, or else the address the request itself
/// was sent to, which is the one a presenter opened on the projector.
fn join_info_for(state: &AppState, headers: &HeaderMap) -> JoinInfo {
    if let Some(url) = &state.settings.public_url {
        return JoinInfo {
            join_url: url.clone(),
            loopback_only: false,
        };
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.len() <= MAX_HOST_CHARS)
        .and_then(|value| value.parse::<axum::http::uri::Authority>().ok());
    let authority = match host {
        Some(authority) => authority.to_string(),
        None => state.local_addr.get().copied().unwrap_or(state.settings.addr).to_string(),
    };
    let hostname = authority.rsplit_once(':').map_or(authority.as_str(), |(name, _)| name);
    let hostname = hostname.trim_start_matches('[').trim_end_matches(']');
    let loopback_only = hostname.eq_ignore_ascii_case("localhost")
        || hostname.parse::<IpAddr>().is_ok_and(|address| address.is_loopback() || address.is_unspecified());
    JoinInfo {
        join_url: format!("http://{authority}/"),
        loopback_only,
    }
}

/// `POST /api/room/participants`: adds the signed-in visitor to the room under a display name,
/// or renames it. Only a visitor with a valid JWT, which only a rate-limited sign-in gives, can
/// join, so a script cannot fill the room with names alone.
pub async fn join(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    headers: HeaderMap,
    cookies: CookieJar,
    ApiJson(request): ApiJson<JoinRequest>,
) -> Result<Response, AppError> {
    // The same check as every JWT route, so a revoked token cannot join with the denylist on.
    if revocation::authenticate_jwt(&state, &headers, &cookies).await.is_err() {
        return Err(AppError::Unauthorized {
            code: "not_signed_in",
            reason: "sign in with a display name first; signing in joins the room".into(),
        });
    }
    let name = validate_name(&request.name)?;
    let summary = state.room.join(&visitor, name).map_err(|RoomFull(max)| {
        AppError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "room_full",
            format!("the room already has its maximum of {max} participants; ask the presenter to raise --max-participants"),
        )
    })?;
    Ok(Json(summary).into_response())
}

/// `GET /api/room/presenter`: whether this browser has the presenter key.
pub async fn presenter_status(State(state): State<AppState>, cookies: CookieJar) -> Json<PresenterStatus> {
    Json(PresenterStatus {
        presenter: state.presenter_key.is_presenter(&cookies),
    })
}

/// `POST /api/room/presenter/key`: checks the presenter key and, when it matches, sets it as an
/// HttpOnly cookie for the room's API.
pub async fn presenter_sign_in(
    State(state): State<AppState>,
    cookies: CookieJar,
    ApiJson(request): ApiJson<PresenterKeyRequest>,
) -> Result<Response, AppError> {
    if !state.presenter_key.matches(request.key.trim()) {
        return Err(invalid_key());
    }
    let cookies = cookies.add(state.presenter_key.cookie(state.settings.secure_cookies));
    let body = Json(PresenterStatus { presenter: true });
    Ok(with_log_message((cookies, body).into_response(), "presenter key accepted".into()))
}

/// `POST /api/room/mode`: switches every participant's dashboard to one mode.
pub async fn set_mode(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RoomModeRequest>,
) -> Result<Response, AppError> {
    let summary = state.room.set_mode(request.mode);
    let message = format!("the presenter switched the room to {}", request.mode.label());
    Ok(with_log_message(Json(summary).into_response(), message))
}

/// `POST /api/room/rounds`: starts a timed round that requests a number of page requests from
/// every participant.
pub async fn start_round(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RoundRequest>,
) -> Result<Response, AppError> {
    let out_of_range = |reason: String| AppError::client(StatusCode::BAD_REQUEST, "round_out_of_range", reason);
    if !(1..=MAX_ROUND_REQUESTS).contains(&request.requests_each) {
        return Err(out_of_range(format!(
            "requests_each is {}; choose 1 to {MAX_ROUND_REQUESTS}",
            request.requests_each
        )));
    }
    if !(MIN_ROUND_SECS..=MAX_ROUND_SECS).contains(&request.seconds) {
        return Err(out_of_range(format!(
            "seconds is {}; choose {MIN_ROUND_SECS} to {MAX_ROUND_SECS}",
            request.seconds
        )));
    }
    let summary = state.room.start_round(request.requests_each, request.seconds);
    let number = summary.round.map_or(0, |round| round.number);
    let message = format!(
        "the presenter started round {number}: {} page requests each within {} s",
        request.requests_each, request.seconds
    );
    Ok(with_log_message(Json(summary).into_response(), message))
}

/// `POST /api/room/reset`: zeroes the room's totals, chart, activity and round.
pub async fn reset(State(room): State<Arc<Room>>) -> Response {
    let summary = room.reset();
    with_log_message(Json(summary).into_response(), "the presenter reset the room".into())
}
