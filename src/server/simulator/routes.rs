//! `POST /api/simulations`, `GET` and `DELETE /api/simulations/{id}`, and the result downloads.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::export;
use super::runner::run_simulation;
use crate::model::{SimulationRequest, SimulationState, SimulationStatus};
use crate::server::activity::RequestOutcome;
use crate::server::error::{ApiJson, ApiPath, AppError};
use crate::server::state::AppState;
use crate::server::visitor::VisitorId;

/// `POST /api/simulations`: starts a run for this visitor.
pub async fn start(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    ApiJson(request): ApiJson<SimulationRequest>,
) -> Result<Response, AppError> {
    let Some(target) = state.local_addr.get().copied() else {
        return Err(AppError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the server has not finished starting; try again in a moment",
        ));
    };
    let started_at_ms = crate::server::activity::unix_millis();
    let run = state
        .simulations
        .register(
            &visitor,
            request,
            state.database_kind(),
            state.settings.simulated_db_latency_ms,
            started_at_ms,
        )?;
    let status = run.snapshot();
    tracing::info!(id = %status.id, visitor = visitor.short(), planned = status.planned_requests,
        "simulation started");
    tokio::spawn(run_simulation(
        Arc::clone(&run),
        target,
        Arc::clone(&state.hub),
        Arc::clone(&state.loopback_secret),
    ));

    let message = format!(
        "simulation {} started: {} virtual users × {} pages, think time {} ms, {} page requests in all",
        &status.id[..8],
        status.settings.virtual_users,
        status.settings.pages_per_user,
        status.settings.think_time_ms,
        status.planned_requests
    );
    let location = format!("/api/simulations/{}", status.id);
    let mut response = (StatusCode::CREATED, [(header::LOCATION, location)], Json(status)).into_response();
    response.extensions_mut().insert(RequestOutcome {
        auth_us: None,
        credential_bytes: None,
        message,
    });
    Ok(response)
}

/// `GET /api/simulations/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SimulationStatus>, AppError> {
    Ok(Json(state.simulations.find(&id, &visitor)?.snapshot()))
}

/// `DELETE /api/simulations/{id}`: cancels a running simulation. Its virtual users stop
/// before their next request, and the results so far are kept.
pub async fn cancel(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, AppError> {
    let run = state.simulations.find(&id, &visitor)?;
    let status = run.snapshot();
    let short_id = &status.id[..8];
    if status.state != SimulationState::Running {
        return Err(AppError::client(
            StatusCode::CONFLICT,
            "simulation_not_running",
            format!("simulation {short_id} has already ended, so there is nothing to cancel"),
        ));
    }
    run.cancel.cancel();
    let message = format!("simulation {short_id} cancelled; its virtual users stop before their next request");
    let mut response = Json(status).into_response();
    response.extensions_mut().insert(RequestOutcome {
        auth_us: None,
        credential_bytes: None,
        message,
    });
    Ok(response)
}

/// `GET /api/simulations/{id}/results.csv`.
pub async fn download_csv(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, AppError> {
    let status = state.simulations.find(&id, &visitor)?.snapshot();
    Ok(attachment(export::to_csv(&status), "text/csv; charset=utf-8", &status.id, "csv"))
}

/// `GET /api/simulations/{id}/results.json`.
pub async fn download_json(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, AppError> {
    let status = state.simulations.find(&id, &visitor)?.snapshot();
    let body = serde_json::to_string_pretty(&status)
        .map_err(|error| AppError::Internal(format!("failed to encode simulation results: {error}")))?;
    Ok(attachment(body, "application/json", &status.id, "json"))
}

fn attachment(body: String, content_type: &'static str, id: &str, extension: &str) -> Response {
    // The ID is a UUID this server generated, so it is safe inside the header.
    let disposition = format!("attachment; filename=\"simulation-{id}.{extension}\"");
    (
        [(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response()
}
