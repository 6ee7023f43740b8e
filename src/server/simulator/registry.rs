//! The simulations of all visitors: at most one running per visitor, and a bounded history.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use tokio_util::sync::CancellationToken;

use crate::model::{SimulationRequest, SimulationState, SimulationStatus};
use crate::server::error::{shorten, AppError};
use crate::server::visitor::VisitorId;

/// Runs kept for `GET /api/simulations/{id}`. Past this, the oldest finished runs are dropped.
const MAX_KEPT_RUNS: usize = 200;

/// Longest think time a run may ask for, in milliseconds.
pub const MAX_THINK_TIME_MS: u64 = 10_000;

/// One simulation: its owner, its current status and its cancel switch.
pub struct SimulationRun {
    pub owner: VisitorId,
    pub status: Mutex<SimulationStatus>,
    pub cancel: CancellationToken,
}

impl SimulationRun {
    pub fn snapshot(&self) -> SimulationStatus {
        self.lock().clone()
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, SimulationStatus> {
        // Status updates are plain field writes, so a poisoned lock still holds a valid status.
        self.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_running(&self) -> bool {
        self.lock().state == SimulationState::Running
    }
}

/// Limits on the runs of all visitors together.
#[derive(Clone, Copy, Debug)]
pub struct ServerWideLimits {
    /// Runs at once.
    pub max_running: u32,
    /// Virtual users across the running runs.
    pub max_running_users: u32,
}

pub struct SimulationRegistry {
    runs: Mutex<HashMap<String, Arc<SimulationRun>>>,
    max_users: u32,
    max_requests: u64,
    server_wide: ServerWideLimits,
}

impl SimulationRegistry {
    pub fn new(max_users: u32, max_requests: u64, server_wide: ServerWideLimits) -> Self {
        Self {
            runs: Mutex::new(HashMap::new()),
            max_users,
            max_requests,
            server_wide,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SimulationRun>>> {
        self.runs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks `request` against the limits and registers a new run for `owner`.
    pub fn register(
        &self,
        owner: &VisitorId,
        request: SimulationRequest,
        database: &str,
        simulated_db_latency_ms: u64,
        started_at_ms: u64,
    ) -> Result<Arc<SimulationRun>, AppError> {
        let planned_requests = self.validate(&request)?;

        let mut runs = self.lock();
        if runs.values().any(|run| &run.owner == owner && run.is_running()) {
            return Err(AppError::client(
                StatusCode::CONFLICT,
                "simulation_running",
                "this browser already has a simulation running; cancel it or wait for it to finish",
            ));
        }
        self.check_server_wide(&runs, request.virtual_users)?;
        drop_oldest_finished(&mut runs);

        let id = uuid::Uuid::new_v4().to_string();
        let status = SimulationStatus {
            id: id.clone(),
            state: SimulationState::Running,
            settings: request,
            database: database.to_owned(),
            simulated_db_latency_ms,
            planned_requests,
            completed_requests: 0,
            started_at_ms,
            finished_at_ms: None,
            message: None,
            results: Vec::new(),
            samples: Vec::new(),
        };
        let run = Arc::new(SimulationRun {
            owner: owner.clone(),
            status: Mutex::new(status),
            cancel: CancellationToken::new(),
        });
        runs.insert(id, Arc::clone(&run));
        Ok(run)
    }

    /// Returns the run `id` if `visitor` started it.
    pub fn find(&self, id: &str, visitor: &VisitorId) -> Result<Arc<SimulationRun>, AppError> {
        self.lock()
            .get(id)
            .filter(|run| &run.owner == visitor)
            .cloned()
            .ok_or_else(|| {
                AppError::client(
                    StatusCode::NOT_FOUND,
                    "simulation_not_found",
                    format!("this browser has no simulation with ID {:?}", shorten(id)),
                )
            })
    }

    /// Cancels every running simulation, for shutdown.
    pub fn cancel_all(&self) {
        for run in self.lock().values() {
            run.cancel.cancel();
        }
    }

    /// Rejects a run of `virtual_users` with 503 `simulations_busy` when it would pass a
    /// server-wide limit.
    fn check_server_wide(&self, runs: &HashMap<String, Arc<SimulationRun>>, virtual_users: u32) -> Result<(), AppError> {
        let running: Vec<u32> = runs
            .values()
            .filter_map(|run| {
                let status = run.lock();
                (status.state == SimulationState::Running).then_some(status.settings.virtual_users)
            })
            .collect();
        let busy = |reason: String| AppError::client(StatusCode::SERVICE_UNAVAILABLE, "simulations_busy", reason);
        let limits = self.server_wide;
        if running.len() >= limits.max_running as usize {
            return Err(busy(format!(
                "the limit of simulations running at once on this server is {}, and {} are running; try again \
                 when one finishes",
                limits.max_running,
                running.len()
            )));
        }
        let running_users: u64 = running.iter().map(|&users| u64::from(users)).sum();
        if running_users + u64::from(virtual_users) > u64::from(limits.max_running_users) {
            return Err(busy(format!(
                "the running simulations have {running_users} virtual users, and {virtual_users} more would pass \
                 the limit of {} on this server; lower the virtual users or try again when a simulation finishes",
                limits.max_running_users
            )));
        }
        Ok(())
    }

    fn validate(&self, request: &SimulationRequest) -> Result<u64, AppError> {
        let invalid = |reason: String| AppError::client(StatusCode::BAD_REQUEST, "simulation_invalid", reason);
        if request.virtual_users == 0 || request.virtual_users > self.max_users {
            return Err(invalid(format!(
                "virtual_users is {}; it must be between 1 and {}",
                request.virtual_users, self.max_users
            )));
        }
        if request.pages_per_user == 0 {
            return Err(invalid("pages_per_user must be at least 1".into()));
        }
        if request.think_time_ms > MAX_THINK_TIME_MS {
            return Err(invalid(format!(
                "think_time_ms is {}; the maximum is {MAX_THINK_TIME_MS}",
                request.think_time_ms
            )));
        }
        let planned = u64::from(request.virtual_users)
            * u64::from(request.pages_per_user)
            * request.modes.modes().len() as u64;
        if planned > self.max_requests {
            return Err(AppError::client(
                StatusCode::UNPROCESSABLE_ENTITY,
                "simulation_too_large",
                format!(
                    "this run would send {planned} page requests; the limit is {} per run, so \
                     lower the virtual users or pages per user",
                    self.max_requests
                ),
            ));
        }
        Ok(planned)
    }
}

fn drop_oldest_finished(runs: &mut HashMap<String, Arc<SimulationRun>>) {
    while runs.len() >= MAX_KEPT_RUNS {
        let oldest = runs
            .iter()
            .filter(|(_, run)| !run.is_running())
            .min_by_key(|(_, run)| run.lock().started_at_ms)
            .map(|(id, _)| id.clone());
        match oldest {
            Some(id) => runs.remove(&id),
            None => return,
        };
    }
}
