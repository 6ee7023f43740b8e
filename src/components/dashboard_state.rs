//! The dashboard's reactive state, shared by its components through context.

use leptos::prelude::*;

use crate::model::{LogLine, Mode, PageResponse, ServerInfo, SimulationStatus, Stats, User, PAGES};

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
    /// Takes in a simulation event. Progress events carry only the newest chart point, and the
    /// final event carries all of them.
    pub fn merge_simulation(&self, event: SimulationStatus) {
        let running = event.state == crate::model::SimulationState::Running;
        self.simulation.update(|current| match current {
            Some(known) if known.id == event.id && running => {
                let mut samples = std::mem::take(&mut known.samples);
                samples.extend(event.samples.iter().cloned());
                *known = SimulationStatus { samples, ..event };
            }
            _ => *current = Some(event),
        });
    }
}

impl Default for DashboardState {
    fn default() -> Self {
        Self::new()
    }
}
