//! Matching live `log` events to the page requests that caused them.
//!
//! Each visitor's stream carries only that visitor's events, and a `log` event names the
//! request path. So when a visitor sends `GET path`, every stream of that visitor expects one
//! `log` event with that path, and the oldest such expectation is the one an arriving event
//! fulfils.
//!
//! NOTE: two requests of one visitor to the same path that overlap in time can be matched the
//! wrong way round. With one request per visitor every few seconds, as in the default run,
//! they do not overlap.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::latency::{LatencyHistogram, LatencySummary};

/// Path prefixes of the page routes whose events are matched.
const PAGE_PATH_PREFIXES: [&str; 2] = ["/api/stateful/pages/", "/api/jwt/pages/"];

struct Expected {
    path: String,
    sent: Instant,
}

/// Expected events per stream, and the delivery latencies of the events that arrived.
pub struct DeliveryTracker {
    streams_of_visitor: Vec<Vec<usize>>,
    /// Whether each stream is open and reading. Only open streams expect events.
    open: Vec<AtomicBool>,
    expected: Vec<Mutex<VecDeque<Expected>>>,
    /// From the request being sent to its event arriving on the stream.
    from_send: LatencyHistogram,
    /// From the server's timestamp in the event (`at_ms`) to its arrival, in whole milliseconds.
    from_server_log: LatencyHistogram,
    matched: AtomicU64,
    unexpected_page_events: AtomicU64,
    other_log_events: AtomicU64,
}

/// Counts and latencies of the matched events.
#[derive(Debug, Serialize)]
pub struct DeliverySummary {
    /// Page-request events that arrived on a stream that expected them.
    pub page_events_matched: u64,
    /// Expected page-request events that had not arrived when the run ended.
    pub page_events_missing: u64,
    /// Page-request events that no stream expected.
    pub page_events_unexpected: u64,
    /// `log` events of other requests, such as token refreshes.
    pub other_log_events: u64,
    /// Request sent to event arrival.
    pub latency_from_send: LatencySummary,
    /// The event's server timestamp (`at_ms`, millisecond resolution) to its arrival.
    pub latency_from_server_log: LatencySummary,
}

impl DeliveryTracker {
    /// Creates a tracker for `stream_count` streams, stream `s` belonging to visitor
    /// `s % visitor_count`.
    pub fn new(stream_count: usize, visitor_count: usize) -> Self {
        let mut streams_of_visitor = vec![Vec::new(); visitor_count];
        for stream in 0..stream_count {
            streams_of_visitor[stream % visitor_count].push(stream);
        }
        Self {
            streams_of_visitor,
            open: (0..stream_count).map(|_| AtomicBool::new(false)).collect(),
            expected: (0..stream_count)
                .map(|_| Mutex::new(VecDeque::new()))
                .collect(),
            from_send: LatencyHistogram::new(),
            from_server_log: LatencyHistogram::new(),
            matched: AtomicU64::new(0),
            unexpected_page_events: AtomicU64::new(0),
            other_log_events: AtomicU64::new(0),
        }
    }

    /// Returns the visitor that owns `stream`.
    pub fn visitor_of_stream(&self, stream: usize) -> usize {
        stream % self.streams_of_visitor.len()
    }

    /// Marks `stream` as open or closed. Events a stream expected before it closed stay
    /// counted as missing.
    pub fn set_open(&self, stream: usize, open: bool) {
        self.open[stream].store(open, Ordering::Relaxed);
    }

    /// Notes that the visitor is sending `GET path` now, so each of its open streams expects an
    /// event for it.
    pub fn expect(&self, visitor: usize, path: &str) {
        let sent = Instant::now();
        for &stream in &self.streams_of_visitor[visitor] {
            if self.open[stream].load(Ordering::Relaxed) {
                lock(&self.expected[stream]).push_back(Expected {
                    path: path.to_owned(),
                    sent,
                });
            }
        }
    }

    /// Records a `log` event for `path`, stamped `at_ms` by the server, that arrived on `stream`
    /// at `arrived` (wall clock `arrived_unix_ms`).
    pub fn on_log_event(
        &self,
        stream: usize,
        path: &str,
        at_ms: u64,
        arrived: Instant,
        arrived_unix_ms: u64,
    ) {
        if !PAGE_PATH_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
        {
            self.other_log_events.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let sent = {
            let mut expected = lock(&self.expected[stream]);
            let position = expected.iter().position(|entry| entry.path == path);
            position
                .and_then(|position| expected.remove(position))
                .map(|entry| entry.sent)
        };
        let Some(sent) = sent else {
            self.unexpected_page_events.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.matched.fetch_add(1, Ordering::Relaxed);
        self.from_send
            .record(arrived.saturating_duration_since(sent));
        self.from_server_log
            .record(Duration::from_millis(arrived_unix_ms.saturating_sub(at_ms)));
    }

    /// Returns how many expected events have not arrived yet.
    pub fn missing(&self) -> u64 {
        self.expected
            .iter()
            .map(|queue| lock(queue).len() as u64)
            .sum()
    }

    pub fn summary(&self) -> DeliverySummary {
        DeliverySummary {
            page_events_matched: self.matched.load(Ordering::Relaxed),
            page_events_missing: self.missing(),
            page_events_unexpected: self.unexpected_page_events.load(Ordering::Relaxed),
            other_log_events: self.other_log_events.load(Ordering::Relaxed),
            latency_from_send: self.from_send.summary(),
            latency_from_server_log: self.from_server_log.summary(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDERS: &str = "/api/jwt/pages/orders";

    #[test]
    fn event_matches_expected_request() {
        let tracker = DeliveryTracker::new(2, 2);
        tracker.set_open(1, true);
        tracker.expect(1, ORDERS);
        tracker.on_log_event(1, ORDERS, 0, Instant::now(), 0);
        let summary = tracker.summary();
        assert_eq!(summary.page_events_matched, 1);
        assert_eq!(summary.page_events_missing, 0);
        assert_eq!(summary.latency_from_send.count, 1);
    }

    #[test]
    fn every_stream_of_visitor_expects_event() {
        // Four streams over two visitors: visitor 0 owns streams 0 and 2.
        let tracker = DeliveryTracker::new(4, 2);
        for stream in 0..4 {
            tracker.set_open(stream, true);
        }
        tracker.expect(0, ORDERS);
        assert_eq!(tracker.missing(), 2);
        tracker.on_log_event(2, ORDERS, 0, Instant::now(), 0);
        assert_eq!(tracker.missing(), 1);
    }

    #[test]
    fn closed_streams_expect_nothing() {
        let tracker = DeliveryTracker::new(2, 1);
        tracker.set_open(0, true);
        tracker.expect(0, ORDERS);
        assert_eq!(tracker.missing(), 1);
    }

    #[test]
    fn other_and_unexpected_events_are_counted() {
        let tracker = DeliveryTracker::new(1, 1);
        tracker.on_log_event(0, "/api/token/refresh", 0, Instant::now(), 0);
        tracker.on_log_event(0, ORDERS, 0, Instant::now(), 0);
        let summary = tracker.summary();
        assert_eq!(summary.other_log_events, 1);
        assert_eq!(summary.page_events_unexpected, 1);
        assert_eq!(summary.page_events_matched, 0);
    }
}
