//! The bundle route `/pkg` and the unauthenticated baseline page route, through real HTTP.
//!
//! The `/pkg` tests serve tiny fixture files from a temporary site root, so they check the
//! precompressed and cache headers without a release build of the bundle.

// The shared harness has helpers that these tests do not call.
#[allow(dead_code)]
mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use clap::Parser;
use common::{send, Reply, TestApp, STEP_TIMEOUT};
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use reqwest::{Method, StatusCode};
use session_journey::server::assets::{CACHE_HASHED, CACHE_UNHASHED};
use session_journey::server::config::Settings;
use session_journey::server::startup::{self, StartupError};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const LEPTOS_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml");

/// Fixture contents. The server does not look inside the files, so short markers are enough
/// to tell which of the three it sent.
const WASM_RAW: &[u8] = b"\0asm\x01\0\0\0";
const WASM_BR: &[u8] = b"brotli fixture";
const WASM_GZ: &[u8] = b"gzip fixture";
const JS_RAW: &[u8] = b"export default function init() {}\n";

/// A server whose Leptos site root is a temporary directory of fixture files.
struct FixtureServer {
    addr: SocketAddr,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), StartupError>>>,
    site_root: TempDir,
    _data_dir: TempDir,
}

impl FixtureServer {
    /// Starts a server on a loopback port whose site root contains `pkg/session-journey.wasm`
    /// with `.br` and `.gz` copies, and `pkg/session-journey.js` with no compressed copy.
    async fn start(hash_files: bool) -> Self {
        let site_root = tempfile::tempdir().expect("failed to create a temporary site root");
        write_fixtures(site_root.path());
        let data_dir = tempfile::tempdir().expect("failed to create a temporary data directory");

        let settings = Settings::parse_from([
            "session-journey",
            "--data-dir",
            data_dir.path().to_str().expect("the temporary directory path is not UTF-8"),
            "--addr",
            "127.0.0.1:0",
            "--leptos-config",
            LEPTOS_CONFIG,
        ]);
        let mut state = startup::build_state(settings).await.expect("failed to build the server state");
        let site_root_path = site_root.path().to_str().expect("the site root path is not UTF-8");
        state.leptos_options.site_root = site_root_path.into();
        state.leptos_options.hash_files = hash_files;

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("failed to bind a loopback port");
        let addr = listener.local_addr().expect("the listener has no local address");
        let (shutdown, shutdown_received) = oneshot::channel::<()>();
        let task = tokio::spawn(startup::serve(listener, state, async move {
            let _ = shutdown_received.await;
        }));
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("failed to build the HTTP client");
        Self {
            addr,
            client,
            shutdown: Some(shutdown),
            task: Some(task),
            site_root,
            _data_dir: data_dir,
        }
    }

    /// Sends `GET path` with the given Accept-Encoding header, or none.
    async fn get(&self, path: &str, accept_encoding: Option<&str>) -> Reply {
        let mut request = self.client.request(Method::GET, format!("http://{}{path}", self.addr));
        if let Some(encodings) = accept_encoding {
            request = request.header(ACCEPT_ENCODING, encodings);
        }
        send(request).await
    }

    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let task = self.task.take().expect("the server task is missing");
        let result = tokio::time::timeout(STEP_TIMEOUT, task)
            .await
            .expect("the server did not stop within the timeout")
            .expect("the server task panicked");
        result.expect("serve returned an error");
    }
}

fn write_fixtures(site_root: &Path) {
    let pkg = site_root.join("pkg");
    std::fs::create_dir_all(&pkg).expect("failed to create the pkg directory");
    let files: [(&str, &[u8]); 4] = [
        ("session-journey.wasm", WASM_RAW),
        ("session-journey.wasm.br", WASM_BR),
        ("session-journey.wasm.gz", WASM_GZ),
        ("session-journey.js", JS_RAW),
    ];
    for (name, contents) in files {
        std::fs::write(pkg.join(name), contents).expect("failed to write a fixture file");
    }
}

fn header<'a>(reply: &'a Reply, name: reqwest::header::HeaderName) -> Option<&'a str> {
    reply.headers.get(name).and_then(|value| value.to_str().ok())
}

#[tokio::test]
async fn pkg_serves_brotli_when_accepted() {
    let server = FixtureServer::start(false).await;

    let reply = server.get("/pkg/session-journey.wasm", Some("gzip, deflate, br")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_ENCODING), Some("br"));
    assert_eq!(reply.text.as_bytes(), WASM_BR);
    assert_eq!(header(&reply, CONTENT_TYPE), Some("application/wasm"));
    assert_eq!(header(&reply, VARY), Some("accept-encoding"));
    server.stop().await;
}

#[tokio::test]
async fn pkg_serves_gzip_without_brotli() {
    let server = FixtureServer::start(false).await;

    let reply = server.get("/pkg/session-journey.wasm", Some("gzip")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_ENCODING), Some("gzip"));
    assert_eq!(reply.text.as_bytes(), WASM_GZ);
    server.stop().await;
}

#[tokio::test]
async fn pkg_serves_raw_file_without_accept_encoding() {
    let server = FixtureServer::start(false).await;

    let reply = server.get("/pkg/session-journey.wasm", None).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_ENCODING), None);
    assert_eq!(reply.text.as_bytes(), WASM_RAW);
    server.stop().await;
}

#[tokio::test]
async fn pkg_falls_back_without_compressed_copy() {
    let server = FixtureServer::start(false).await;

    let reply = server.get("/pkg/session-journey.js", Some("br, gzip")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_ENCODING), None);
    assert_eq!(reply.text.as_bytes(), JS_RAW);
    server.stop().await;
}

#[tokio::test]
async fn pkg_skips_copy_older_than_file() {
    let server = FixtureServer::start(false).await;
    let copy = server.site_root.path().join("pkg/session-journey.wasm.br");
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let file = std::fs::File::options().write(true).open(&copy).expect("failed to open the .br fixture");
    file.set_modified(an_hour_ago).expect("failed to backdate the .br fixture");

    let reply = server.get("/pkg/session-journey.wasm", Some("br")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_ENCODING), None);
    assert_eq!(reply.text.as_bytes(), WASM_RAW);
    server.stop().await;
}

#[tokio::test]
async fn pkg_accepts_copy_with_truncated_mtime() {
    let server = FixtureServer::start(false).await;
    let pkg = server.site_root.path().join("pkg");
    // brotli copies the source's modification time to its output, truncated to whole seconds.
    let second = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let open = |name: &str| {
        std::fs::File::options()
            .write(true)
            .open(pkg.join(name))
            .expect("failed to open a fixture")
    };
    open("session-journey.wasm")
        .set_modified(second + Duration::from_millis(900))
        .expect("failed to set the modification time of the .wasm fixture");
    open("session-journey.wasm.br")
        .set_modified(second)
        .expect("failed to set the modification time of the .br fixture");

    let reply = server.get("/pkg/session-journey.wasm", Some("br")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_ENCODING), Some("br"));
    assert_eq!(reply.text.as_bytes(), WASM_BR);
    server.stop().await;
}

#[tokio::test]
async fn pkg_unhashed_names_are_revalidated() {
    let server = FixtureServer::start(false).await;

    let reply = server.get("/pkg/session-journey.wasm", Some("br")).await;

    assert_eq!(header(&reply, CACHE_CONTROL), Some(CACHE_UNHASHED));
    server.stop().await;
}

#[tokio::test]
async fn pkg_hashed_names_are_immutable() {
    let server = FixtureServer::start(true).await;

    let reply = server.get("/pkg/session-journey.wasm", Some("br")).await;

    assert_eq!(header(&reply, CACHE_CONTROL), Some(CACHE_HASHED));
    server.stop().await;
}

#[tokio::test]
async fn pkg_missing_file_is_not_cached() {
    let server = FixtureServer::start(true).await;

    let reply = server.get("/pkg/no-such-file.wasm", Some("br")).await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(header(&reply, CACHE_CONTROL), None);
    server.stop().await;
}

/// Checks the bundle that `cargo leptos build --release` and `scripts/compress-assets.sh`
/// wrote to `target/site/pkg`, through the site root that `Leptos.toml` names.
#[tokio::test]
async fn built_bundle_serves_brotli_copy() {
    let compressed = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/site/pkg/session-journey.wasm.br");
    if !compressed.exists() {
        eprintln!(
            "built_bundle_serves_brotli_copy: skipped the content-encoding check because {} \
             does not exist; run `cargo leptos build --release` and scripts/compress-assets.sh",
            compressed.display()
        );
        return;
    }
    let app = TestApp::spawn().await;

    let request = app
        .cookieless()
        .request(Method::GET, "/pkg/session-journey.wasm")
        .header(ACCEPT_ENCODING, "br");
    let reply = send(request).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, CONTENT_ENCODING), Some("br"));
}

#[tokio::test]
async fn baseline_page_has_no_user() {
    let app = TestApp::spawn().await;

    let reply = app.get("/api/baseline/pages/orders").await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["page"], "orders");
    assert_eq!(reply.body["title"], "Orders");
    assert_eq!(reply.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(reply.body["items"][0]["label"], "#1042");
    assert!(reply.body.get("user").is_none(), "{}", reply.text);
    assert!(reply.body.get("mode").is_none(), "{}", reply.text);
}

#[tokio::test]
async fn baseline_unknown_page_is_404() {
    let app = TestApp::spawn().await;

    let reply = app.get("/api/baseline/pages/admin").await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "page_not_found");
}

#[tokio::test]
async fn baseline_page_is_not_logged_or_counted() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut events, before) = app.open_events().await;
    let sessions_before = app.session_rows().await;

    let reply = app.get("/api/baseline/pages/dashboard").await;
    assert_eq!(reply.status, StatusCode::OK);
    let after = app.stats().await;
    // A logged request, so that the next event shows whether the baseline one was logged.
    let marker = app.jwt_page("orders").await;
    assert_eq!(marker.status, StatusCode::OK);

    assert_eq!(after.visitor, before.visitor);
    assert_eq!(after.server, before.server);
    assert_eq!(app.session_rows().await, sessions_before);
    let line = events.next_log().await;
    assert_eq!(line.path, "/api/jwt/pages/orders", "unexpected log line: {line:?}");
}
