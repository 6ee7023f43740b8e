//! Runs one simulation: for each mode, the virtual users sign in and then request pages, while
//! a sampler turns each half second of results into a chart point.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::registry::SimulationRun;
use crate::model::{
    LatencySummary, LoginRequest, LoginResponse, Mode, ModeResult, PageResponse, RefreshResponse, SimulationSample,
    SimulationState, PAGES,
};
use crate::server::activity::micros_since;
use crate::server::live_stream::LiveHub;
use crate::server::loopback::{self, loopback_addr, LoopbackSecret};

/// Interval of the live chart points and progress events.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// Time limit of one virtual user's request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long before its access token expires a JWT-mode virtual user refreshes it, as the
/// dashboard does, in milliseconds.
const REFRESH_MARGIN_MS: u64 = 5_000;

/// Results of one phase as the virtual users report them.
#[derive(Default)]
struct PhaseData {
    requests: u64,
    errors: u64,
    failed_sign_ins: u64,
    db_hits: u64,
    token_refreshes: u64,
    auth_us: Vec<u64>,
    latency_us: Vec<u64>,
    window: Window,
}

/// The results since the last chart point.
#[derive(Default)]
struct Window {
    requests: u64,
    db_hits: u64,
    auth_us: Vec<u64>,
}

type SharedPhase = Arc<Mutex<PhaseData>>;

fn lock(phase: &SharedPhase) -> std::sync::MutexGuard<'_, PhaseData> {
    phase.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs every phase of `run` against the server at `target`, reporting progress to the owner.
pub async fn run_simulation(
    run: Arc<SimulationRun>,
    target: SocketAddr,
    hub: Arc<LiveHub>,
    secret: Arc<LoopbackSecret>,
) {
    let settings = run.snapshot().settings;
    let started = Instant::now();
    let base_url = format!("http://{}", loopback_addr(target));

    for &mode in settings.modes.modes() {
        if run.cancel.is_cancelled() {
            break;
        }
        let result = run_phase(&run, &hub, &base_url, &secret, mode, started).await;
        run.lock().results.push(result);
    }

    let finished = {
        let mut status = run.lock();
        status.finished_at_ms = Some(status.started_at_ms + started.elapsed().as_millis() as u64);
        if run.cancel.is_cancelled() {
            status.state = SimulationState::Cancelled;
            status.message = Some("cancelled before all virtual users finished".into());
        } else {
            status.state = SimulationState::Finished;
        }
        status.clone()
    };
    tracing::info!(id = %finished.id, state = ?finished.state, requests = finished.completed_requests,
        "simulation ended");
    hub.send_simulation(&run.owner, finished);
}

async fn run_phase(
    run: &Arc<SimulationRun>,
    hub: &Arc<LiveHub>,
    base_url: &str,
    secret: &Arc<LoopbackSecret>,
    mode: Mode,
    simulation_started: Instant,
) -> ModeResult {
    let settings = run.snapshot().settings;
    let phase: SharedPhase = Arc::default();
    let phase_started = Instant::now();
    let completed_before = run.lock().completed_requests;

    let mut users = JoinSet::new();
    for number in 0..settings.virtual_users {
        let user = VirtualUser {
            number,
            base_url: base_url.to_owned(),
            secret: Arc::clone(secret),
            mode,
            pages: settings.pages_per_user,
            think_time: Duration::from_millis(settings.think_time_ms),
        };
        users.spawn(user.run(Arc::clone(&phase), run.cancel.clone()));
    }

    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    ticker.tick().await;
    let mut last_tick = Instant::now();
    loop {
        tokio::select! {
            joined = users.join_next() => {
                if joined.is_none() {
                    break;
                }
            }
            _ = ticker.tick() => {
                let elapsed = last_tick.elapsed();
                last_tick = Instant::now();
                let sample = take_sample(&phase, mode, elapsed, simulation_started);
                let status = {
                    let mut status = run.lock();
                    status.completed_requests = completed_before + lock(&phase).requests;
                    status.samples.push(sample.clone());
                    let mut event = status.clone();
                    event.samples = vec![sample];
                    event
                };
                hub.send_simulation(&run.owner, status);
            }
        }
    }

    let last = take_sample(&phase, mode, last_tick.elapsed(), simulation_started);
    let mut data = lock(&phase);
    {
        let mut status = run.lock();
        status.completed_requests = completed_before + data.requests;
        if last.requests_per_second > 0.0 {
            status.samples.push(last);
        }
    }
    summarize(mode, &mut data, phase_started.elapsed())
}

fn take_sample(phase: &SharedPhase, mode: Mode, elapsed: Duration, simulation_started: Instant) -> SimulationSample {
    let window = std::mem::take(&mut lock(phase).window);
    let seconds = elapsed.as_secs_f64().max(0.001);
    let mut auth_us = window.auth_us;
    SimulationSample {
        at_ms: simulation_started.elapsed().as_millis() as u64,
        mode,
        queries_per_second: window.db_hits as f64 / seconds,
        requests_per_second: window.requests as f64 / seconds,
        auth: LatencySummary::from_samples(&mut auth_us),
    }
}

fn summarize(mode: Mode, data: &mut PhaseData, duration: Duration) -> ModeResult {
    let seconds = duration.as_secs_f64().max(0.001);
    ModeResult {
        mode: Some(mode),
        requests: data.requests,
        errors: data.errors,
        failed_sign_ins: data.failed_sign_ins,
        db_hits: data.db_hits,
        token_refreshes: data.token_refreshes,
        duration_ms: duration.as_millis() as u64,
        queries_per_second: data.db_hits as f64 / seconds,
        requests_per_second: data.requests as f64 / seconds,
        auth: LatencySummary::from_samples(&mut data.auth_us),
        latency: LatencySummary::from_samples(&mut data.latency_us),
    }
}

/// One simulated person: a browser of its own, with its own cookies.
struct VirtualUser {
    number: u32,
    base_url: String,
    /// Exempts the virtual user's requests from the per-visitor rate limits.
    secret: Arc<LoopbackSecret>,
    mode: Mode,
    pages: u32,
    think_time: Duration,
}

impl VirtualUser {
    async fn run(self, phase: SharedPhase, cancel: tokio_util::sync::CancellationToken) {
        let client = match loopback::client_builder(&self.secret)
            .cookie_store(true)
            .timeout(REQUEST_TIMEOUT)
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                tracing::warn!(%error, "failed to build a virtual user's HTTP client");
                lock(&phase).failed_sign_ins += 1;
                return;
            }
        };
        let Some(mut access_expires_at_ms) = self.sign_in(&client).await else {
            lock(&phase).failed_sign_ins += 1;
            return;
        };

        for index in 0..self.pages {
            if cancel.is_cancelled() {
                return;
            }
            if self.mode == Mode::Jwt && unix_millis() + REFRESH_MARGIN_MS >= access_expires_at_ms {
                // A failed refresh leaves the old token, so the page request shows the error.
                if let Some(expires_at_ms) = self.refresh_token(&client).await {
                    access_expires_at_ms = expires_at_ms;
                    lock(&phase).token_refreshes += 1;
                }
            }
            self.request_page(&client, &phase, index).await;
            if !self.think_time.is_zero() && index + 1 < self.pages {
                tokio::select! {
                    () = tokio::time::sleep(self.think_time) => {}
                    () = cancel.cancelled() => return,
                }
            }
        }
    }

    /// Signs in and returns when the access token expires, in milliseconds since the Unix
    /// epoch.
    async fn sign_in(&self, client: &reqwest::Client) -> Option<u64> {
        let body = LoginRequest {
            name: format!("Virtual user {}", self.number + 1),
        };
        let response = client.post(format!("{}/api/login", self.base_url)).json(&body).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json::<LoginResponse>().await.ok().map(|login| login.access_expires_at_ms)
    }

    /// Exchanges the refresh token cookie for a new access token and returns when that expires.
    async fn refresh_token(&self, client: &reqwest::Client) -> Option<u64> {
        let response = client.post(format!("{}/api/token/refresh", self.base_url)).send().await.ok()?;
        if !response.status().is_success() {
            tracing::debug!(status = %response.status(), user = self.number + 1, "a virtual user's token refresh failed");
            return None;
        }
        response.json::<RefreshResponse>().await.ok().map(|refresh| refresh.access_expires_at_ms)
    }

    async fn request_page(&self, client: &reqwest::Client, phase: &SharedPhase, index: u32) {
        let page = PAGES[index as usize % PAGES.len()];
        let url = format!("{}/api/{}/pages/{page}", self.base_url, self.mode.path_segment());
        let started = Instant::now();
        let response = client.get(url).send().await;
        let body = match response {
            Ok(response) if response.status().is_success() => response.json::<PageResponse>().await.ok(),
            _ => None,
        };
        let latency_us = micros_since(started);

        let mut data = lock(phase);
        data.requests += 1;
        data.window.requests += 1;
        data.latency_us.push(latency_us);
        match body {
            Some(page) => {
                data.db_hits += u64::from(page.db_queries);
                data.window.db_hits += u64::from(page.db_queries);
                data.auth_us.push(page.auth_us);
                data.window.auth_us.push(page.auth_us);
            }
            None => data.errors += 1,
        }
    }
}

/// Milliseconds since the Unix epoch.
fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
