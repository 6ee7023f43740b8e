//! Types shared by the server and the browser: the JSON bodies of the HTTP API and the
//! events of the live stream.

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
pub struct LoginRequest {
    pub name: String,
}

/// Response of `POST /api/login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginResponse {
    pub user: User,
    /// The signed JWT, also set as an HttpOnly cookie.
    pub token: String,
}

/// Response of `GET /api/whoami`: the user named by a valid JWT cookie, if any.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WhoAmI {
    pub user: Option<User>,
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
}

/// One SQL statement a request ran, as the live log shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub sql: String,
    /// Time the statement took, in microseconds.
    pub us: u64,
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
    pub status: u16,
    pub total_us: u64,
    /// What happened, in words: the served page, or the reason for an error.
    pub message: String,
}

/// The JSON body of every 4xx and 5xx response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable, machine-readable error code such as `token_expired`.
    pub error: String,
    /// A sentence for people.
    pub reason: String,
}
