//! The workshop room: the JSON bodies of `/api/room` and the `room` stream event.

use serde::{Deserialize, Serialize};

use super::Mode;

/// The maximum number of page requests a round can request of each participant.
pub const MAX_ROUND_REQUESTS: u32 = 200;

/// The shortest and longest round, in seconds.
pub const MIN_ROUND_SECS: u32 = 10;
pub const MAX_ROUND_SECS: u32 = 600;

/// Seconds of room load that the presenter's chart shows.
pub const LOAD_WINDOW_SECS: usize = 60;

/// The room's totals for one mode since the last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModeTotals {
    /// Participants who made at least one page request in this mode.
    pub participants: u32,
    pub requests: u64,
    pub db_hits: u64,
    /// DB hits per second over the last five seconds.
    pub db_hits_per_sec: f64,
}

/// A timed round that the presenter started: every participant is asked for `requests_each`
/// page requests before `ends_at_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    pub number: u32,
    pub requests_each: u32,
    pub started_at_ms: u64,
    pub ends_at_ms: u64,
    /// Participants who made `requests_each` successful page requests in the round.
    pub participants_done: u32,
}

/// The room at a glance, as every participant's live stream receives it in a `room` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub participants: u32,
    /// The mode the presenter switched the room to, if any.
    pub mode: Option<Mode>,
    pub stateful: ModeTotals,
    pub jwt: ModeTotals,
    pub round: Option<Round>,
    /// How many times the presenter reset the room.
    pub resets: u64,
    /// The server's clock when the summary was made, in milliseconds since the Unix epoch, so
    /// that a browser with a wrong clock still counts a round down correctly.
    pub server_now_ms: u64,
}

/// DB hits and page requests of one second, per mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadSample {
    /// The second's start, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub stateful_db_hits: u64,
    pub jwt_db_hits: u64,
    pub stateful_requests: u64,
    pub jwt_requests: u64,
}

/// One page request of a participant, as the presenter's activity list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomActivity {
    pub seq: u64,
    pub at_ms: u64,
    pub participant: String,
    pub mode: Mode,
    pub path: String,
    pub status: u16,
    pub db_hits: u64,
}

/// Response of `GET /api/room` and payload of the presenter stream's `room` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoomSnapshot {
    pub summary: RoomSummary,
    /// One sample per second, oldest first, for the last [`LOAD_WINDOW_SECS`] seconds.
    pub load: Vec<LoadSample>,
    /// The latest page requests of all participants, newest first.
    pub recent: Vec<RoomActivity>,
}

/// Response of `GET /api/room/join`: the address participants open, which the presenter view
/// shows as text and as a QR code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinInfo {
    pub join_url: String,
    /// True when the address names this computer only (localhost or a loopback address), so
    /// that phones in the room cannot open it.
    pub loopback_only: bool,
}

/// Body of `POST /api/room/participants`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub name: String,
}

/// Body of `POST /api/room/presenter/key`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenterKeyRequest {
    pub key: String,
}

/// Response of `GET /api/room/presenter` and `POST /api/room/presenter/key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenterStatus {
    /// Whether this browser has the presenter key.
    pub presenter: bool,
}

/// Body of `POST /api/room/mode`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomModeRequest {
    pub mode: Mode,
}

/// Body of `POST /api/room/rounds`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundRequest {
    pub requests_each: u32,
    pub seconds: u32,
}
