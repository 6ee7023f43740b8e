//! Per-visitor counters and broadcast channels for live events.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{broadcast, watch, OwnedSemaphorePermit, Semaphore};

use super::history::{RequestHistory, RequestTiming};
use crate::model::{Counters, LogLine, Mode, SimulationStatus, Stats};
use crate::server::visitor::VisitorId;

/// Events buffered per visitor for its slowest stream. A stream that falls further behind
/// skips the oldest events instead of holding up the server.
const EVENTS_PER_VISITOR: usize = 256;

/// Visitors whose counters are kept. Past this, the least recently active visitors without
/// an open stream are forgotten.
const MAX_VISITORS: usize = 20_000;

/// One event of a visitor's live stream. The payloads sit behind `Arc`s, so a channel slot
/// is two words rather than a whole log line or stats, and each of a visitor's streams shares
/// one copy.
#[derive(Clone, Debug)]
pub enum LiveEvent {
    Log(Arc<LogLine>),
    Counters(Arc<Stats>),
    Simulation(Arc<SimulationStatus>),
}

struct VisitorChannel {
    counters: Counters,
    history: RequestHistory,
    /// Created when the visitor opens its first stream, because a channel allocates all its
    /// slots up front and most visitors (curl, virtual users) never listen.
    sender: Option<broadcast::Sender<LiveEvent>>,
    open_streams: usize,
    last_active: Instant,
}

impl VisitorChannel {
    fn new() -> Self {
        Self {
            counters: Counters::default(),
            history: RequestHistory::default(),
            sender: None,
            open_streams: 0,
            last_active: Instant::now(),
        }
    }
}

#[derive(Default)]
struct HubState {
    visitors: HashMap<VisitorId, VisitorChannel>,
    /// Open streams per client IP address, counting only streams requested without a visitor
    /// cookie.
    cookieless_streams: HashMap<IpAddr, usize>,
    server: Counters,
}

/// The limit that kept a stream from opening.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamLimit {
    Server(usize),
    Visitor(usize),
    /// The cap on streams opened without a visitor cookie from one client address. Each such
    /// request is a new visitor, so the per-visitor cap alone would not hold it back.
    CookielessAddress(usize),
}

/// Counters and live events of all visitors.
pub struct LiveHub {
    state: Mutex<HubState>,
    next_seq: AtomicU64,
    stream_permits: Arc<Semaphore>,
    max_streams: usize,
    max_streams_per_visitor: usize,
    shutdown: watch::Sender<bool>,
}

/// A newly opened stream: its receiver, the counters to show first, and its hold on the limits.
pub struct Subscription {
    pub receiver: broadcast::Receiver<LiveEvent>,
    pub initial: Stats,
    pub shutdown: watch::Receiver<bool>,
    pub guard: StreamGuard,
}

/// An open stream's hold on the stream limits, released on drop.
pub struct StreamGuard {
    hub: Arc<LiveHub>,
    visitor: VisitorId,
    /// The client address, when the stream was opened without a visitor cookie.
    cookieless_address: Option<IpAddr>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        if let Some(channel) = state.visitors.get_mut(&self.visitor) {
            channel.open_streams = channel.open_streams.saturating_sub(1);
        }
        if let Some(address) = self.cookieless_address {
            if let Some(open) = state.cookieless_streams.get_mut(&address) {
                *open = open.saturating_sub(1);
                if *open == 0 {
                    state.cookieless_streams.remove(&address);
                }
            }
        }
    }
}

impl LiveHub {
    pub fn new(max_streams: usize, max_streams_per_visitor: usize) -> Self {
        Self {
            state: Mutex::new(HubState::default()),
            next_seq: AtomicU64::new(first_sequence_number()),
            stream_permits: Arc::new(Semaphore::new(max_streams)),
            max_streams,
            max_streams_per_visitor,
            shutdown: watch::channel(false).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        // Every update below leaves the maps consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns the counters of `visitor` and of the whole server.
    pub fn stats(&self, visitor: &VisitorId) -> Stats {
        let state = self.lock();
        match state.visitors.get(visitor) {
            Some(channel) => stats_of(channel, state.server),
            None => Stats {
                server: state.server,
                ..Stats::default()
            },
        }
    }

    /// Adds one page request in `mode` that ran `db_hits` statements, then sends `line` and the
    /// new counters to the visitor's streams.
    pub fn record_page_request(&self, visitor: &VisitorId, mode: Mode, db_hits: u64, line: LogLine) {
        let timing = RequestTiming {
            auth_us: line.auth_us.unwrap_or(0),
            total_us: line.total_us,
            credential_bytes: line.credential_bytes.unwrap_or(0),
        };
        self.publish(visitor, line, |channel| {
            channel.counters.db_hits += db_hits;
            match mode {
                Mode::Stateful => channel.counters.stateful_requests += 1,
                Mode::Jwt => channel.counters.jwt_requests += 1,
            }
            channel.history.record(mode, db_hits, timing);
        });
    }

    /// Adds the `db_hits` statements of one token refresh, then sends `line` and the new
    /// counters to the visitor's streams.
    pub fn record_token_refresh(&self, visitor: &VisitorId, db_hits: u64, line: LogLine) {
        self.publish(visitor, line, |channel| channel.counters.db_hits += db_hits);
    }

    /// Sends `line` to the visitor's streams without changing any counter.
    pub fn record_other_request(&self, visitor: &VisitorId, line: LogLine) {
        self.publish(visitor, line, |_| {});
    }

    /// Zeroes the visitor's counters and history (the server totals keep what they counted)
    /// and sends the new counters to the visitor's streams.
    pub fn reset(&self, visitor: &VisitorId) {
        let mut state = self.lock();
        let server = state.server;
        let Some(channel) = state.visitors.get_mut(visitor) else {
            return;
        };
        channel.counters = Counters::default();
        channel.history = RequestHistory::default();
        let Some(sender) = channel.sender.clone() else {
            return;
        };
        drop(state);
        let _ = sender.send(LiveEvent::Counters(Arc::new(Stats {
            server,
            ..Stats::default()
        })));
    }

    /// Sends a simulation's progress to the visitor's streams.
    pub fn send_simulation(&self, visitor: &VisitorId, status: SimulationStatus) {
        let state = self.lock();
        if let Some(channel) = state.visitors.get(visitor) {
            if let Some(sender) = &channel.sender {
                let _ = sender.send(LiveEvent::Simulation(Arc::new(status)));
            }
        }
    }

    fn publish(&self, visitor: &VisitorId, mut line: LogLine, update: impl FnOnce(&mut VisitorChannel)) {
        line.seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        if !state.visitors.contains_key(visitor) {
            evict_idle_visitors(&mut state);
        }
        let channel = state.visitors.entry(visitor.clone()).or_insert_with(VisitorChannel::new);
        let before = channel.counters;
        update(channel);
        let after = channel.counters;
        channel.last_active = Instant::now();
        let sender = channel.sender.clone();
        let watched = channel.open_streams > 0;

        state.server.db_hits += after.db_hits.saturating_sub(before.db_hits);
        state.server.stateful_requests += after.stateful_requests.saturating_sub(before.stateful_requests);
        state.server.jwt_requests += after.jwt_requests.saturating_sub(before.jwt_requests);
        let Some(sender) = sender.filter(|_| watched) else {
            // No stream is open (a curl client or a virtual user), so the summaries are skipped.
            return;
        };
        let stats = state
            .visitors
            .get(visitor)
            .map(|channel| stats_of(channel, state.server))
            .unwrap_or_default();
        drop(state);

        // A send fails only when the last stream closed meanwhile. The counters are kept either way.
        let _ = sender.send(LiveEvent::Log(Arc::new(line)));
        let _ = sender.send(LiveEvent::Counters(Arc::new(stats)));
    }

    /// Opens a stream for `visitor` within the server-wide and per-visitor limits.
    /// `cookieless_address` is the client's address when the request had no visitor cookie;
    /// such streams are also capped per address, at the per-visitor maximum.
    pub fn subscribe(
        self: &Arc<Self>,
        visitor: &VisitorId,
        cookieless_address: Option<IpAddr>,
    ) -> Result<Subscription, StreamLimit> {
        let permit = Arc::clone(&self.stream_permits)
            .try_acquire_owned()
            .map_err(|_| StreamLimit::Server(self.max_streams))?;

        let mut state = self.lock();
        if !state.visitors.contains_key(visitor) {
            evict_idle_visitors(&mut state);
        }
        if let Some(address) = cookieless_address {
            let open = state.cookieless_streams.get(&address).copied().unwrap_or(0);
            if open >= self.max_streams_per_visitor {
                return Err(StreamLimit::CookielessAddress(self.max_streams_per_visitor));
            }
        }
        let server = state.server;
        let channel = state.visitors.entry(visitor.clone()).or_insert_with(VisitorChannel::new);
        if channel.open_streams >= self.max_streams_per_visitor {
            return Err(StreamLimit::Visitor(self.max_streams_per_visitor));
        }
        channel.open_streams += 1;
        channel.last_active = Instant::now();
        let receiver = channel
            .sender
            .get_or_insert_with(|| broadcast::channel(EVENTS_PER_VISITOR).0)
            .subscribe();
        let initial = stats_of(channel, server);
        if let Some(address) = cookieless_address {
            *state.cookieless_streams.entry(address).or_insert(0) += 1;
        }
        drop(state);

        Ok(Subscription {
            receiver,
            initial,
            shutdown: self.shutdown.subscribe(),
            guard: StreamGuard {
                hub: Arc::clone(self),
                visitor: visitor.clone(),
                cookieless_address,
                _permit: permit,
            },
        })
    }

    /// Returns a receiver that turns true when the server shuts down, for streams outside the hub.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Ends every open stream, so that a graceful shutdown does not wait for browsers.
    pub fn close_streams(&self) {
        self.shutdown.send_replace(true);
    }
}

fn stats_of(channel: &VisitorChannel, server: Counters) -> Stats {
    Stats {
        visitor: channel.counters,
        server,
        comparison: channel.history.comparison(),
    }
}

/// Returns a start for log line numbers that is higher than any a previous run of the server
/// handed out (unless the clock went back), so that a browser that stays open across a restart
/// never sees two lines with one number. A thousand lines per millisecond of uptime fit in
/// between, and the result stays below 2^53, so JavaScript reads it exactly.
fn first_sequence_number() -> u64 {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(0))
        .unwrap_or(0);
    millis.saturating_mul(1000)
}

fn evict_idle_visitors(state: &mut HubState) {
    if state.visitors.len() < MAX_VISITORS {
        return;
    }
    // Forget the idlest tenth of the visitors that have no open stream.
    let mut idle: Vec<(Instant, VisitorId)> = state
        .visitors
        .iter()
        .filter(|(_, channel)| channel.open_streams == 0)
        .map(|(visitor, channel)| (channel.last_active, visitor.clone()))
        .collect();
    idle.sort_unstable_by_key(|(last_active, _)| *last_active);
    for (_, visitor) in idle.into_iter().take(MAX_VISITORS / 10) {
        state.visitors.remove(&visitor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(message: &str) -> LogLine {
        LogLine {
            seq: 0,
            at_ms: 0,
            method: "GET".into(),
            path: "/".into(),
            mode: None,
            statements: Vec::new(),
            counted: false,
            auth_us: None,
            credential_bytes: None,
            status: 200,
            total_us: 0,
            message: message.into(),
            service: None,
        }
    }

    #[test]
    fn page_requests_update_visitor_and_server() {
        let hub = LiveHub::new(10, 2);
        let alice = VisitorId::generate();
        let bob = VisitorId::generate();
        hub.record_page_request(&alice, Mode::Stateful, 1, line("a"));
        hub.record_page_request(&alice, Mode::Jwt, 0, line("b"));
        hub.record_page_request(&bob, Mode::Stateful, 1, line("c"));

        let stats = hub.stats(&alice);
        assert_eq!(stats.visitor, Counters { db_hits: 1, stateful_requests: 1, jwt_requests: 1 });
        assert_eq!(stats.server, Counters { db_hits: 2, stateful_requests: 2, jwt_requests: 1 });
    }

    #[test]
    fn reset_zeroes_only_the_visitor() {
        let hub = LiveHub::new(10, 2);
        let alice = VisitorId::generate();
        hub.record_page_request(&alice, Mode::Stateful, 1, line("a"));
        hub.reset(&alice);

        let stats = hub.stats(&alice);
        assert_eq!(stats.visitor, Counters::default());
        assert_eq!(stats.server.db_hits, 1);
    }

    #[tokio::test]
    async fn subscribers_receive_log_then_counters() {
        let hub = Arc::new(LiveHub::new(10, 2));
        let alice = VisitorId::generate();
        let mut subscription = hub.subscribe(&alice, None).unwrap();
        hub.record_page_request(&alice, Mode::Jwt, 0, line("served"));

        let LiveEvent::Log(first) = subscription.receiver.recv().await.unwrap() else {
            panic!("expected a log event first");
        };
        assert_eq!(first.message, "served");
        let LiveEvent::Counters(stats) = subscription.receiver.recv().await.unwrap() else {
            panic!("expected a counters event second");
        };
        assert_eq!(stats.visitor.jwt_requests, 1);
    }

    #[test]
    fn stream_limits_apply_per_visitor_and_server() {
        let hub = Arc::new(LiveHub::new(3, 2));
        let alice = VisitorId::generate();
        let bob = VisitorId::generate();
        let _a1 = hub.subscribe(&alice, None).unwrap();
        let a2 = hub.subscribe(&alice, None).unwrap();
        assert_eq!(hub.subscribe(&alice, None).err(), Some(StreamLimit::Visitor(2)));

        let _b1 = hub.subscribe(&bob, None).unwrap();
        assert_eq!(hub.subscribe(&bob, None).err(), Some(StreamLimit::Server(3)));

        drop(a2);
        assert!(hub.subscribe(&alice, None).is_ok());
    }

    #[test]
    fn cookieless_streams_are_capped_per_address() {
        let hub = Arc::new(LiveHub::new(10, 2));
        let address: IpAddr = [192, 0, 2, 1].into();
        let other_address: IpAddr = [192, 0, 2, 2].into();
        let first = hub.subscribe(&VisitorId::generate(), Some(address)).unwrap();
        let _second = hub.subscribe(&VisitorId::generate(), Some(address)).unwrap();

        let third = hub.subscribe(&VisitorId::generate(), Some(address));
        assert_eq!(third.err(), Some(StreamLimit::CookielessAddress(2)));
        assert!(hub.subscribe(&VisitorId::generate(), Some(other_address)).is_ok());
        assert!(hub.subscribe(&VisitorId::generate(), None).is_ok());

        drop(first);
        assert!(hub.subscribe(&VisitorId::generate(), Some(address)).is_ok());
    }
}
