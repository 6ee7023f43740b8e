//! The server binary as an operating-system process: a SIGKILL under load leaves a sound
//! SQLite file and keeps every credential issued before it, and SIGTERM lets open requests
//! finish, ends the live streams cleanly and exits with status 0.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::json;
use session_journey::model::{Mode, PageResponse, RefreshResponse, ServicesResponse, User};
use tempfile::TempDir;
use tokio::sync::{oneshot, watch};

use crate::common::{
    assert_no_server_overrides, query_sqlite_file, send, try_send, Reply, Visitor, DATABASE_FILE, KEY_FILE,
    LEPTOS_CONFIG, REFRESH_COOKIE, SESSION_COOKIE, STEP_TIMEOUT,
};

/// Failure guard for a server start, from spawning the binary to its first health check. A
/// start opens and migrates the database and loads or generates the signing key.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The line the binary logs once it listens and its state is built, followed by the address.
const SERVING_LINE: &str = "Session Journey is serving http://";

/// Upper bound on the requests of one load loop, so that no loop can run away.
const MAX_REQUESTS_PER_LOOP: usize = 20_000;

/// Page responses and sign-ins the load must have completed before the kill.
const PAGES_BEFORE_KILL: usize = 30;
const SIGN_INS_BEFORE_KILL: usize = 4;

/// One run of the `session-journey` binary, with its data directory and log.
struct ServerProcess {
    /// The address of the current run, which visitors read for every request.
    addr: Arc<RwLock<SocketAddr>>,
    extra_args: Vec<String>,
    child: Option<Child>,
    /// Everything the current run wrote to stdout and stderr, for failure messages.
    output: Arc<Mutex<String>>,
    // Dropped last, so the directory outlives the process that uses it.
    root: TempDir,
}

impl ServerProcess {
    /// Starts the binary on a loopback port chosen by the kernel, with a fresh data directory
    /// and `extra_args` added to its command line, and waits until its health check passes.
    async fn start(extra_args: &[&str]) -> Self {
        assert_no_server_overrides();
        let root = tempfile::tempdir().expect("failed to create a temporary directory");
        let mut server = Self {
            addr: Arc::new(RwLock::new(SocketAddr::from(([127, 0, 0, 1], 0)))),
            extra_args: extra_args.iter().map(ToString::to_string).collect(),
            child: None,
            output: Arc::default(),
            root,
        };
        server.launch().await;
        server
    }

    /// Starts the binary again on the same data directory and settings, after it has exited.
    /// The new run listens on a new port, which the visitors follow.
    async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.launch().await;
    }

    fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// Returns a new browser for this server.
    fn visitor(&self) -> Visitor {
        Visitor::at(Arc::clone(&self.addr))
    }

    /// Sends `signal` to the running process.
    fn send_signal(&self, signal: libc::c_int) {
        let child = self.child.as_ref().expect("the server is not running");
        let pid = libc::pid_t::try_from(child.id()).expect("the process ID does not fit in pid_t");
        // SAFETY: kill(2) takes two integers and touches no memory of this process. The
        // child has not been waited for, so its ID still names it.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            result,
            0,
            "kill({pid}, {signal}) failed: {}",
            std::io::Error::last_os_error()
        );
    }

    /// Waits until the process has exited and returns its status. Fails the test, after a
    /// SIGKILL, when the process is still running after [`STEP_TIMEOUT`].
    async fn wait_for_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the server is not running");
        let pid = child.id();
        let waited = tokio::task::spawn_blocking(move || child.wait());
        match tokio::time::timeout(STEP_TIMEOUT, waited).await {
            Ok(joined) => joined
                .expect("the waiting task panicked")
                .expect("failed to wait for the server"),
            Err(_) => {
                // The blocking task still owns the child and reaps it once it has died.
                let pid = libc::pid_t::try_from(pid).expect("the process ID does not fit in pid_t");
                // SAFETY: as in send_signal, because the child has not been reaped yet.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!(
                    "the server did not exit within {STEP_TIMEOUT:?}; its output:\n{}",
                    self.output()
                );
            }
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Spawns the binary, waits for the line that names its address, then checks `/healthz`.
    async fn launch(&mut self) {
        let data_dir = self.data_dir();
        let data_dir = data_dir.to_str().expect("the temporary directory path is not UTF-8");
        let mut child = Command::new(env!("CARGO_BIN_EXE_session-journey"))
            .args([
                "--addr",
                "127.0.0.1:0",
                "--data-dir",
                data_dir,
                "--leptos-config",
                LEPTOS_CONFIG,
            ])
            .args(&self.extra_args)
            // The default log filter prints the serving line, and NO_COLOR keeps escape codes
            // out of it.
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("failed to start the server binary");

        self.output = Arc::default();
        let (serving, serving_received) = oneshot::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        collect_output(stdout, Arc::clone(&self.output), Some(serving));
        collect_output(stderr, Arc::clone(&self.output), None);
        self.child = Some(child);

        let addr = match tokio::time::timeout(STARTUP_TIMEOUT, serving_received).await {
            Ok(Ok(Ok(addr))) => addr,
            Ok(Ok(Err(line))) => panic!("the serving line names no address: {line}"),
            Ok(Err(_)) => panic!(
                "the server closed its output before serving; its output:\n{}",
                self.output()
            ),
            Err(_) => panic!(
                "the server did not serve within {STARTUP_TIMEOUT:?}; its output:\n{}",
                self.output()
            ),
        };
        *self.addr.write().unwrap() = addr;
        let health = self.visitor().get("/healthz").await;
        assert_eq!(health.status, StatusCode::OK, "{health:?}");
        assert_eq!(health.body, json!({ "status": "ok" }));
    }
}

impl Drop for ServerProcess {
    /// Kills a server that a failed test left running.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Copies `reader` line by line into `output` on a thread of its own, so that the pipe never
/// fills, and sends the address of the serving line to `serving`. The thread ends when the
/// process closes its end of the pipe. If the line never came, `serving` is dropped then.
fn collect_output(
    reader: impl Read + Send + 'static,
    output: Arc<Mutex<String>>,
    serving: Option<oneshot::Sender<Result<SocketAddr, String>>>,
) {
    std::thread::spawn(move || {
        let mut serving = serving;
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = serving_addr(&line) {
                if let Some(sender) = serving.take() {
                    let _ = sender.send(addr);
                }
            }
            let mut output = output.lock().unwrap();
            output.push_str(&line);
            output.push('\n');
        }
    });
}

/// Parses the address in the binary's serving line. Returns `None` for any other line, and
/// the line itself when it names no valid address.
fn serving_addr(line: &str) -> Option<Result<SocketAddr, String>> {
    let (_, rest) = line.split_once(SERVING_LINE)?;
    let addr = rest.split_whitespace().next().unwrap_or_default();
    Some(addr.parse().map_err(|_| line.to_owned()))
}

/// The credentials that one sign-in returned, to replay after a restart.
#[derive(Clone, Debug)]
struct Credentials {
    user: User,
    session: String,
    refresh: String,
    token: String,
}

impl Credentials {
    /// Reads the user and the three cookies of a successful `POST /api/login`.
    fn of_login(reply: &Reply, name: &str) -> Self {
        assert_eq!(reply.status, StatusCode::OK, "sign-in failed: {reply:?}");
        let user: User = serde_json::from_value(reply.body["user"].clone()).expect("the sign-in names no user");
        assert_eq!(user.name, name);
        let cookie = |cookie: &str| {
            reply
                .set_cookie_value(cookie)
                .unwrap_or_else(|| panic!("sign-in set no {cookie} cookie: {reply:?}"))
        };
        Self {
            session: cookie(SESSION_COOKIE),
            refresh: cookie(REFRESH_COOKIE),
            token: reply.token_cookie().expect("sign-in set no JWT cookie"),
            user,
        }
    }

    /// Checks that the session, the JWT and the refresh token each still authenticate the user.
    async fn assert_accepted(&self, checker: &Visitor) {
        let session = format!("{SESSION_COOKIE}={}", self.session);
        let stateful = send(checker.request_with_cookies(Method::GET, "/api/stateful/pages/orders", &session)).await;
        assert_eq!(
            stateful.status,
            StatusCode::OK,
            "the session of {} failed: {stateful:?}",
            self.user.name
        );
        let page: PageResponse = stateful.parse();
        assert_eq!(page.mode, Mode::Stateful);
        assert_eq!(page.user, self.user);

        let jwt = checker.jwt_page_with_token("orders", &self.token).await;
        assert_eq!(
            jwt.status,
            StatusCode::OK,
            "the JWT of {} failed: {jwt:?}",
            self.user.name
        );
        let page: PageResponse = jwt.parse();
        assert_eq!(page.mode, Mode::Jwt);
        assert_eq!(page.user, self.user);

        let refresh_cookie = format!("{REFRESH_COOKIE}={}", self.refresh);
        let refresh = send(checker.request_with_cookies(Method::POST, "/api/token/refresh", &refresh_cookie)).await;
        assert_eq!(
            refresh.status,
            StatusCode::OK,
            "the refresh token of {} failed: {refresh:?}",
            self.user.name
        );
        let body: RefreshResponse = refresh.parse();
        assert_eq!(body.user, self.user);
    }
}

/// What the load loops have completed so far.
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    pages: usize,
    sign_ins: usize,
}

/// State the load loops share with the test.
#[derive(Default)]
struct Load {
    progress: watch::Sender<Progress>,
    /// Set just before the kill: a request that a loop started while it was false and that
    /// then failed was cut off by the kill.
    killed: AtomicBool,
}

impl Load {
    /// Fails the test when a request failed in transport before the kill.
    fn assert_killed(&self, error: &reqwest::Error) {
        assert!(
            self.killed.load(Ordering::SeqCst),
            "a request failed before the kill: {error}"
        );
    }
}

/// How one load loop ended.
#[derive(Debug, Default)]
struct LoopEnd {
    /// The sign-ins that returned 200.
    signed_in: Vec<Credentials>,
    /// True when the loop's last request, started before the kill, failed in transport.
    cut_off: bool,
}

/// Requests `url` with `client` until a request fails in transport, checking that each
/// response is the page of `user`.
async fn page_loop(client: reqwest::Client, url: String, user: User, load: Arc<Load>) -> LoopEnd {
    for _ in 0..MAX_REQUESTS_PER_LOOP {
        let started_before_kill = !load.killed.load(Ordering::SeqCst);
        match try_send(client.get(&url)).await {
            Ok(reply) => {
                assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
                assert_eq!(reply.parse::<PageResponse>().user, user);
                load.progress.send_modify(|progress| progress.pages += 1);
            }
            Err(error) => {
                load.assert_killed(&error);
                return LoopEnd {
                    signed_in: Vec::new(),
                    cut_off: started_before_kill,
                };
            }
        }
    }
    LoopEnd::default()
}

/// Signs in new visitors one after another until a request fails in transport, and returns
/// the credentials of each sign-in that succeeded.
async fn sign_in_loop(addr: Arc<RwLock<SocketAddr>>, worker: usize, load: Arc<Load>) -> LoopEnd {
    let mut signed_in = Vec::new();
    for round in 0..MAX_REQUESTS_PER_LOOP {
        let name = format!("Load {worker}-{round}");
        let visitor = Visitor::at(Arc::clone(&addr));
        let started_before_kill = !load.killed.load(Ordering::SeqCst);
        match try_send(visitor.login_request(&name)).await {
            Ok(reply) => {
                signed_in.push(Credentials::of_login(&reply, &name));
                load.progress.send_modify(|progress| progress.sign_ins += 1);
            }
            Err(error) => {
                load.assert_killed(&error);
                return LoopEnd {
                    signed_in,
                    cut_off: started_before_kill,
                };
            }
        }
    }
    LoopEnd {
        signed_in,
        cut_off: false,
    }
}

#[tokio::test]
async fn sigkill_keeps_database_and_credentials() {
    // The simulated latency keeps each stateful page and sign-in in the server for 50 ms, so
    // that requests are in flight when the kill arrives. The long token lifetime keeps the
    // pre-kill JWTs valid however slow the restart. The load loops send as fast as they can,
    // from one browser each and one address, so the page and sign-in rate limits, per browser
    // and per address, are turned off.
    let mut server = ServerProcess::start(&[
        "--simulated-db-latency-ms",
        "50",
        "--jwt-ttl-secs",
        "3600",
        "--page-limit-per-minute",
        "0",
        "--sign-in-limit-per-minute",
        "0",
        "--sign-in-limit-per-address-per-minute",
        "0",
    ])
    .await;
    let key_file = server.data_dir().join(KEY_FILE);
    let key = std::fs::read(&key_file).expect("the server wrote no key file");

    let load = Arc::new(Load::default());
    let mut issued = Vec::new();
    let mut loops = Vec::new();
    for name in ["Ada", "Grace", "Edsger"] {
        let visitor = server.visitor();
        let credentials = Credentials::of_login(&visitor.login(name).await, name);
        for path in ["/api/stateful/pages/orders", "/api/jwt/pages/orders"] {
            let page = page_loop(
                visitor.client.clone(),
                visitor.url(path),
                credentials.user.clone(),
                Arc::clone(&load),
            );
            loops.push(tokio::spawn(page));
        }
        issued.push(credentials);
    }
    for worker in 0..2 {
        loops.push(tokio::spawn(sign_in_loop(
            Arc::clone(&server.addr),
            worker,
            Arc::clone(&load),
        )));
    }

    let mut progress = load.progress.subscribe();
    let enough = |progress: &Progress| progress.pages >= PAGES_BEFORE_KILL && progress.sign_ins >= SIGN_INS_BEFORE_KILL;
    tokio::time::timeout(STEP_TIMEOUT, progress.wait_for(enough))
        .await
        .expect("the load did not reach its mark within the timeout")
        .expect("the progress channel closed");
    load.killed.store(true, Ordering::SeqCst);
    server.send_signal(libc::SIGKILL);
    let status = server.wait_for_exit().await;
    assert_eq!(status.signal(), Some(libc::SIGKILL), "unexpected exit: {status:?}");

    let mut cut_off = 0;
    for handle in loops {
        let end = tokio::time::timeout(STEP_TIMEOUT, handle)
            .await
            .expect("a load loop did not end within the timeout")
            .expect("a load loop panicked");
        cut_off += usize::from(end.cut_off);
        issued.extend(end.signed_in);
    }
    assert!(cut_off > 0, "no request was in flight at the kill");
    assert!(
        issued.len() >= 3 + SIGN_INS_BEFORE_KILL,
        "too few sign-ins: {}",
        issued.len()
    );

    let (integrity,): (String,) =
        query_sqlite_file(&server.data_dir().join(DATABASE_FILE), "PRAGMA integrity_check").await;
    assert_eq!(integrity, "ok");

    server.restart().await;

    assert_eq!(std::fs::read(&key_file).expect("the key file is gone"), key);
    let checker = server.visitor();
    futures::future::join_all(issued.iter().map(|credentials| credentials.assert_accepted(&checker))).await;
}

#[tokio::test]
async fn sigterm_drains_requests_and_exits_zero() {
    // Each service's session load takes at least 100 ms, so the fan-out below is still being
    // served when the first service's log line arrives.
    let mut server = ServerProcess::start(&["--simulated-db-latency-ms", "100"]).await;
    let visitor = server.visitor();
    visitor.sign_in("Ada").await;
    let (mut events, _) = visitor.open_events().await;
    let mut presenter = open_presenter_stream(&visitor).await;

    let fan_out = tokio::spawn(send(visitor.request(Method::GET, "/api/stateful/services/orders")));
    let first = events.next_log().await;
    let service = first.service.as_deref().unwrap_or_default();
    assert!(["billing", "profile", "settings"].contains(&service), "{first:?}");
    assert_eq!(first.status, 200, "{first:?}");
    server.send_signal(libc::SIGTERM);

    let reply = tokio::time::timeout(STEP_TIMEOUT, fan_out)
        .await
        .expect("the fan-out did not answer within the timeout")
        .expect("the fan-out task panicked");
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let body: ServicesResponse = reply.parse();
    let calls: Vec<(&str, u16, Option<&str>)> = body
        .calls
        .iter()
        .map(|call| (call.service.as_str(), call.status, call.error.as_deref()))
        .collect();
    assert_eq!(
        calls,
        [("billing", 200, None), ("profile", 200, None), ("settings", 200, None)]
    );

    // The stream must end with EOF rather than a reset. Events sent before it closed may come
    // first.
    let rest = events.read_to_end().await;
    for event in &rest {
        assert!(
            ["log", "counters"].contains(&event.name.as_str()),
            "unexpected event: {event:?}"
        );
    }
    let presenter_end = async {
        while let Some(chunk) = presenter.next().await {
            chunk.expect("the presenter stream broke off instead of ending");
        }
    };
    tokio::time::timeout(STEP_TIMEOUT, presenter_end)
        .await
        .expect("the presenter stream did not end within the timeout");
    let status = server.wait_for_exit().await;
    assert_eq!(
        status.code(),
        Some(0),
        "unexpected exit: {status:?}; output:\n{}",
        server.output()
    );
}

/// Opens the presenter view's stream of the workshop room, `GET /api/room/events`, and reads
/// its first chunk, the `room` event with the snapshot.
async fn open_presenter_stream(visitor: &Visitor) -> impl Stream<Item = reqwest::Result<impl AsRef<[u8]>>> + Unpin {
    let response = tokio::time::timeout(STEP_TIMEOUT, visitor.request(Method::GET, "/api/room/events").send())
        .await
        .expect("GET /api/room/events timed out")
        .expect("GET /api/room/events failed");
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = Box::pin(response.bytes_stream());
    let first = tokio::time::timeout(STEP_TIMEOUT, stream.next())
        .await
        .expect("no room event arrived within the timeout")
        .expect("the presenter stream ended")
        .expect("reading the presenter stream failed");
    let first = String::from_utf8_lossy(first.as_ref()).into_owned();
    assert!(first.starts_with("event: room\n"), "{first}");
    stream
}
