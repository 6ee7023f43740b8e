//! Per-visitor rate limits (GCRA, from the `governor` crate) on the routes that cost the most:
//! page requests, sign-ins, simulation starts and attack-lab runs. A request over a limit gets
//! a 429 with `Retry-After` and a line in the visitor's live log.
//!
//! Requests that carry the loopback secret (the server's own virtual users, services fan-out
//! and attack lab) are exempt, because the visitor who started them was already counted once.
//!
//! NOTE: the visitor ID is an unsigned cookie, so a script that sends a new well-formed ID with
//! every request gets a new bucket each time. Requests without a valid visitor cookie are
//! keyed by the client's IP address instead, which stops the plain case of a script that keeps
//! no cookies. Sign-ins also have a limit per client IP address that ignores the cookie; the
//! other limits have none, so rotating IDs still get around them.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Extension;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::server::activity::reject_and_log;
use crate::server::config::Settings;
use crate::server::error::AppError;
use crate::server::loopback::LOOPBACK_SECRET_HEADER;
use crate::server::state::AppState;
use crate::server::visitor::{IssuedVisitor, VisitorId};

/// How often idle limiter entries are dropped and the rejection counts are logged.
pub const CLEANUP_EVERY: Duration = Duration::from_secs(60);

/// A kind of request with a rate limit of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitedAction {
    /// `GET /api/{mode}/pages/*`, `GET /api/{mode}/services/*` and any `/services/*` request.
    Page,
    /// `POST /api/login`, and `POST /api/room/presenter/key`, the presenter's sign-in, so that
    /// the key cannot be guessed at speed.
    SignIn,
    /// `POST /api/simulations`.
    SimulationStart,
    /// `POST /api/attacks/{id}`.
    AttackRun,
}

impl LimitedAction {
    const ALL: [Self; 4] = [Self::Page, Self::SignIn, Self::SimulationStart, Self::AttackRun];

    /// Returns the limit that applies to a request, if any.
    pub fn classify(method: &Method, path: &str) -> Option<Self> {
        let api_page = ["/api/stateful/", "/api/jwt/"].iter().any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with("pages/") || rest.starts_with("services/"))
        });
        if (*method == Method::GET && api_page) || path.starts_with("/services/") {
            return Some(Self::Page);
        }
        if *method != Method::POST {
            return None;
        }
        match path {
            "/api/login" | "/api/room/presenter/key" => Some(Self::SignIn),
            "/api/simulations" => Some(Self::SimulationStart),
            _ if path.starts_with("/api/attacks/") => Some(Self::AttackRun),
            _ => None,
        }
    }

    /// Returns the requests the limit counts, in words.
    fn noun(self) -> &'static str {
        match self {
            Self::Page => "page requests",
            Self::SignIn => "sign-ins",
            Self::SimulationStart => "simulation starts",
            Self::AttackRun => "attack-lab runs",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Page => 0,
            Self::SignIn => 1,
            Self::SimulationStart => 2,
            Self::AttackRun => 3,
        }
    }
}

/// The key that a limiter counts requests by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum RateKey {
    Visitor(VisitorId),
    /// A request without a valid visitor cookie, by its client's IP address.
    Address(IpAddr),
}

/// One configured limit.
struct Limit {
    limiter: DefaultKeyedRateLimiter<RateKey>,
    per_minute: u32,
    burst: u32,
    /// Rejections since the last cleanup, for the server's log.
    rejected: AtomicU64,
}

impl Limit {
    fn new(per_minute: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_minute)?;
        let burst_size = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Some(Self {
            limiter: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst_size)),
            per_minute,
            burst,
            rejected: AtomicU64::new(0),
        })
    }
}

/// The configured limits, each `None` when its per-minute option is 0.
pub struct RateLimits {
    /// The limits per browser, by [`LimitedAction::index`].
    limits: [Option<Limit>; 4],
    /// The sign-in limit per client IP address, which applies whatever the visitor cookie.
    sign_in_per_address: Option<Limit>,
}

/// A request over a limit: how long to wait and the reason to send.
struct Rejection {
    wait: Duration,
    reason: String,
}

impl RateLimits {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            limits: [
                Limit::new(settings.page_limit_per_minute, settings.page_limit_burst),
                Limit::new(settings.sign_in_limit_per_minute, settings.sign_in_limit_burst),
                Limit::new(settings.simulation_start_limit_per_minute, settings.simulation_start_limit_burst),
                Limit::new(settings.attack_limit_per_minute, settings.attack_limit_burst),
            ],
            sign_in_per_address: Limit::new(
                settings.sign_in_limit_per_address_per_minute,
                settings.sign_in_limit_per_address_burst,
            ),
        }
    }

    /// Counts one request of `action` for `key`, and a sign-in also for the client address
    /// `peer`. Returns the wait and reason of the first limit that the request is over. A
    /// request rejected by the per-browser limit is not counted against the address.
    fn check(&self, action: LimitedAction, key: &RateKey, peer: Option<IpAddr>) -> Result<(), Rejection> {
        if let Some(limit) = &self.limits[action.index()] {
            let sender = match key {
                RateKey::Visitor(_) => "this browser",
                RateKey::Address(_) => "this address, which sent no visitor cookie,",
            };
            check_limit(limit, key).map_err(|wait| Rejection {
                wait,
                reason: format!(
                    "{sender} sent more {} than the {}; try again in {} s",
                    action.noun(),
                    describe(limit),
                    retry_after_secs(wait)
                ),
            })?;
        }
        let address_limit = self.sign_in_per_address.as_ref().filter(|_| action == LimitedAction::SignIn);
        if let (Some(limit), Some(peer)) = (address_limit, peer) {
            check_limit(limit, &RateKey::Address(peer)).map_err(|wait| Rejection {
                wait,
                reason: format!(
                    "this address sent more sign-ins than the per-address {}, which counts sign-ins from every \
                     browser at this address; try again in {} s",
                    describe(limit),
                    retry_after_secs(wait)
                ),
            })?;
        }
        Ok(())
    }

    /// Drops the limiter entries of keys that are back at a full burst, and logs the
    /// rejections since the last call.
    pub fn clean_up(&self) {
        let per_action = LimitedAction::ALL
            .iter()
            .filter_map(|action| Some((action.noun(), self.limits[action.index()].as_ref()?)));
        let per_address = self.sign_in_per_address.as_ref().map(|limit| ("sign-ins per address", limit));
        for (noun, limit) in per_action.chain(per_address) {
            limit.limiter.retain_recent();
            limit.limiter.shrink_to_fit();
            let rejected = limit.rejected.swap(0, Ordering::Relaxed);
            if rejected > 0 {
                tracing::warn!(limit = noun, rejected, "rate limit rejected requests in the last minute");
            }
        }
    }
}

/// Counts one request for `key` against `limit`. Returns how long to wait when it is over.
fn check_limit(limit: &Limit, key: &RateKey) -> Result<(), Duration> {
    limit.limiter.check_key(key).map_err(|not_until| {
        limit.rejected.fetch_add(1, Ordering::Relaxed);
        not_until.wait_time_from(DefaultClock::default().now())
    })
}

/// Returns `wait` in whole seconds, rounded up, as `Retry-After` takes them.
fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Returns "limit of N a minute with bursts of M" for the reason of a rejection.
fn describe(limit: &Limit) -> String {
    format!("limit of {} a minute with bursts of {}", limit.per_minute, limit.burst)
}

/// Middleware that applies the rate limits. A request with the right loopback secret passes
/// unlimited. The secret header is removed before the request goes on, so no handler can read
/// or forward it.
pub async fn limit_rate(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    mut request: Request,
    next: Next,
) -> Response {
    let exempt = request
        .headers_mut()
        .remove(LOOPBACK_SECRET_HEADER)
        .is_some_and(|value| state.loopback_secret.matches(value.as_bytes()));
    let action = LimitedAction::classify(request.method(), request.uri().path());
    let Some(action) = action.filter(|_| !exempt) else {
        return next.run(request).await;
    };

    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let key = rate_key(&request, &visitor, peer);
    let Err(rejection) = state.rate_limits.check(action, &key, peer) else {
        return next.run(request).await;
    };
    let error = AppError::client(StatusCode::TOO_MANY_REQUESTS, "rate_limited", rejection.reason);
    let mut response = reject_and_log(&state.hub, &visitor, request.method().as_str(), request.uri().path(), error);
    let retry_after = HeaderValue::from(retry_after_secs(rejection.wait));
    response.headers_mut().insert(header::RETRY_AFTER, retry_after);
    response
}

fn rate_key(request: &Request, visitor: &VisitorId, peer: Option<IpAddr>) -> RateKey {
    let issued = request.extensions().get::<IssuedVisitor>().is_some();
    match (issued, peer) {
        (true, Some(peer)) => RateKey::Address(peer),
        _ => RateKey::Visitor(visitor.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_limited_routes() {
        let cases = [
            (Method::GET, "/api/stateful/pages/orders", Some(LimitedAction::Page)),
            (Method::GET, "/api/jwt/pages/dashboard", Some(LimitedAction::Page)),
            (Method::GET, "/api/jwt/services/dashboard", Some(LimitedAction::Page)),
            (Method::GET, "/services/billing/jwt", Some(LimitedAction::Page)),
            (Method::POST, "/services/billing/jwt", Some(LimitedAction::Page)),
            (Method::POST, "/api/login", Some(LimitedAction::SignIn)),
            (Method::POST, "/api/room/presenter/key", Some(LimitedAction::SignIn)),
            (Method::POST, "/api/simulations", Some(LimitedAction::SimulationStart)),
            (Method::POST, "/api/attacks/alg-none", Some(LimitedAction::AttackRun)),
        ];
        for (method, path, expected) in cases {
            assert_eq!(LimitedAction::classify(&method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn classify_unlimited_routes() {
        let cases = [
            (Method::GET, "/api/baseline/pages/orders"),
            (Method::GET, "/api/login"),
            (Method::GET, "/api/simulations/some-id"),
            (Method::DELETE, "/api/simulations/some-id"),
            (Method::GET, "/api/attacks"),
            (Method::POST, "/api/token/refresh"),
            (Method::GET, "/api/events"),
            (Method::GET, "/"),
        ];
        for (method, path) in cases {
            assert_eq!(LimitedAction::classify(&method, path), None, "{method} {path}");
        }
    }
}
