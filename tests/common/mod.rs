//! Test harness: runs the real server on a loopback port with its own data directory and
//! talks to it over HTTP with cookie-keeping clients, as a browser would.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use clap::Parser;
use futures::{Stream, StreamExt};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use session_journey::model::room::RoomSummary;
use session_journey::model::{Counters, LogLine, LoginResponse, SimulationState, SimulationStatus, Stats, User};
use session_journey::server::config::Settings;
use session_journey::server::startup::{self, StartupError};
use sqlx::{Connection, SqliteConnection};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Failure guard for every wait on the server: a request, a stream event or a shutdown.
/// Tests never sleep. They fail when an expected response or event does not arrive in time.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Failure guard for a whole traffic simulation, which sends a progress event every half second.
pub const SIMULATION_TIMEOUT: Duration = Duration::from_secs(60);

/// PostgreSQL URL for the tests in `postgres.rs`. The tests read it and the server does not,
/// so it is the one `SESSION_JOURNEY_` variable the harness allows.
pub const TEST_POSTGRES_URL_ENV: &str = "SESSION_JOURNEY_TEST_POSTGRES_URL";

/// File names inside the data directory, as the server writes them.
pub const DATABASE_FILE: &str = "session-journey.sqlite3";
pub const KEY_FILE: &str = "jwt-hs256.key";
pub const EDDSA_KEY_FILE: &str = "jwt-eddsa.pem";
pub const RS256_KEY_FILE: &str = "jwt-rs256.pem";

/// Maximum size of a token the JWT route accepts, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Cookie names the server sets.
pub const SESSION_COOKIE: &str = "sj_session";
pub const TOKEN_COOKIE: &str = "sj_token";
pub const VISITOR_COOKIE: &str = "sj_visitor";
pub const FINGERPRINT_COOKIE: &str = "sj_fingerprint";

/// The statements the session store runs to load, create and delete a session, written with
/// numbered parameters so that one text runs on SQLite and PostgreSQL.
pub const SELECT_SESSION: &str = "SELECT data FROM sessions WHERE id = $1 AND expires_at > $2";
pub const INSERT_SESSION: &str = "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4)";
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = $1";

/// The statements that store, rotate and delete refresh tokens.
pub const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens \
     (token_hash, family_id, user_id, user_name, user_role, expires_at, used, permission_claims) \
     VALUES ($1, $2, $3, $4, $5, $6, 0, $7)";
pub const CLAIM_REFRESH_TOKEN: &str = "UPDATE refresh_tokens SET used = 1 \
     WHERE token_hash = $1 AND used = 0 \
     RETURNING family_id, user_id, user_name, user_role, expires_at, permission_claims";
pub const DELETE_REPLAYED_FAMILY: &str = "DELETE FROM refresh_tokens WHERE family_id = \
     (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND used = 1)";
pub const DELETE_USER_REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE user_id = $1";
pub const REFRESH_COOKIE: &str = "sj_refresh";

/// The Leptos runtime configuration that every test server reads.
pub const LEPTOS_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml");

pub fn counters(db_hits: u64, stateful_requests: u64, jwt_requests: u64) -> Counters {
    Counters {
        db_hits,
        stateful_requests,
        jwt_requests,
    }
}

/// A running server with its data directory and a first visitor, whose request helpers are
/// reachable through `Deref`.
pub struct TestApp {
    /// Address the server listens on. A restart moves it to a new port.
    pub addr: SocketAddr,
    visitor: Visitor,
    shared_addr: Arc<RwLock<SocketAddr>>,
    extra_args: Vec<String>,
    server: Option<RunningServer>,
    // Dropped last, so the directory outlives the server that uses it.
    data_dir: TempDir,
}

struct RunningServer {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), StartupError>>,
}

impl TestApp {
    /// Starts a server with the default settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts a server with `extra_args` added to its command line, e.g.
    /// `["--max-streams-per-visitor", "2"]`.
    pub async fn spawn_with(extra_args: &[&str]) -> Self {
        let data_dir = tempfile::tempdir().expect("failed to create a temporary data directory");
        Self::spawn_in(data_dir, extra_args).await
    }

    /// Starts a server whose data directory begins with a copy of `source`'s key file, so
    /// that both servers sign and verify tokens with the same secret.
    pub async fn spawn_sharing_key(source: &TestApp, extra_args: &[&str]) -> Self {
        let data_dir = tempfile::tempdir().expect("failed to create a temporary data directory");
        // fs::copy keeps the owner-only permissions of the source file.
        std::fs::copy(source.key_file(), data_dir.path().join(KEY_FILE))
            .expect("failed to copy the key file");
        Self::spawn_in(data_dir, extra_args).await
    }

    async fn spawn_in(data_dir: TempDir, extra_args: &[&str]) -> Self {
        assert_no_server_overrides();
        let extra_args: Vec<String> = extra_args.iter().map(ToString::to_string).collect();
        let (addr, server) = start_server(data_dir.path(), &extra_args).await;
        let shared_addr = Arc::new(RwLock::new(addr));
        let visitor = Visitor::new(Arc::clone(&shared_addr), true);
        Self {
            addr,
            visitor,
            shared_addr,
            extra_args,
            server: Some(server),
            data_dir,
        }
    }

    /// Stops the server gracefully and waits until `serve` has returned.
    pub async fn stop(&mut self) {
        let server = self.server.take().expect("the server is not running");
        // The receiver is gone only when serve already ended, which the join below reports.
        let _ = server.shutdown.send(());
        let result = tokio::time::timeout(STEP_TIMEOUT, server.task)
            .await
            .expect("the server did not stop within the timeout")
            .expect("the server task panicked");
        result.expect("serve returned an error");
    }

    /// Stops the server and starts a new one on the same data directory and settings. The
    /// visitors keep their cookies, which a browser sends to any port of the same host.
    pub async fn restart(&mut self) {
        self.stop().await;
        let (addr, server) = start_server(self.data_dir.path(), &self.extra_args).await;
        *self.shared_addr.write().unwrap() = addr;
        self.addr = addr;
        self.server = Some(server);
    }

    /// Returns a second browser: its own cookie store, so its own visitor ID and credentials.
    pub fn new_visitor(&self) -> Visitor {
        Visitor::new(Arc::clone(&self.shared_addr), true)
    }

    /// Returns a client that keeps no cookies, for requests that must carry only the
    /// headers a test sets.
    pub fn cookieless(&self) -> Visitor {
        Visitor::new(Arc::clone(&self.shared_addr), false)
    }

    pub fn key_file(&self) -> PathBuf {
        self.data_file(KEY_FILE)
    }

    /// Returns the path of `name` inside the server's data directory.
    pub fn data_file(&self, name: &str) -> PathBuf {
        self.data_dir.path().join(name)
    }

    /// Reads the HS256 secret that the server generated into its data directory.
    pub fn signing_key(&self) -> Vec<u8> {
        let text = std::fs::read_to_string(self.key_file()).expect("failed to read the key file");
        hex::decode(text.trim()).expect("the key file is not hex text")
    }

    /// Counts the rows of the `sessions` table, reading the database file directly.
    pub async fn session_rows(&self) -> i64 {
        let (rows,): (i64,) = self.query_database("SELECT COUNT(*) FROM sessions").await;
        rows
    }

    /// Runs `sql` on the SQLite database file directly and returns its one row.
    pub async fn query_database<T>(&self, sql: &str) -> T
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        query_sqlite_file(&self.data_file(DATABASE_FILE), sql).await
    }

    /// Runs the statement `sql`, which takes no parameters, on the SQLite database file.
    pub async fn execute_database(&self, sql: &str) {
        let mut connection = SqliteConnection::connect(&sqlite_url(&self.data_file(DATABASE_FILE)))
            .await
            .expect("failed to open the database file");
        sqlx::query(sql)
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("failed to run {sql}: {error}"));
        connection.close().await.expect("failed to close the database");
    }

    /// Returns the bytes of every file in the data directory, such as the database and its WAL.
    pub fn data_dir_bytes(&self) -> Vec<(PathBuf, Vec<u8>)> {
        std::fs::read_dir(self.data_dir.path())
            .expect("failed to list the data directory")
            .map(|entry| entry.expect("failed to read the data directory").path())
            .filter(|path| path.is_file())
            .map(|path| {
                let bytes = std::fs::read(&path).expect("failed to read a data file");
                (path, bytes)
            })
            .collect()
    }
}

/// Fails the test when a `SESSION_JOURNEY_` variable other than the PostgreSQL test URL is
/// set. The server reads these variables as defaults, so a value set in the shell would change
/// the limits the tests expect or replace the generated key file.
pub fn assert_no_server_overrides() {
    let overrides: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with("SESSION_JOURNEY_") && name != TEST_POSTGRES_URL_ENV)
        .collect();
    assert!(overrides.is_empty(), "unset {overrides:?} before running the tests");
}

/// Runs `sql` on the SQLite database file `path` directly and returns its one row.
pub async fn query_sqlite_file<T>(path: &Path, sql: &str) -> T
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    let mut connection = SqliteConnection::connect(&sqlite_url(path))
        .await
        .expect("failed to open the database file");
    let row: T = sqlx::query_as(sql)
        .fetch_one(&mut connection)
        .await
        .unwrap_or_else(|error| panic!("failed to run {sql}: {error}"));
    connection.close().await.expect("failed to close the database");
    row
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

impl std::ops::Deref for TestApp {
    type Target = Visitor;

    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

async fn start_server(data_dir: &Path, extra_args: &[String]) -> (SocketAddr, RunningServer) {
    let data_dir = data_dir.to_str().expect("the temporary directory path is not UTF-8");
    let mut args = vec![
        "session-journey",
        "--data-dir",
        data_dir,
        "--addr",
        "127.0.0.1:0",
        "--leptos-config",
        LEPTOS_CONFIG,
    ];
    args.extend(extra_args.iter().map(String::as_str));
    let settings = Settings::parse_from(args);

    let state = startup::build_state(settings).await.expect("failed to build the server state");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("failed to bind a loopback port");
    let addr = listener.local_addr().expect("the listener has no local address");
    let (shutdown, shutdown_received) = oneshot::channel::<()>();
    let task = tokio::spawn(startup::serve(listener, state, async move {
        let _ = shutdown_received.await;
    }));
    (addr, RunningServer { shutdown, task })
}

/// One browser: a reqwest client with its own cookie store, and helpers named after the API.
pub struct Visitor {
    /// Sends the stored cookies and stores the ones responses set (when the visitor has a
    /// cookie store).
    pub client: reqwest::Client,
    /// Sends only the headers a test sets. reqwest replaces an explicit Cookie header with the
    /// store's cookies, so crafted cookies go through this client.
    plain_client: reqwest::Client,
    jar: Option<Arc<Jar>>,
    addr: Arc<RwLock<SocketAddr>>,
}

impl Visitor {
    /// Returns a browser with its own cookie store for the server at `addr`, which a test may
    /// move to a new port when it restarts that server.
    pub fn at(addr: Arc<RwLock<SocketAddr>>) -> Self {
        Self::new(addr, true)
    }

    fn new(addr: Arc<RwLock<SocketAddr>>, keep_cookies: bool) -> Self {
        let jar = keep_cookies.then(|| Arc::new(Jar::default()));
        let mut builder = reqwest::Client::builder().no_proxy();
        if let Some(jar) = &jar {
            builder = builder.cookie_provider(Arc::clone(jar));
        }
        Self {
            client: builder.build().expect("failed to build the HTTP client"),
            plain_client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("failed to build the HTTP client"),
            jar,
            addr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.read().unwrap())
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Returns a request that carries `cookie_header` as its only cookies.
    pub fn request_with_cookies(&self, method: Method, path: &str, cookie_header: &str) -> RequestBuilder {
        self.plain_client
            .request(method, self.url(path))
            .header(COOKIE, cookie_header)
    }

    pub async fn get(&self, path: &str) -> Reply {
        send(self.request(Method::GET, path)).await
    }

    /// `POST /api/login` with `{"name": name}`.
    pub async fn login(&self, name: &str) -> Reply {
        send(self.login_request(name)).await
    }

    /// Builds `POST /api/login` with `{"name": name}` without sending it.
    pub fn login_request(&self, name: &str) -> RequestBuilder {
        self.request(Method::POST, "/api/login").json(&json!({ "name": name }))
    }

    /// Signs in and returns the body with the JWT from its cookie, failing the test unless the
    /// server returned 200.
    pub async fn sign_in(&self, name: &str) -> SignedIn {
        let reply = self.login(name).await;
        assert_eq!(reply.status, StatusCode::OK, "sign-in failed: {reply:?}");
        let body: LoginResponse = reply.parse();
        SignedIn {
            user: body.user,
            token: reply.token_cookie().expect("sign-in set no JWT cookie"),
            access_expires_at_ms: body.access_expires_at_ms,
        }
    }

    /// `GET /api/stateful/pages/{page}`.
    pub async fn stateful_page(&self, page: &str) -> Reply {
        self.get(&format!("/api/stateful/pages/{page}")).await
    }

    /// `GET /api/jwt/pages/{page}`.
    pub async fn jwt_page(&self, page: &str) -> Reply {
        self.get(&format!("/api/jwt/pages/{page}")).await
    }

    /// `GET /api/jwt/pages/{page}` with `Authorization: Bearer {token}`.
    pub async fn jwt_page_with_token(&self, page: &str, token: &str) -> Reply {
        self.jwt_page_with_authorization(page, &format!("Bearer {token}")).await
    }

    /// `GET /api/jwt/pages/{page}` with the given Authorization header.
    pub async fn jwt_page_with_authorization(&self, page: &str, authorization: &str) -> Reply {
        self.get_with_authorization(&format!("/api/jwt/pages/{page}"), authorization).await
    }

    /// `GET path` with the given Authorization header.
    pub async fn get_with_authorization(&self, path: &str, authorization: &str) -> Reply {
        send(self.request(Method::GET, path).header(AUTHORIZATION, authorization)).await
    }

    /// `GET /api/stats`, failing the test unless the server returned 200.
    pub async fn stats(&self) -> Stats {
        let reply = self.get("/api/stats").await;
        assert_eq!(reply.status, StatusCode::OK, "stats failed: {reply:?}");
        reply.parse()
    }

    /// `POST /api/reset`.
    pub async fn reset(&self) -> Reply {
        send(self.request(Method::POST, "/api/reset")).await
    }

    /// `POST /api/logout`.
    pub async fn logout(&self) -> Reply {
        send(self.request(Method::POST, "/api/logout")).await
    }

    /// `POST /api/revoke-all`.
    pub async fn revoke_all(&self) -> Reply {
        send(self.request(Method::POST, "/api/revoke-all")).await
    }

    /// `POST /api/token/refresh`.
    pub async fn refresh_token(&self) -> Reply {
        send(self.request(Method::POST, "/api/token/refresh")).await
    }

    /// `POST /api/attacks/{id}`.
    pub async fn run_attack(&self, id: &str) -> Reply {
        send(self.request(Method::POST, &format!("/api/attacks/{id}"))).await
    }

    /// `POST /api/simulations` with `body`.
    pub async fn start_simulation(&self, body: &Value) -> Reply {
        send(self.request(Method::POST, "/api/simulations").json(body)).await
    }

    /// `GET /api/simulations/{id}`.
    pub async fn simulation(&self, id: &str) -> Reply {
        self.get(&format!("/api/simulations/{id}")).await
    }

    /// `DELETE /api/simulations/{id}`.
    pub async fn cancel_simulation(&self, id: &str) -> Reply {
        send(self.request(Method::DELETE, &format!("/api/simulations/{id}"))).await
    }

    /// Opens `GET /api/events`. Returns the stream on 200, else the error response.
    pub async fn events(&self) -> Result<EventStream, Reply> {
        let pending = self.request(Method::GET, "/api/events").send();
        let response = tokio::time::timeout(STEP_TIMEOUT, pending)
            .await
            .expect("GET /api/events timed out")
            .expect("GET /api/events failed");
        if response.status() != StatusCode::OK {
            return Err(read_reply(response).await);
        }
        Ok(EventStream {
            body: Box::pin(response.bytes_stream().map(|chunk| chunk.map(|bytes| bytes.to_vec()))),
            buffer: Vec::new(),
            room_events: VecDeque::new(),
        })
    }

    /// Opens the live stream and reads its first event, which is always `counters`.
    pub async fn open_events(&self) -> (EventStream, Stats) {
        let mut stream = self.events().await.expect("GET /api/events was rejected");
        let initial = stream.next_counters().await;
        (stream, initial)
    }

    /// Returns the value of the stored cookie `name` for this server.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.stored_cookies()
            .into_iter()
            .find(|(stored, _)| stored == name)
            .map(|(_, value)| value)
    }

    /// Returns a Cookie header with the stored cookies after applying `overrides`: a value
    /// replaces or adds that cookie, `None` leaves it out.
    pub fn cookies_with(&self, overrides: &[(&str, Option<&str>)]) -> String {
        let mut cookies = self.stored_cookies();
        for (name, value) in overrides {
            cookies.retain(|(stored, _)| stored != name);
            if let Some(value) = value {
                cookies.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        let pairs: Vec<String> = cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
        pairs.join("; ")
    }

    fn stored_cookies(&self) -> Vec<(String, String)> {
        let Some(jar) = &self.jar else {
            return Vec::new();
        };
        let url = self.url("/").parse().expect("invalid server URL");
        let Some(header) = jar.cookies(&url) else {
            return Vec::new();
        };
        let header = header.to_str().expect("stored cookies are not text").to_owned();
        header
            .split("; ")
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }
}

/// A signed-in user: the body of `POST /api/login` and the JWT from its cookie.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    pub token: String,
    pub access_expires_at_ms: u64,
}

/// A response: status, headers and the body as JSON (`Value::Null` when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    /// Returns the `error` field of an API error body, or "" when there is none.
    pub fn error_code(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    pub fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|error| panic!("unexpected response body ({error}): {}", self.text))
    }

    /// Returns the value of the JWT cookie that this response sets, if any.
    pub fn token_cookie(&self) -> Option<String> {
        self.set_cookie_value(TOKEN_COOKIE)
    }

    /// Returns the value of cookie `name` that this response sets, if any.
    pub fn set_cookie_value(&self, name: &str) -> Option<String> {
        let header = self.set_cookie(name)?;
        let pair = header.split(';').next()?;
        pair.split_once('=').map(|(_, value)| value.to_owned())
    }

    /// Returns the Set-Cookie header that sets cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with(&prefix))
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok())
    }
}

/// Sends `request` and reads the whole response. Fails the test on a transport error, a
/// timeout or a 5xx status other than 503, because no input may make the server fail.
pub async fn send(request: RequestBuilder) -> Reply {
    try_send(request).await.expect("the request failed")
}

/// Like [`send`], but returns the transport error that ended the request instead of failing
/// the test, for tests that stop the server while requests are in flight.
pub async fn try_send(request: RequestBuilder) -> reqwest::Result<Reply> {
    let response = tokio::time::timeout(STEP_TIMEOUT, request.send())
        .await
        .expect("the request timed out")?;
    try_read_reply(response).await
}

async fn read_reply(response: reqwest::Response) -> Reply {
    try_read_reply(response).await.expect("reading the response body failed")
}

async fn try_read_reply(response: reqwest::Response) -> reqwest::Result<Reply> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = tokio::time::timeout(STEP_TIMEOUT, response.text())
        .await
        .expect("reading the response body timed out")?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    let reply = Reply {
        status,
        headers,
        text,
        body,
    };
    // 503 is the server-wide stream limit. Any other 5xx means the server failed.
    let failed = reply.status.is_server_error() && reply.status != StatusCode::SERVICE_UNAVAILABLE;
    assert!(!failed, "the server returned a 5xx: {reply:?}");
    Ok(reply)
}

/// Builds the body of `POST /api/simulations`. `modes` is `stateful`, `jwt` or `both`.
pub fn simulation_request(
    virtual_users: u32,
    pages_per_user: u32,
    think_time_ms: u64,
    modes: &str,
) -> Value {
    json!({
        "virtual_users": virtual_users,
        "pages_per_user": pages_per_user,
        "think_time_ms": think_time_ms,
        "modes": modes,
    })
}

/// One Server-Sent Event: its `event:` name and its `data:` parsed as JSON.
#[derive(Debug)]
pub struct SseEvent {
    pub name: String,
    pub data: Value,
}

/// A reader of `GET /api/events` that yields parsed events. The workshop room's `room` events
/// arrive on their own schedule, so they are kept apart for [`EventStream::next_room`] and
/// every other reader skips them.
pub struct EventStream {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
    buffer: Vec<u8>,
    room_events: VecDeque<RoomSummary>,
}

impl EventStream {
    /// Waits for the next event, skipping keep-alive comments. Fails the test when none
    /// arrives within [`STEP_TIMEOUT`] or the stream ends.
    pub async fn next_event(&mut self) -> SseEvent {
        tokio::time::timeout(STEP_TIMEOUT, self.read_event())
            .await
            .expect("no live event arrived within the timeout")
            .expect("the live stream ended")
    }

    /// Waits for the end of the stream, failing the test if an event arrives first.
    pub async fn expect_end(&mut self) {
        let next = tokio::time::timeout(STEP_TIMEOUT, self.read_event())
            .await
            .expect("the live stream did not end within the timeout");
        assert!(next.is_none(), "expected the stream to end, got {next:?}");
    }

    /// Waits for the next event and returns its data, failing the test unless it is `name`.
    pub async fn expect_event(&mut self, name: &str) -> Value {
        let event = self.next_event().await;
        assert_eq!(event.name, name, "unexpected event: {event:?}");
        event.data
    }

    pub async fn next_log(&mut self) -> LogLine {
        let data = self.expect_event("log").await;
        serde_json::from_value(data).expect("a log event does not hold a log line")
    }

    pub async fn next_counters(&mut self) -> Stats {
        let data = self.expect_event("counters").await;
        serde_json::from_value(data).expect("a counters event does not hold stats")
    }

    /// Reads events until the `simulation` event that ends run `id` and returns its status.
    /// Log, counters and progress events on the way are skipped. Fails the test when the
    /// run does not end within [`SIMULATION_TIMEOUT`].
    pub async fn wait_for_simulation_end(&mut self, id: &str) -> SimulationStatus {
        let wait = async {
            loop {
                let event = self.next_event().await;
                if event.name != "simulation" {
                    continue;
                }
                let status: SimulationStatus =
                    serde_json::from_value(event.data).expect("a simulation event does not hold a status");
                if status.id == id && status.state != SimulationState::Running {
                    return status;
                }
            }
        };
        tokio::time::timeout(SIMULATION_TIMEOUT, wait)
            .await
            .expect("the simulation did not end within the timeout")
    }

    /// Reads events until the server ends the stream and returns them. Fails the test when the
    /// stream does not end within [`STEP_TIMEOUT`] or breaks off with a transport error rather
    /// than ending cleanly.
    pub async fn read_to_end(&mut self) -> Vec<SseEvent> {
        let read_all = async {
            let mut events = Vec::new();
            while let Some(event) = self.read_event().await {
                events.push(event);
            }
            events
        };
        tokio::time::timeout(STEP_TIMEOUT, read_all)
            .await
            .expect("the live stream did not end within the timeout")
    }

    /// Waits for the next `room` event. Fails the test when none arrives within
    /// [`STEP_TIMEOUT`] or the stream ends.
    pub async fn next_room(&mut self) -> RoomSummary {
        let wait = async {
            loop {
                if let Some(summary) = self.room_events.pop_front() {
                    return Some(summary);
                }
                let event = self.read_any_event().await?;
                self.queue_room_event(event);
            }
        };
        tokio::time::timeout(STEP_TIMEOUT, wait)
            .await
            .expect("no room event arrived within the timeout")
            .expect("the live stream ended")
    }

    /// Returns the next event that is not a `room` event, or `None` when the server ends the
    /// stream.
    async fn read_event(&mut self) -> Option<SseEvent> {
        loop {
            let event = self.read_any_event().await?;
            if event.name != "room" {
                return Some(event);
            }
            self.queue_room_event(event);
        }
    }

    /// Queues `event` for [`EventStream::next_room`] when it is a `room` event.
    fn queue_room_event(&mut self, event: SseEvent) {
        if event.name == "room" {
            let summary = serde_json::from_value(event.data).expect("a room event does not hold a room summary");
            self.room_events.push_back(summary);
        }
    }

    /// Returns `None` when the server ends the stream.
    async fn read_any_event(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = find_block_end(&self.buffer) {
                let block: Vec<u8> = self.buffer.drain(..end).collect();
                let block = String::from_utf8(block).expect("an event is not UTF-8");
                if let Some(event) = parse_block(&block) {
                    return Some(event);
                }
            }
            match self.body.next().await? {
                Ok(chunk) => self.buffer.extend_from_slice(&chunk),
                Err(error) => panic!("reading the live stream failed: {error}"),
            }
        }
    }
}

/// Returns the length of the first complete event block, including its blank line.
fn find_block_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(2)
        .position(|pair| pair == b"\n\n")
        .map(|position| position + 2)
}

/// Parses one event block. Returns `None` for a block with no data, such as a keep-alive
/// comment.
fn parse_block(block: &str) -> Option<SseEvent> {
    let mut name = "message".to_owned();
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = value.trim_start().to_owned();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    if data.is_empty() {
        return None;
    }
    let data = data.join("\n");
    let data = serde_json::from_str(&data)
        .unwrap_or_else(|error| panic!("event {name} has data that is not JSON ({error}): {data}"));
    Some(SseEvent { name, data })
}

/// A signed-in visitor with an open live stream, for tests that send one bad request and
/// check its response, its log line and that it left the sessions table alone.
pub struct WatchedVisitor {
    pub app: TestApp,
    pub events: EventStream,
    pub login: SignedIn,
    pub session_rows: i64,
}

impl WatchedVisitor {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like [`WatchedVisitor::start`], with `extra_args` added to the server's command line.
    pub async fn start_with(extra_args: &[&str]) -> Self {
        let app = TestApp::spawn_with(extra_args).await;
        let login = app.sign_in("Ada").await;
        let (events, _) = app.open_events().await;
        let session_rows = app.session_rows().await;
        assert_eq!(session_rows, 1);
        Self {
            app,
            events,
            login,
            session_rows,
        }
    }

    /// Checks that `reply` is the error `status` with code `code`, that the sessions table
    /// kept its row count, and that the live log showed the request with that status.
    /// Returns the log line.
    pub async fn assert_rejected(&mut self, reply: &Reply, status: StatusCode, code: &str) -> LogLine {
        assert_eq!(reply.status, status, "unexpected status: {reply:?}");
        assert_eq!(reply.error_code(), code, "unexpected error code: {reply:?}");
        assert_eq!(reply.content_type(), Some("application/json"));
        assert_eq!(self.app.session_rows().await, self.session_rows, "the sessions table changed");

        let line = self.events.next_log().await;
        assert_eq!(line.status, status.as_u16(), "unexpected log line: {line:?}");
        let prefix = format!("{code}: ");
        assert!(line.message.starts_with(&prefix), "unexpected log message: {}", line.message);
        self.events.next_counters().await;
        line
    }
}
