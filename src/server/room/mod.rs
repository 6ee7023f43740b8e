//! The workshop room: the participants who joined from the dashboard, the room's totals per
//! mode, its DB load second by second, the latest page requests of everyone, and the mode and
//! rounds that the presenter sets.
//!
//! The room counts only participants' page requests, so the virtual users of a simulation and
//! clients such as curl stay out of it. Summaries go out on a watch channel at most once per
//! [`SUMMARY_EVERY`], and the presenter's full snapshots at most once per [`SNAPSHOT_EVERY`],
//! so a busy room costs the live streams a bounded number of events.

pub mod presenter;
pub mod routes;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::model::room::{
    LoadSample, ModeTotals, Round, RoomActivity, RoomSnapshot, RoomSummary, LOAD_WINDOW_SECS,
};
use crate::model::{LogLine, Mode};
use crate::server::activity::unix_millis;
use crate::server::visitor::VisitorId;

/// How often the presenter's snapshot is rebuilt while the room changes.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(250);

/// How often participants receive the room's summary while it changes.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(1);

/// Page requests that the presenter's activity list keeps.
const RECENT_ACTIVITY: usize = 12;

/// Seconds over which the DB hits per second are averaged.
const RATE_WINDOW_SECS: u64 = 5;

/// Room streams that browsers without the presenter key may hold at once, such as a second
/// screen that shows the presenter view.
const MAX_VIEWER_STREAMS: usize = 16;

/// Room streams kept for browsers with the presenter key, so that viewers cannot take them all.
const MAX_PRESENTER_STREAMS: usize = 8;

/// The error of a join past the participant cap, with the cap.
#[derive(Debug, PartialEq, Eq)]
pub struct RoomFull(pub usize);

struct Participant {
    name: String,
    used: [bool; 2],
    /// Successful page requests in the current round.
    round_requests: u32,
}

#[derive(Default)]
struct RoomState {
    participants: HashMap<VisitorId, Participant>,
    mode: Option<Mode>,
    requests: [u64; 2],
    db_hits: [u64; 2],
    /// One sample per second, oldest first.
    load: VecDeque<LoadSample>,
    recent: VecDeque<RoomActivity>,
    /// Number of the latest entry in `recent`, counted since the server started.
    activity_seq: u64,
    round: Option<Round>,
    rounds_started: u32,
    resets: u64,
}

/// The room of one server.
pub struct Room {
    state: Mutex<RoomState>,
    max_participants: usize,
    changed: AtomicBool,
    summary: watch::Sender<Arc<RoomSummary>>,
    snapshot: watch::Sender<Arc<RoomSnapshot>>,
    viewer_streams: Arc<Semaphore>,
    presenter_streams: Arc<Semaphore>,
}

fn index(mode: Mode) -> usize {
    match mode {
        Mode::Stateful => 0,
        Mode::Jwt => 1,
    }
}

impl Room {
    /// Creates an empty room that admits `max_participants`.
    pub fn new(max_participants: usize) -> Self {
        Self {
            state: Mutex::new(RoomState::default()),
            max_participants,
            changed: AtomicBool::new(false),
            summary: watch::channel(Arc::new(RoomSummary::default())).0,
            snapshot: watch::channel(Arc::new(RoomSnapshot::default())).0,
            viewer_streams: Arc::new(Semaphore::new(MAX_VIEWER_STREAMS)),
            presenter_streams: Arc::new(Semaphore::new(MAX_PRESENTER_STREAMS)),
        }
    }

    /// Takes a room stream slot, from the presenter's own slots when `presenter` is true, or
    /// returns how many slots of that kind there are when all are taken.
    pub fn open_stream(&self, presenter: bool) -> Result<OwnedSemaphorePermit, usize> {
        let (slots, max) = if presenter {
            (&self.presenter_streams, MAX_PRESENTER_STREAMS)
        } else {
            (&self.viewer_streams, MAX_VIEWER_STREAMS)
        };
        Arc::clone(slots).try_acquire_owned().map_err(|_| max)
    }

    fn lock(&self) -> MutexGuard<'_, RoomState> {
        // Every update leaves the state consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds `visitor` to the room as `name`, or renames it when it already joined.
    pub fn join(&self, visitor: &VisitorId, name: String) -> Result<RoomSummary, RoomFull> {
        let mut state = self.lock();
        let is_full = state.participants.len() >= self.max_participants;
        match state.participants.get_mut(visitor) {
            Some(participant) => participant.name = name,
            None if is_full => return Err(RoomFull(self.max_participants)),
            None => {
                let participant = Participant {
                    name,
                    used: [false; 2],
                    round_requests: 0,
                };
                state.participants.insert(visitor.clone(), participant);
            }
        }
        self.changed.store(true, Ordering::Release);
        Ok(summary_of(&state, unix_millis()))
    }

    /// Removes `visitor` from the room, as when it logs out.
    pub fn leave(&self, visitor: &VisitorId) {
        if self.lock().participants.remove(visitor).is_some() {
            self.changed.store(true, Ordering::Release);
        }
    }

    /// Counts a page request of `visitor`, if it is a participant.
    pub fn record_page_request(&self, visitor: &VisitorId, mode: Mode, db_hits: u64, line: &LogLine) {
        let mut state = self.lock();
        let round_target = state
            .round
            .filter(|round| line.at_ms >= round.started_at_ms && line.at_ms < round.ends_at_ms)
            .map(|round| round.requests_each);
        let Some(participant) = state.participants.get_mut(visitor) else {
            return;
        };
        participant.used[index(mode)] = true;
        let mut finished_round = false;
        if let Some(target) = round_target.filter(|_| line.status < 400) {
            participant.round_requests += 1;
            finished_round = participant.round_requests == target;
        }
        let name = participant.name.clone();
        if finished_round {
            if let Some(round) = state.round.as_mut() {
                round.participants_done += 1;
            }
        }

        state.requests[index(mode)] += 1;
        state.db_hits[index(mode)] += db_hits;
        add_to_load(&mut state.load, line.at_ms, mode, db_hits);
        state.activity_seq += 1;
        let seq = state.activity_seq;
        state.recent.push_front(RoomActivity {
            seq,
            at_ms: line.at_ms,
            participant: name,
            mode,
            path: line.path.clone(),
            status: line.status,
            db_hits,
        });
        state.recent.truncate(RECENT_ACTIVITY);
        self.changed.store(true, Ordering::Release);
    }

    /// Switches the whole room to `mode`.
    pub fn set_mode(&self, mode: Mode) -> RoomSummary {
        let mut state = self.lock();
        state.mode = Some(mode);
        self.changed.store(true, Ordering::Release);
        summary_of(&state, unix_millis())
    }

    /// Starts a round that requests `requests_each` page requests from every participant
    /// within `seconds`, replacing any round still running.
    pub fn start_round(&self, requests_each: u32, seconds: u32) -> RoomSummary {
        let now = unix_millis();
        let mut state = self.lock();
        state.rounds_started += 1;
        state.round = Some(Round {
            number: state.rounds_started,
            requests_each,
            started_at_ms: now,
            ends_at_ms: now + u64::from(seconds) * 1000,
            participants_done: 0,
        });
        for participant in state.participants.values_mut() {
            participant.round_requests = 0;
        }
        self.changed.store(true, Ordering::Release);
        summary_of(&state, now)
    }

    /// Empties the room and zeroes its totals, load, activity and round. The dashboards that
    /// are still open join again when their stream brings the new reset count, so the room
    /// keeps the people in it and loses visitors who left.
    pub fn reset(&self) -> RoomSummary {
        let mut state = self.lock();
        *state = RoomState {
            resets: state.resets + 1,
            activity_seq: state.activity_seq,
            rounds_started: state.rounds_started,
            ..RoomState::default()
        };
        self.changed.store(true, Ordering::Release);
        summary_of(&state, unix_millis())
    }

    /// Returns the room at a glance, now.
    pub fn summary(&self) -> RoomSummary {
        summary_of(&self.lock(), unix_millis())
    }

    /// Returns everything the presenter view shows, now.
    pub fn snapshot(&self) -> RoomSnapshot {
        let now = unix_millis();
        let state = self.lock();
        RoomSnapshot {
            summary: summary_of(&state, now),
            load: load_window(&state.load, now),
            recent: state.recent.iter().cloned().collect(),
        }
    }

    /// Returns a receiver of the summaries that participants' streams send.
    pub fn watch_summary(&self) -> watch::Receiver<Arc<RoomSummary>> {
        self.summary.subscribe()
    }

    /// Returns a receiver of the presenter's snapshots.
    pub fn watch_snapshot(&self) -> watch::Receiver<Arc<RoomSnapshot>> {
        self.snapshot.subscribe()
    }

    /// Publishes snapshots and summaries while the room changes, until the task is aborted.
    /// A second of quiet is published too, so that rates and the chart fall back to zero.
    pub async fn publish(self: Arc<Self>) {
        let mut ticker = tokio::time::interval(SNAPSHOT_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ticks_per_summary = (SUMMARY_EVERY.as_millis() / SNAPSHOT_EVERY.as_millis()).max(1) as u32;
        let mut tick: u32 = 0;
        let mut summary_due = false;
        // Rates and the round's countdown move with time, so the room is published for a
        // while after its last change.
        let mut quiet_ticks_left: u32 = 0;
        loop {
            ticker.tick().await;
            tick = tick.wrapping_add(1);
            if self.changed.swap(false, Ordering::AcqRel) {
                summary_due = true;
                quiet_ticks_left = (RATE_WINDOW_SECS as u32 + 1) * ticks_per_summary;
            }
            let round_running = self.lock().round.is_some_and(|round| unix_millis() < round.ends_at_ms + 1000);
            if quiet_ticks_left == 0 && !round_running {
                continue;
            }
            quiet_ticks_left = quiet_ticks_left.saturating_sub(1);
            self.snapshot.send_replace(Arc::new(self.snapshot()));
            if (summary_due || round_running) && tick.is_multiple_of(ticks_per_summary) {
                summary_due = false;
                self.summary.send_replace(Arc::new(self.summary()));
            }
        }
    }
}

fn add_to_load(load: &mut VecDeque<LoadSample>, at_ms: u64, mode: Mode, db_hits: u64) {
    let second = at_ms - at_ms % 1000;
    if load.back().is_none_or(|sample| sample.at_ms < second) {
        load.push_back(LoadSample {
            at_ms: second,
            ..LoadSample::default()
        });
    }
    // A request logged a little late may belong to an earlier second that is still kept.
    let Some(sample) = load.iter_mut().rev().find(|sample| sample.at_ms <= second) else {
        return;
    };
    match mode {
        Mode::Stateful => {
            sample.stateful_db_hits += db_hits;
            sample.stateful_requests += 1;
        }
        Mode::Jwt => {
            sample.jwt_db_hits += db_hits;
            sample.jwt_requests += 1;
        }
    }
    while load.len() > LOAD_WINDOW_SECS {
        load.pop_front();
    }
}

/// Returns one sample per second of the last [`LOAD_WINDOW_SECS`] seconds up to `now_ms`,
/// with zeros for quiet seconds.
fn load_window(load: &VecDeque<LoadSample>, now_ms: u64) -> Vec<LoadSample> {
    let current = now_ms - now_ms % 1000;
    let first = current.saturating_sub((LOAD_WINDOW_SECS as u64 - 1) * 1000);
    (0..LOAD_WINDOW_SECS as u64)
        .map(|offset| first + offset * 1000)
        .map(|at_ms| {
            load.iter()
                .find(|sample| sample.at_ms == at_ms)
                .copied()
                .unwrap_or(LoadSample { at_ms, ..LoadSample::default() })
        })
        .collect()
}

fn summary_of(state: &RoomState, now_ms: u64) -> RoomSummary {
    let since = now_ms.saturating_sub(RATE_WINDOW_SECS * 1000);
    let recent_hits = |pick: fn(&LoadSample) -> u64| -> f64 {
        let hits: u64 = state.load.iter().filter(|sample| sample.at_ms >= since).map(pick).sum();
        hits as f64 / RATE_WINDOW_SECS as f64
    };
    let totals = |mode: Mode, pick: fn(&LoadSample) -> u64| ModeTotals {
        participants: state.participants.values().filter(|participant| participant.used[index(mode)]).count() as u32,
        requests: state.requests[index(mode)],
        db_hits: state.db_hits[index(mode)],
        db_hits_per_sec: recent_hits(pick),
    };
    RoomSummary {
        participants: state.participants.len() as u32,
        mode: state.mode,
        stateful: totals(Mode::Stateful, |sample| sample.stateful_db_hits),
        jwt: totals(Mode::Jwt, |sample| sample.jwt_db_hits),
        round: state.round,
        resets: state.resets,
        server_now_ms: now_ms,
    }
}
