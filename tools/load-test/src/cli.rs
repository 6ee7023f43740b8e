//! Command-line options.

use clap::{Parser, ValueEnum};
use serde::Serialize;
use url::Url;

/// Page routes that the load requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeChoice {
    /// `GET /api/stateful/pages/{page}` with the session cookie.
    Stateful,
    /// `GET /api/jwt/pages/{page}` with the JWT cookie.
    Jwt,
    /// Both routes, alternating per visitor.
    Both,
}

/// Holds live streams (`GET /api/events`) open against a Session Journey server on loopback
/// while sending page requests at a fixed rate, then reports errors, the delivery latency of
/// the live events those requests cause and the server's memory.
#[derive(Debug, Parser)]
#[command(name = "load-test", version, about)]
pub struct Args {
    /// Base URL of the server. Only http:// with a loopback IP address (127.0.0.0/8 or [::1])
    /// is accepted.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: Url,

    /// Live streams to hold open during the run.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub streams: u32,

    /// Visitors (browsers) that share the streams, each signed in once. 0 means one visitor per
    /// stream. The server limits the streams of one visitor (--max-streams-per-visitor, 8 by
    /// default).
    #[arg(long, default_value_t = 0)]
    pub visitors: u32,

    /// Page requests per second, sent on a fixed schedule whether or not earlier responses
    /// have arrived.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: u32,

    /// Length of the load phase, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub duration_secs: u64,

    /// Page routes to request.
    #[arg(long, value_enum, default_value_t = ModeChoice::Both)]
    pub mode: ModeChoice,

    /// Maximum wait after the last response for the live events still on their way, in seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub drain_secs: u64,

    /// Timeout of each sign-in, token refresh and page request, and of each stream's first
    /// event, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub request_timeout_secs: u64,

    /// Sign-ins or stream openings in flight at once while setting up.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub setup_concurrency: u64,

    /// PID of the server process. Its memory (VmRSS, VmHWM) is read from /proc/PID/status.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// Returns the number of visitors, resolving 0 to one visitor per stream.
    pub fn visitor_count(&self) -> u32 {
        match self.visitors {
            0 => self.streams,
            visitors => visitors.min(self.streams),
        }
    }
}
