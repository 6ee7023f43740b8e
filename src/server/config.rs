//! Command-line options and environment variables of the `session-journey` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::server::jwt_backend::SigningAlgorithm;

/// Session Journey: sends real requests through a stateful session backend and a JWT backend
/// and streams what each one cost.
#[derive(Clone, Debug, Parser)]
#[command(name = "session-journey", version, about, long_about = None)]
pub struct Settings {
    /// Address and port to listen on. Use 0.0.0.0:3000 to serve a room on the local network.
    #[arg(long, env = "SESSION_JOURNEY_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Directory for the SQLite database and the generated JWT signing key.
    /// Created with owner-only permissions when missing.
    #[arg(long, env = "SESSION_JOURNEY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// PostgreSQL URL for the session store, e.g. postgres://user:password@127.0.0.1/journey.
    /// When unset, sessions live in the SQLite file in the data directory.
    #[arg(long, env = "SESSION_JOURNEY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Simulated network delay added before every session-store statement, in milliseconds,
    /// for rooms without a remote database. Labelled "simulated" wherever it shows.
    #[arg(long, env = "SESSION_JOURNEY_SIMULATED_DB_LATENCY_MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=100))]
    pub simulated_db_latency_ms: u64,

    /// Leptos runtime configuration: site root, bundle names and environment.
    #[arg(long, env = "SESSION_JOURNEY_LEPTOS_CONFIG", default_value = "Leptos.toml")]
    pub leptos_config: PathBuf,

    /// Lifetime of an issued JWT (the access token), in seconds. `--access-token-ttl-secs` is
    /// another name for this option. The short default lets a class watch a token expire and
    /// the page refresh it within a minute.
    #[arg(long, alias = "access-token-ttl-secs", env = "SESSION_JOURNEY_JWT_TTL_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub jwt_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds. Each refresh issues a new one with a new
    /// lifetime of this length.
    #[arg(long, env = "SESSION_JOURNEY_REFRESH_TOKEN_TTL_SECS", default_value_t = 28_800,
          value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub refresh_token_ttl_secs: u64,

    /// Lifetime of a server-side session, in seconds, counted from sign-in.
    #[arg(long, env = "SESSION_JOURNEY_SESSION_TTL_SECS", default_value_t = 28_800,
          value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub session_ttl_secs: u64,

    /// Algorithm that signs JWTs, and the only one the JWT route accepts. eddsa and rs256
    /// generate a key pair in the data directory and publish its public key at
    /// /.well-known/jwks.json.
    #[arg(long, env = "SESSION_JOURNEY_JWT_ALGORITHM", value_enum, default_value_t = SigningAlgorithm::Hs256)]
    pub jwt_algorithm: SigningAlgorithm,

    /// JWT issuer (`iss`) written into tokens and required when verifying them.
    #[arg(long, env = "SESSION_JOURNEY_JWT_ISSUER", default_value = "session-journey")]
    pub jwt_issuer: String,

    /// JWT audience (`aud`) written into tokens and required when verifying them.
    #[arg(long, env = "SESSION_JOURNEY_JWT_AUDIENCE", default_value = "session-journey")]
    pub jwt_audience: String,

    /// Maximum number of open live streams across all visitors.
    #[arg(long, env = "SESSION_JOURNEY_MAX_STREAMS", default_value_t = 2_000)]
    pub max_streams: usize,

    /// Maximum number of open live streams for one visitor (one per open tab).
    #[arg(long, env = "SESSION_JOURNEY_MAX_STREAMS_PER_VISITOR", default_value_t = 8)]
    pub max_streams_per_visitor: usize,

    /// Maximum number of virtual users in one traffic simulation.
    #[arg(long, env = "SESSION_JOURNEY_MAX_SIMULATION_USERS", default_value_t = 500)]
    pub max_simulation_users: u32,

    /// Maximum number of page requests in one traffic simulation, over all its modes.
    #[arg(long, env = "SESSION_JOURNEY_MAX_SIMULATION_REQUESTS", default_value_t = 50_000)]
    pub max_simulation_requests: u64,

    /// Mark cookies Secure. Turn on when a TLS-terminating proxy serves the app over HTTPS.
    #[arg(long, env = "SESSION_JOURNEY_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Bind each JWT to a fingerprint cookie (the OWASP defence against token sidejacking):
    /// a token sent without the cookie of the browser that signed in is rejected. Off by
    /// default, so that the attack lab's stolen-token replay shows the token still working.
    #[arg(long, env = "SESSION_JOURNEY_BIND_TOKEN_FINGERPRINT", default_value_t = false)]
    pub bind_token_fingerprint: bool,

    /// Keep a denylist of revoked JWTs in the database. Logout then adds the caller's token
    /// (`jti`) to it and "revoke everything" adds the user, and every JWT request checks it with
    /// one SQL query, so a revoked token fails at once at the cost of a DB hit. Off by default,
    /// so that a revoked token keeps working until it expires.
    #[arg(long, env = "SESSION_JOURNEY_JWT_DENYLIST", default_value_t = false)]
    pub jwt_denylist: bool,

    /// The address participants open, shown as text and QR code on `/present`. When unset,
    /// the presenter view shows the address it was itself opened at.
    #[arg(long, env = "SESSION_JOURNEY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The key that unlocks the presenter's actions on `/present`, at least 16 characters.
    /// When unset, a random key is generated at each start and printed on standard output.
    #[arg(long, env = "SESSION_JOURNEY_PRESENTER_KEY", hide_env_values = true)]
    pub presenter_key: Option<String>,

    /// Participants the room admits; a visitor past it cannot join.
    #[arg(long, env = "SESSION_JOURNEY_MAX_PARTICIPANTS", default_value_t = 300)]
    pub max_participants: usize,

    /// Page requests one browser may send a minute, counting page routes, the services
    /// fan-out and direct service requests; 0 turns the limit off for load tests. The Request
    /// Page button sends one request at a time, so by estimate a person clicking as fast as
    /// they can, as in a workshop round of up to 200 requests, sends under 10 a second.
    #[arg(long, env = "SESSION_JOURNEY_PAGE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub page_limit_per_minute: u32,

    /// Page requests one browser may send at once before the per-minute rate applies.
    #[arg(long, env = "SESSION_JOURNEY_PAGE_LIMIT_BURST", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub page_limit_burst: u32,

    /// Sign-ins (`POST /api/login`) one browser may send a minute; 0 turns the limit off.
    #[arg(long, env = "SESSION_JOURNEY_SIGN_IN_LIMIT_PER_MINUTE", default_value_t = 10)]
    pub sign_in_limit_per_minute: u32,

    /// Sign-ins one browser may send at once before the per-minute rate applies.
    #[arg(long, env = "SESSION_JOURNEY_SIGN_IN_LIMIT_BURST", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub sign_in_limit_burst: u32,

    /// Sign-ins one client IP address may send a minute, whatever its visitor cookie, so that a
    /// script cannot escape the per-browser limit by sending a new visitor ID each time; 0
    /// turns the limit off. Presenter-key attempts count too. The default is sized for a room
    /// on a LAN, where each person has an address of their own. Behind a reverse proxy every
    /// client has the proxy's address, so raise the limit or turn it off there.
    #[arg(long, env = "SESSION_JOURNEY_SIGN_IN_LIMIT_PER_ADDRESS_PER_MINUTE", default_value_t = 60)]
    pub sign_in_limit_per_address_per_minute: u32,

    /// Sign-ins one client IP address may send at once before the per-minute rate applies.
    #[arg(long, env = "SESSION_JOURNEY_SIGN_IN_LIMIT_PER_ADDRESS_BURST", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub sign_in_limit_per_address_burst: u32,

    /// Simulation starts (`POST /api/simulations`) one browser may send a minute; 0 turns the
    /// limit off.
    #[arg(long, env = "SESSION_JOURNEY_SIMULATION_START_LIMIT_PER_MINUTE", default_value_t = 6)]
    pub simulation_start_limit_per_minute: u32,

    /// Simulation starts one browser may send at once before the per-minute rate applies.
    #[arg(long, env = "SESSION_JOURNEY_SIMULATION_START_LIMIT_BURST", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub simulation_start_limit_burst: u32,

    /// Attack-lab runs (`POST /api/attacks/{id}`) one browser may send a minute; 0 turns the
    /// limit off.
    #[arg(long, env = "SESSION_JOURNEY_ATTACK_LIMIT_PER_MINUTE", default_value_t = 60)]
    pub attack_limit_per_minute: u32,

    /// Attack-lab runs one browser may send at once before the per-minute rate applies. The
    /// default covers running every attack of the lab in a row.
    #[arg(long, env = "SESSION_JOURNEY_ATTACK_LIMIT_BURST", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub attack_limit_burst: u32,

    /// Maximum number of traffic simulations running at once across all visitors.
    #[arg(long, env = "SESSION_JOURNEY_MAX_RUNNING_SIMULATIONS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_running_simulations: u32,

    /// Maximum number of virtual users across all running simulations.
    #[arg(long, env = "SESSION_JOURNEY_MAX_RUNNING_VIRTUAL_USERS", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_running_virtual_users: u32,

    /// Time a client has to send a request's headers, in seconds, and the time an idle
    /// keep-alive connection stays open. Slower connections are closed. Keep it above the
    /// simulator's 10 s maximum think time, so that a virtual user's idle connection is still
    /// open for its next request.
    #[arg(long, env = "SESSION_JOURNEY_HEADER_READ_TIMEOUT_SECS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_secs: u64,

    /// Time the server waits for the next part of a request body, in seconds, before it
    /// responds with 408.
    #[arg(long, env = "SESSION_JOURNEY_BODY_READ_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub body_read_timeout_secs: u64,

    /// Maximum number of open connections. Connections past it are closed as soon as they
    /// are accepted. The loopback connections of the simulator's virtual users count too.
    ///
    /// NOTE: each connection is a file descriptor, and a virtual user's client keeps a second
    /// one, so the process's open-file limit (`ulimit -n`) must be well above this cap.
    #[arg(long, env = "SESSION_JOURNEY_MAX_CONNECTIONS", default_value_t = 2_048,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

/// Environment variable with an HS256 signing secret of at least 32 bytes. When unset, a key
/// is generated on first start and kept in the data directory. It is read in `jwt_backend`
/// rather than through clap so that `--help` and parse errors can never print it.
pub const JWT_SECRET_ENV: &str = "SESSION_JOURNEY_JWT_SECRET";
