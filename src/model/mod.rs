//! Types shared by the server and the browser: the JSON bodies of the HTTP API and the
//! events of the live stream.

pub mod room;

use serde::{Deserialize, Serialize};

/// The pages of the demo shop back office, in the order that Request Page walks through them.
pub const PAGES: [&str; 5] = ["dashboard", "orders", "billing", "profile", "settings"];

/// Maximum length of a display name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Which backend authenticated a page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Stateful,
    Jwt,
}

impl Mode {
    /// The path segment of this mode's page API.
    pub fn path_segment(self) -> &'static str {
        match self {
            Mode::Stateful => "stateful",
            Mode::Jwt => "jwt",
        }
    }

    /// The label the dashboard shows for this mode.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Stateful => "Traditional (Stateful)",
            Mode::Jwt => "JWT (Stateless)",
        }
    }
}

/// The signed-in demo user, as stored in the session and carried in the JWT claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable user ID, the JWT `sub` claim.
    pub id: String,
    pub name: String,
    pub role: String,
}

/// Body of `POST /api/login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub name: String,
}

/// Response of `POST /api/login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginResponse {
    pub user: User,
    /// When the JWT expires, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub access_expires_at_ms: u64,
}

/// Response of `POST /api/token/refresh`. The new tokens travel only in HttpOnly cookies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshResponse {
    pub user: User,
    /// When the new JWT expires, in milliseconds since the Unix epoch.
    pub access_expires_at_ms: u64,
}

/// Response of `POST /api/logout`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct LogoutResponse {
    pub signed_out: bool,
}

/// Response of `POST /api/revoke-all`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeAllResponse {
    /// Server-side sessions of the user deleted from the database.
    pub sessions_deleted: u64,
    /// Refresh tokens of the user deleted from the database, all families.
    pub refresh_tokens_deleted: u64,
    /// Whether the caller's JWT was added to the denylist, so that it fails at once.
    pub token_denied: bool,
    /// Seconds until the caller's JWT expires, when one was sent; it keeps working until then
    /// unless `token_denied` is true.
    pub token_expires_in_secs: Option<u64>,
}

/// Response of `GET /api/info`: how this server is set up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The session store's database: `sqlite` or `postgresql`.
    pub database: String,
    /// Simulated delay added before every session statement, in milliseconds; 0 when off.
    pub simulated_db_latency_ms: u64,
    pub jwt_ttl_secs: u64,
    pub session_ttl_secs: u64,
}

/// Response of `GET /api/whoami`: the user named by a valid JWT cookie, if any.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WhoAmI {
    pub user: Option<User>,
    /// When the JWT cookie expires, in milliseconds since the Unix epoch; unset without one.
    #[serde(default)]
    pub access_expires_at_ms: Option<u64>,
}

/// One section of a served back-office page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageItem {
    pub label: String,
    pub value: String,
}

/// Response of `GET /api/{mode}/pages/{page}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PageResponse {
    pub page: String,
    pub title: String,
    pub items: Vec<PageItem>,
    pub user: User,
    pub mode: Mode,
    /// SQL statements this request ran.
    pub db_queries: u32,
    /// Time the authentication step took, in microseconds.
    pub auth_us: u64,
    /// Time from the start of the handler to the response, in microseconds.
    pub total_us: u64,
}

/// Request and DB-hit totals for one visitor or for the whole server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// SQL statements run by page requests.
    pub db_hits: u64,
    pub stateful_requests: u64,
    pub jwt_requests: u64,
}

/// Response of `GET /api/stats` and payload of the `counters` stream event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub visitor: Counters,
    pub server: Counters,
    /// Per-mode latency summaries of the visitor's page requests.
    #[serde(default)]
    pub comparison: Comparison,
}

/// One SQL statement a request ran, as the live log shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub sql: String,
    /// Time the statement took, in microseconds, including any simulated delay.
    pub us: u64,
    /// The part of `us` that was a simulated network delay, not real database work.
    #[serde(default)]
    pub simulated_us: u64,
}

/// One line of a visitor's live log, sent as a `log` stream event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Position in the server's sequence of log lines, increasing by one per line.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub method: String,
    pub path: String,
    pub mode: Option<Mode>,
    pub statements: Vec<Statement>,
    /// True when the statements count towards DB Hits (page requests only).
    pub counted: bool,
    pub auth_us: Option<u64>,
    /// Size of the credential the request carried (session cookie or token), in bytes.
    #[serde(default)]
    pub credential_bytes: Option<u64>,
    pub status: u16,
    pub total_us: u64,
    /// What happened, in words: the served page, or the reason for an error.
    pub message: String,
    /// The service (`billing`, `profile` or `settings`) that handled the request, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// The JSON body of every 4xx and 5xx response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable, machine-readable error code such as `token_expired`.
    pub error: String,
    /// A sentence for people.
    pub reason: String,
}

/// One entry of `GET /api/attacks`: an attack the lab can run against the JWT route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackSummary {
    /// The `{id}` of `POST /api/attacks/{id}`.
    pub id: String,
    pub title: String,
    /// One sentence on what the crafted token tries.
    pub explanation: String,
}

/// Response of `POST /api/attacks/{id}`: the crafted token and the JWT route's response to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackResult {
    pub attack: String,
    /// The crafted token as it was sent in the `Authorization: Bearer` header. When the route
    /// accepted it, the signature is replaced by `[signature withheld]`, because the token works.
    pub token: String,
    /// Length of the token that was sent, in bytes.
    pub token_bytes: usize,
    /// The method and path of the request sent over loopback.
    pub request: String,
    /// HTTP status of the JWT route's response.
    pub status: u16,
    /// Whether the JWT route served the page.
    pub accepted: bool,
    /// The route's error code, such as `invalid_signature`, when it rejected the token.
    pub error: Option<String>,
    /// The route's reason for the rejection, in words.
    pub reason: Option<String>,
}

/// Response of `GET /api/token`: the visitor's JWT from its cookie, taken apart for the token
/// inspector. The signature is cut short, because the whole token is a working credential and
/// the page's scripts can read this response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInspection {
    /// The decoded header, as indented JSON.
    pub header: String,
    /// The decoded payload, as indented JSON.
    pub payload: String,
    /// The first characters of the base64url signature.
    pub signature_start: String,
    /// Sizes of the three base64url segments and of the whole token, in bytes.
    pub header_bytes: usize,
    pub payload_bytes: usize,
    pub signature_bytes: usize,
    pub token_bytes: usize,
    /// Size of the session cookie as the browser sends it (`name=value`), when there is one.
    pub session_cookie_bytes: Option<usize>,
    /// The `iat` and `exp` claims, in seconds since the Unix epoch.
    pub issued_at: Option<u64>,
    pub expires_at: Option<u64>,
    /// The server's clock when it built the response, in seconds since the Unix epoch.
    pub server_now: u64,
    /// Whether the JWT route would accept the token now.
    pub valid: bool,
    /// The error code and reason when it would not, such as `token_expired`.
    pub rejection: Option<ApiError>,
}

/// Body of `POST /api/token/permissions`: how many permission claims newly issued tokens
/// carry, from 0 to [`MAX_PERMISSION_CLAIMS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionsRequest {
    pub count: u32,
}

/// The maximum number of permission claims the payload-size control adds to a token.
pub const MAX_PERMISSION_CLAIMS: u32 = 200;

/// Response of `POST /api/token/permissions`: the sizes of the replaced and the new token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionsResponse {
    pub count: u32,
    pub previous_token_bytes: usize,
    pub token_bytes: usize,
}

/// Percentiles of a set of durations, in microseconds, by the nearest-rank method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl LatencySummary {
    /// Summarises `samples`, which this sorts in place. Empty input gives all zeros.
    pub fn from_samples(samples: &mut [u64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let rank = |percentile: usize| {
            // Nearest rank: the smallest sample with at least `percentile`% of samples at or below it.
            let index = (percentile * samples.len()).div_ceil(100).max(1) - 1;
            samples[index]
        };
        Self {
            p50_us: rank(50),
            p95_us: rank(95),
            p99_us: rank(99),
            max_us: samples[samples.len() - 1],
        }
    }
}

/// A running summary of one visitor's page requests in one mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeSummary {
    pub requests: u64,
    pub db_hits: u64,
    /// Number of recent requests the percentiles are computed from.
    pub sampled: u64,
    /// Authentication step time.
    pub auth: LatencySummary,
    /// Whole-request time, measured by the server from the first middleware to the response.
    pub total: LatencySummary,
    /// Size of the credential of the latest request, in bytes; 0 before the first.
    pub credential_bytes: u64,
    /// Credential bytes of all of this visitor's requests in the mode since the last reset.
    #[serde(default)]
    pub credential_bytes_total: u64,
}

impl ModeSummary {
    pub fn db_hits_per_request(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.db_hits as f64 / self.requests as f64
        }
    }
}

/// Per-mode summaries of one visitor's page requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub stateful: ModeSummary,
    pub jwt: ModeSummary,
}

/// Which backends a simulation exercises. `Both` runs stateful first, then JWT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimulationModes {
    Stateful,
    Jwt,
    Both,
}

impl SimulationModes {
    pub fn modes(self) -> &'static [Mode] {
        match self {
            SimulationModes::Stateful => &[Mode::Stateful],
            SimulationModes::Jwt => &[Mode::Jwt],
            SimulationModes::Both => &[Mode::Stateful, Mode::Jwt],
        }
    }
}

/// Body of `POST /api/simulations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationRequest {
    pub virtual_users: u32,
    pub pages_per_user: u32,
    /// Pause between one virtual user's page requests, in milliseconds.
    pub think_time_ms: u64,
    pub modes: SimulationModes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimulationState {
    Running,
    Finished,
    Cancelled,
    Failed,
}

/// Results of one simulation phase (one mode).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModeResult {
    pub mode: Option<Mode>,
    /// Page requests sent, including failed ones.
    pub requests: u64,
    /// Page requests that did not return 200, or failed to connect.
    pub errors: u64,
    /// Sign-ins that failed, so their virtual user sent no page requests.
    pub failed_sign_ins: u64,
    /// Sum of the `db_queries` the server reported for the page requests.
    pub db_hits: u64,
    /// Access tokens that JWT-mode virtual users refreshed at `POST /api/token/refresh`
    /// because they were about to expire. Their statements are not in `db_hits`.
    #[serde(default)]
    pub token_refreshes: u64,
    /// Time from the start of the phase, sign-ins included, to its last response.
    pub duration_ms: u64,
    pub queries_per_second: f64,
    pub requests_per_second: f64,
    /// Authentication step time, as the server measured it.
    pub auth: LatencySummary,
    /// Whole-request time, as the virtual user measured it over loopback.
    pub latency: LatencySummary,
}

/// One point of a simulation's live charts: the last sampling window of one mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimulationSample {
    /// Milliseconds since the simulation started.
    pub at_ms: u64,
    pub mode: Mode,
    pub queries_per_second: f64,
    pub requests_per_second: f64,
    pub auth: LatencySummary,
}

/// Response of `GET /api/simulations/{id}` and payload of the `simulation` stream event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimulationStatus {
    pub id: String,
    pub state: SimulationState,
    pub settings: SimulationRequest,
    /// The session store's database, such as `sqlite`.
    pub database: String,
    /// Simulated delay added before every session statement, in milliseconds; 0 when off.
    pub simulated_db_latency_ms: u64,
    pub planned_requests: u64,
    pub completed_requests: u64,
    pub started_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    /// Why the run failed or was cancelled.
    pub message: Option<String>,
    pub results: Vec<ModeResult>,
    /// Chart points so far. The stream sends only the newest in each event.
    pub samples: Vec<SimulationSample>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).collect();
        let summary = LatencySummary::from_samples(&mut samples);
        assert_eq!(summary.p50_us, 50);
        assert_eq!(summary.p95_us, 95);
        assert_eq!(summary.p99_us, 99);
        assert_eq!(summary.max_us, 100);
    }

    #[test]
    fn percentiles_of_one_sample() {
        let summary = LatencySummary::from_samples(&mut [7]);
        assert_eq!(summary, LatencySummary { p50_us: 7, p95_us: 7, p99_us: 7, max_us: 7 });
    }

    #[test]
    fn percentiles_of_nothing_are_zero() {
        assert_eq!(LatencySummary::from_samples(&mut []), LatencySummary::default());
    }
}

/// One service's part of `GET /api/{mode}/services/{page}`: how the service authenticated the
/// visitor's forwarded credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCall {
    /// `billing`, `profile` or `settings`.
    pub service: String,
    /// HTTP status of the service's response.
    pub status: u16,
    /// Time the service's authentication step took, in microseconds, when it succeeded.
    pub auth_us: Option<u64>,
    /// SQL statements the service ran for this request.
    pub db_hits: u32,
    /// The key or store that authenticated the request, such as `public key <kid> (EdDSA)`.
    pub verified_with: Option<String>,
    /// The service's error code when it rejected the request.
    pub error: Option<String>,
}

/// Response of `GET /api/{mode}/services/{page}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicesResponse {
    pub mode: Mode,
    pub page: String,
    pub calls: Vec<ServiceCall>,
    /// Time of the whole fan-out, in microseconds.
    pub total_us: u64,
}
