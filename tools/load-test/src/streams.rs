//! Opening the live streams and reading their events until the run ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::delivery::DeliveryTracker;
use crate::server::{unix_millis, Server, Visitor};

/// The fields of a `log` event that matching needs.
#[derive(Deserialize)]
struct LogEventData {
    path: String,
    at_ms: u64,
}

/// Stream counters, updated by every reader task.
#[derive(Default)]
pub struct StreamStats {
    opened: AtomicU64,
    open_errors: Mutex<BTreeMap<String, u64>>,
    ended_early: AtomicU64,
    read_errors: AtomicU64,
    events: AtomicU64,
    log_events: AtomicU64,
    lagged_events: AtomicU64,
    skipped_events: AtomicU64,
}

/// Stream counts for the report.
#[derive(Debug, Serialize)]
pub struct StreamSummary {
    pub requested: u64,
    pub opened: u64,
    /// Streams that failed to open, by reason.
    pub open_errors: BTreeMap<String, u64>,
    /// Streams the server closed before the run ended.
    pub ended_early: u64,
    /// Streams that broke with a read or parse error.
    pub read_errors: u64,
    /// All events, including the first `counters` event of each stream.
    pub events_received: u64,
    pub log_events: u64,
    /// `lagged` events: the server skipped events because this client fell behind.
    pub lagged_events: u64,
    /// Events the server skipped, summed over the `lagged` events.
    pub events_skipped: u64,
}

impl StreamStats {
    /// Returns the counts, with `requested` streams asked for.
    pub fn summary(&self, requested: u64) -> StreamSummary {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StreamSummary {
            requested,
            opened: load(&self.opened),
            open_errors: self
                .open_errors
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
            ended_early: load(&self.ended_early),
            read_errors: load(&self.read_errors),
            events_received: load(&self.events),
            log_events: load(&self.log_events),
            lagged_events: load(&self.lagged_events),
            events_skipped: load(&self.skipped_events),
        }
    }

    fn count_open_error(&self, reason: String) {
        let mut errors = self
            .open_errors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *errors.entry(reason).or_default() += 1;
    }
}

/// State shared by every stream reader.
pub struct StreamContext {
    pub server: Arc<Server>,
    pub visitors: Arc<Vec<Visitor>>,
    pub tracker: Arc<DeliveryTracker>,
    pub stats: Arc<StreamStats>,
    /// Becomes true when the run is over and the readers should stop.
    pub shutdown: watch::Receiver<bool>,
    /// Maximum wait for a stream's first event.
    pub first_event_timeout: Duration,
}

/// Opens `count` streams, `concurrency` at a time, and returns their reader tasks. A stream
/// counts as open once its first event (`counters`) has arrived.
pub async fn open_all(
    context: Arc<StreamContext>,
    count: usize,
    concurrency: usize,
) -> Vec<JoinHandle<()>> {
    futures::stream::iter(0..count)
        .map(|stream| open_one(Arc::clone(&context), stream))
        .buffer_unordered(concurrency)
        .filter_map(|reader| async move { reader })
        .collect()
        .await
}

async fn open_one(context: Arc<StreamContext>, stream: usize) -> Option<JoinHandle<()>> {
    let visitor = &context.visitors[context.tracker.visitor_of_stream(stream)];
    let response = match context.server.open_events(visitor).await {
        Ok(response) => response,
        Err(error) => {
            context.stats.count_open_error(error.label());
            return None;
        }
    };
    let mut events = Box::pin(response.bytes_stream().eventsource());
    let first = tokio::time::timeout(context.first_event_timeout, events.next()).await;
    match first {
        Ok(Some(Ok(event))) => handle_event(&context, stream, &event),
        Ok(Some(Err(_))) => {
            context
                .stats
                .count_open_error("first event failed".to_owned());
            return None;
        }
        Ok(None) => {
            context
                .stats
                .count_open_error("closed before the first event".to_owned());
            return None;
        }
        Err(_) => {
            context
                .stats
                .count_open_error("first event timed out".to_owned());
            return None;
        }
    }
    context.stats.opened.fetch_add(1, Ordering::Relaxed);
    context.tracker.set_open(stream, true);
    Some(tokio::spawn(read_events(context, stream, events)))
}

async fn read_events<S, E>(
    context: Arc<StreamContext>,
    stream: usize,
    mut events: std::pin::Pin<Box<S>>,
) where
    S: Stream<Item = Result<Event, E>> + Send + ?Sized,
{
    let mut shutdown = context.shutdown.clone();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|closing| *closing) => break,
            item = events.next() => match item {
                Some(Ok(event)) => handle_event(&context, stream, &event),
                Some(Err(_)) => {
                    context.stats.read_errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                None => {
                    context.stats.ended_early.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            },
        }
    }
    context.tracker.set_open(stream, false);
}

fn handle_event(context: &StreamContext, stream: usize, event: &Event) {
    let arrived = Instant::now();
    let stats = &context.stats;
    stats.events.fetch_add(1, Ordering::Relaxed);
    match event.event.as_str() {
        "log" => {
            stats.log_events.fetch_add(1, Ordering::Relaxed);
            match serde_json::from_str::<LogEventData>(&event.data) {
                Ok(line) => context.tracker.on_log_event(
                    stream,
                    &line.path,
                    line.at_ms,
                    arrived,
                    unix_millis(),
                ),
                Err(_) => {
                    stats.read_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        "lagged" => {
            stats.lagged_events.fetch_add(1, Ordering::Relaxed);
            let skipped = event.data.trim().parse::<u64>().unwrap_or(0);
            stats.skipped_events.fetch_add(skipped, Ordering::Relaxed);
        }
        _ => {}
    }
}
