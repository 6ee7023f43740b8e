//! The load phase: page requests on a fixed schedule.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::cli::ModeChoice;
use crate::delivery::DeliveryTracker;
use crate::latency::{LatencyHistogram, LatencySummary};
use crate::server::{Server, Visitor};

/// The pages of the demo shop, requested in turn.
const PAGES: [&str; 5] = ["dashboard", "orders", "billing", "profile", "settings"];

/// A page route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Stateful,
    Jwt,
}

impl Route {
    fn path(self, page: &str) -> String {
        match self {
            Self::Stateful => format!("/api/stateful/pages/{page}"),
            Self::Jwt => format!("/api/jwt/pages/{page}"),
        }
    }
}

/// One scheduled request: who sends it, to which route and page.
#[derive(Debug, PartialEq, Eq)]
pub struct Planned {
    pub visitor: usize,
    pub route: Route,
    pub page: &'static str,
}

/// Returns request `n` of the run. Requests go to the visitors in turn, so each visitor sends
/// one request per round of `visitor_count` requests. Under `both`, visitor `v` uses the
/// stateful route in even rounds when `v` is even and in odd rounds when `v` is odd, so each
/// round mixes both routes and each visitor alternates between them.
pub fn plan_request(n: u64, visitor_count: usize, mode: ModeChoice) -> Planned {
    let count = visitor_count as u64;
    let visitor = (n % count) as usize;
    let round = n / count;
    let route = match mode {
        ModeChoice::Stateful => Route::Stateful,
        ModeChoice::Jwt => Route::Jwt,
        ModeChoice::Both if (visitor as u64 + round).is_multiple_of(2) => Route::Stateful,
        ModeChoice::Both => Route::Jwt,
    };
    Planned {
        visitor,
        route,
        page: PAGES[(round % PAGES.len() as u64) as usize],
    }
}

/// Outcomes of the page requests and token refreshes.
#[derive(Default)]
pub struct RequestStats {
    statuses: Mutex<BTreeMap<u16, u64>>,
    transport_errors: Mutex<BTreeMap<String, u64>>,
    refreshes: AtomicU64,
    refresh_errors: Mutex<BTreeMap<String, u64>>,
    response_latency: LatencyHistogram,
}

/// Request counts for the report.
#[derive(Debug, Serialize)]
pub struct RequestSummary {
    pub sent: u64,
    /// Time from the first request to one tick period after the last, in seconds.
    pub send_phase_secs: f64,
    /// Requests per second over the send phase.
    pub achieved_rate: f64,
    pub responses_by_status: BTreeMap<u16, u64>,
    /// Requests that got no response, by reason.
    pub transport_errors: BTreeMap<String, u64>,
    /// JWT refreshes sent before a JWT request because the token was about to expire.
    pub token_refreshes: u64,
    /// Refreshes that failed, by status or reason.
    pub refresh_errors: BTreeMap<String, u64>,
    /// From sending a page request to reading its whole response.
    pub response_latency: LatencySummary,
}

impl RequestStats {
    pub fn summary(&self, sent: u64, send_phase: Duration) -> RequestSummary {
        let seconds = send_phase.as_secs_f64();
        RequestSummary {
            sent,
            send_phase_secs: seconds,
            achieved_rate: if seconds > 0.0 {
                sent as f64 / seconds
            } else {
                0.0
            },
            responses_by_status: lock(&self.statuses).clone(),
            transport_errors: lock(&self.transport_errors).clone(),
            token_refreshes: self.refreshes.load(Ordering::Relaxed),
            refresh_errors: lock(&self.refresh_errors).clone(),
            response_latency: self.response_latency.summary(),
        }
    }
}

/// State shared by every request task.
pub struct LoadContext {
    pub server: Arc<Server>,
    pub visitors: Arc<Vec<Visitor>>,
    pub tracker: Arc<DeliveryTracker>,
    pub stats: RequestStats,
}

/// Number of requests sent and the time they took to send.
pub struct LoadOutcome {
    pub sent: u64,
    pub send_phase: Duration,
}

/// Sends `rate × duration` page requests, one per tick of a `1 / rate` interval, each in its
/// own task so that a slow response does not delay the next request. Ticks missed because the
/// process was busy fire at once afterwards (`MissedTickBehavior::Burst`), so the count of
/// requests stays fixed. Returns once every response has arrived or timed out.
pub async fn run(
    context: Arc<LoadContext>,
    rate: u32,
    duration: Duration,
    mode: ModeChoice,
) -> LoadOutcome {
    let total = u64::from(rate) * duration.as_secs();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for n in 0..total {
        ticks.tick().await;
        let planned = plan_request(n, context.visitors.len(), mode);
        tasks.spawn(send_one(Arc::clone(&context), planned));
        // Reap finished tasks as they go, so the set holds only the requests in flight.
        while tasks.try_join_next().is_some() {}
    }
    // The first tick fires at once, so the phase ends one period after the last request.
    ticks.tick().await;
    let send_phase = started.elapsed();
    while tasks.join_next().await.is_some() {}
    LoadOutcome {
        sent: total,
        send_phase,
    }
}

async fn send_one(context: Arc<LoadContext>, planned: Planned) {
    let visitor = &context.visitors[planned.visitor];
    let stats = &context.stats;
    if planned.route == Route::Jwt {
        match context.server.refresh_if_due(visitor).await {
            Ok(true) => {
                stats.refreshes.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(error) => count(&stats.refresh_errors, error.label()),
        }
    }
    let path = planned.route.path(planned.page);
    context.tracker.expect(planned.visitor, &path);
    let started = Instant::now();
    match context.server.get(visitor, &path).await {
        Ok(status) => {
            stats.response_latency.record(started.elapsed());
            *lock(&stats.statuses).entry(status.as_u16()).or_default() += 1;
        }
        Err(error) => count(&stats.transport_errors, error.label()),
    }
}

fn count(counts: &Mutex<BTreeMap<String, u64>>, label: String) {
    *lock(counts).entry(label).or_default() += 1;
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cycle_through_visitors() {
        let visitors: Vec<usize> = (0..6)
            .map(|n| plan_request(n, 3, ModeChoice::Jwt).visitor)
            .collect();
        assert_eq!(visitors, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn both_alternates_route_per_visitor() {
        let first = plan_request(0, 4, ModeChoice::Both);
        let second = plan_request(4, 4, ModeChoice::Both);
        assert_eq!(first.visitor, second.visitor);
        assert_eq!(first.route, Route::Stateful);
        assert_eq!(second.route, Route::Jwt);
    }

    #[test]
    fn both_mixes_routes_within_round() {
        let routes: Vec<Route> = (0..2)
            .map(|n| plan_request(n, 4, ModeChoice::Both).route)
            .collect();
        assert_eq!(routes, [Route::Stateful, Route::Jwt]);
    }

    #[test]
    fn single_mode_uses_one_route() {
        assert!((0..10).all(|n| plan_request(n, 3, ModeChoice::Stateful).route == Route::Stateful));
    }

    #[test]
    fn pages_change_each_round() {
        assert_eq!(plan_request(0, 2, ModeChoice::Jwt).page, "dashboard");
        assert_eq!(plan_request(2, 2, ModeChoice::Jwt).page, "orders");
    }

    #[test]
    fn route_paths() {
        assert_eq!(Route::Stateful.path("orders"), "/api/stateful/pages/orders");
        assert_eq!(Route::Jwt.path("billing"), "/api/jwt/pages/billing");
    }
}
