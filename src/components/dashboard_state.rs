//! The dashboard's reactive state, shared by its components through context.

use leptos::prelude::*;

use crate::model::room::RoomSummary;
use crate::model::{LogLine, Mode, PageResponse, ServerInfo, SimulationState, SimulationStatus, Stats, User, PAGES};

/// Log lines the browser keeps; older ones scroll out.
pub const MAX_LOG_LINES: usize = 200;

#[derive(Clone, Copy)]
pub struct DashboardState {
    pub mode: RwSignal<Mode>,
    pub user: RwSignal<Option<User>>,
    /// The latest counters the server streamed; `None` until the first arrives.
    pub stats: RwSignal<Option<Stats>>,
    pub log: RwSignal<Vec<LogLine>>,
    pub stream_open: RwSignal<bool>,
    /// Events the server skipped because this browser fell behind.
    pub skipped_events: RwSignal<u64>,
    /// Index into [`PAGES`] of the page the next click requests.
    pub next_page: RwSignal<usize>,
    pub last_page: RwSignal<Option<PageResponse>>,
    /// A request in flight, to keep a click from being sent twice.
    pub busy: RwSignal<bool>,
    /// The outcome of the last action, for the status line.
    pub notice: RwSignal<Option<String>>,
    /// This visitor's latest traffic simulation, with every chart point received so far.
    pub simulation: RwSignal<Option<SimulationStatus>>,
    /// The server's database and timing settings; `None` until fetched.
    pub server_info: RwSignal<Option<ServerInfo>>,
    /// The workshop room's latest summary; `None` until the stream brings one.
    pub room: RwSignal<Option<RoomSummary>>,
    /// This browser's clock minus the server's, in ms, measured when the summary arrived, so
    /// that a round counts down by the server's clock.
    pub clock_skew_ms: RwSignal<i64>,
}

impl DashboardState {
    pub fn new() -> Self {
        Self {
            mode: RwSignal::new(Mode::Stateful),
            user: RwSignal::new(None),
            stats: RwSignal::new(None),
            log: RwSignal::new(Vec::new()),
            stream_open: RwSignal::new(false),
            skipped_events: RwSignal::new(0),
            next_page: RwSignal::new(0),
            last_page: RwSignal::new(None),
            busy: RwSignal::new(false),
            notice: RwSignal::new(None),
            simulation: RwSignal::new(None),
            server_info: RwSignal::new(None),
            room: RwSignal::new(None),
            clock_skew_ms: RwSignal::new(0),
        }
    }

    /// Returns the state provided by the dashboard.
    pub fn expect() -> Self {
        expect_context::<Self>()
    }

    pub fn next_page_name(&self) -> &'static str {
        PAGES[self.next_page.get() % PAGES.len()]
    }

    /// Appends a streamed line, ignoring one already shown after a reconnect.
    pub fn push_log(&self, line: LogLine) {
        self.log.update(|lines| {
            if lines.iter().any(|shown| shown.seq == line.seq) {
                return;
            }
            lines.push(line);
            if lines.len() > MAX_LOG_LINES {
                let excess = lines.len() - MAX_LOG_LINES;
                lines.drain(..excess);
            }
        });
    }
}

impl DashboardState {
    /// Takes in a simulation event or the status that starting a run returned.
    pub fn merge_simulation(&self, event: SimulationStatus) {
        self.simulation.update(|current| merge_simulation_status(current, event));
    }

    /// Takes in a room summary that arrived at `local_now_ms` by this browser's clock. When
    /// the presenter switched the room to another mode, the dashboard follows.
    pub fn merge_room(&self, summary: RoomSummary, local_now_ms: i64) {
        let previous_mode = self.room.with_untracked(|room| room.as_ref().and_then(|room| room.mode));
        if let Some(mode) = summary.mode.filter(|mode| Some(*mode) != previous_mode) {
            self.mode.set(mode);
        }
        self.clock_skew_ms.set(local_now_ms - summary.server_now_ms as i64);
        self.room.set(Some(summary));
    }
}

/// Merges a status of a simulation run into the one shown. Progress events carry only the
/// newest chart point, and the final event carries all of them. The response to the request
/// that started a run can arrive after the stream's events of that run, so a running status
/// never replaces a finished one, and progress never goes back.
fn merge_simulation_status(current: &mut Option<SimulationStatus>, event: SimulationStatus) {
    let Some(known) = current.as_mut().filter(|known| known.id == event.id) else {
        *current = Some(event);
        return;
    };
    if event.state != SimulationState::Running {
        *known = event;
        return;
    }
    if known.state != SimulationState::Running || event.completed_requests < known.completed_requests {
        return;
    }
    let mut samples = std::mem::take(&mut known.samples);
    samples.extend(event.samples);
    *known = SimulationStatus { samples, ..event };
}

impl Default for DashboardState {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SimulationModes, SimulationRequest};

    fn status(id: &str, state: SimulationState, completed_requests: u64, samples: usize) -> SimulationStatus {
        SimulationStatus {
            id: id.to_owned(),
            state,
            settings: SimulationRequest {
                virtual_users: 1,
                pages_per_user: 4,
                think_time_ms: 0,
                modes: SimulationModes::Both,
            },
            database: "sqlite".to_owned(),
            simulated_db_latency_ms: 0,
            planned_requests: 8,
            completed_requests,
            started_at_ms: 0,
            finished_at_ms: None,
            message: None,
            results: Vec::new(),
            samples: (0..samples)
                .map(|at| crate::model::SimulationSample {
                    at_ms: at as u64,
                    mode: Mode::Stateful,
                    queries_per_second: 0.0,
                    requests_per_second: 0.0,
                    auth: Default::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn progress_appends_samples() {
        let mut current = Some(status("a", SimulationState::Running, 0, 0));
        merge_simulation_status(&mut current, status("a", SimulationState::Running, 2, 1));
        merge_simulation_status(&mut current, status("a", SimulationState::Running, 4, 1));
        let merged = current.unwrap();
        assert_eq!(merged.completed_requests, 4);
        assert_eq!(merged.samples.len(), 2);
    }

    #[test]
    fn late_start_answer_keeps_finished_run() {
        let mut current = None;
        merge_simulation_status(&mut current, status("a", SimulationState::Finished, 8, 3));
        merge_simulation_status(&mut current, status("a", SimulationState::Running, 0, 0));
        let merged = current.unwrap();
        assert_eq!(merged.state, SimulationState::Finished);
        assert_eq!(merged.completed_requests, 8);
        assert_eq!(merged.samples.len(), 3);
    }

    #[test]
    fn late_start_answer_keeps_progress() {
        let mut current = Some(status("a", SimulationState::Running, 6, 2));
        merge_simulation_status(&mut current, status("a", SimulationState::Running, 0, 0));
        let merged = current.unwrap();
        assert_eq!(merged.completed_requests, 6);
        assert_eq!(merged.samples.len(), 2);
    }

    #[test]
    fn new_run_replaces_old_one() {
        let mut current = Some(status("a", SimulationState::Finished, 8, 3));
        merge_simulation_status(&mut current, status("b", SimulationState::Running, 0, 0));
        let merged = current.unwrap();
        assert_eq!(merged.id, "b");
        assert_eq!(merged.state, SimulationState::Running);
        assert!(merged.samples.is_empty());
    }
}
