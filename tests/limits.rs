//! Rate limits, the server-wide simulation caps, connection timeouts and the connection cap,
//! and the JSON bodies of errors that hyper, ServeDir or a missing route would otherwise send
//! bare.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use session_journey::model::{SimulationState, SimulationStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{
    send, simulation_request, Reply, TestApp, Visitor, WatchedVisitor, STEP_TIMEOUT, VISITOR_COOKIE,
};

/// The header that exempts the server's own loopback requests, with the right secret.
const LOOPBACK_SECRET_HEADER: &str = "x-session-journey-loopback";

const STATEFUL_ORDERS: &str = "/api/stateful/pages/orders";

/// Sends a request that no limit counts, so that the visitor has its cookie before the
/// limited requests, because requests without one are counted by address.
async fn take_visitor_cookie(visitor: &Visitor) {
    assert_eq!(visitor.get("/api/stats").await.status, StatusCode::OK);
}

fn retry_after(reply: &Reply) -> Option<&str> {
    reply.headers.get(RETRY_AFTER).and_then(|value| value.to_str().ok())
}

fn reason(reply: &Reply) -> &str {
    reply.body["reason"].as_str().unwrap_or_default()
}

/// Checks that `reply` is a 429 `rate_limited` with `expected_reason` and `Retry-After`.
fn assert_rate_limited(reply: &Reply, expected_reason: &str, expected_retry_after: &str) {
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{reply:?}");
    assert_eq!(reply.error_code(), "rate_limited", "{reply:?}");
    assert_eq!(reason(reply), expected_reason);
    assert_eq!(retry_after(reply), Some(expected_retry_after));
}

#[tokio::test]
async fn page_limit_rejects_past_burst() {
    let mut watched =
        WatchedVisitor::start_with(&["--page-limit-per-minute", "1", "--page-limit-burst", "2"]).await;

    for _ in 0..2 {
        let reply = watched.app.stateful_page("orders").await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        watched.events.next_log().await;
        watched.events.next_counters().await;
    }
    let reply = watched.app.stateful_page("orders").await;

    assert_rate_limited(
        &reply,
        "this browser sent more page requests than the limit of 1 a minute with bursts of 2; try again in 60 s",
        "60",
    );
    let line = watched.assert_rejected(&reply, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(line.path, STATEFUL_ORDERS);
    assert!(!line.counted, "a rejected request counted as a page request");
    let stats = watched.app.stats().await;
    assert_eq!(stats.visitor.stateful_requests, 2);
}

#[tokio::test]
async fn page_limit_recovers_after_retry_after() {
    let app = TestApp::spawn_with(&["--page-limit-per-minute", "60", "--page-limit-burst", "1"]).await;
    app.sign_in("Ada").await;
    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);

    let limited = app.stateful_page("orders").await;
    assert_rate_limited(
        &limited,
        "this browser sent more page requests than the limit of 60 a minute with bursts of 1; try again in 1 s",
        "1",
    );

    // One request a second refills the burst of 1 after the second that Retry-After names.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let reply = app.stateful_page("orders").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test]
async fn page_limit_is_per_visitor() {
    let app = TestApp::spawn_with(&["--page-limit-per-minute", "1", "--page-limit-burst", "1"]).await;
    let other = app.new_visitor();
    take_visitor_cookie(&app).await;
    take_visitor_cookie(&other).await;

    assert_eq!(app.jwt_page("orders").await.error_code(), "token_missing");
    assert_eq!(app.jwt_page("orders").await.error_code(), "rate_limited");
    assert_eq!(other.jwt_page("orders").await.error_code(), "token_missing");
}

#[tokio::test]
async fn fan_out_counts_once_as_page() {
    let app = TestApp::spawn_with(&["--page-limit-per-minute", "1", "--page-limit-burst", "1"]).await;
    app.sign_in("Ada").await;

    // The fan-out's three loopback service requests carry the secret, so they pass although
    // the burst is one request.
    let reply = app.get("/api/stateful/services/dashboard").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let calls = reply.body["calls"].as_array().expect("the fan-out returned no calls");
    assert_eq!(calls.len(), 3);
    for call in calls {
        assert_eq!(call["status"], 200, "{call}");
    }

    let second = app.get("/api/stateful/services/dashboard").await;
    assert_rate_limited(
        &second,
        "this browser sent more page requests than the limit of 1 a minute with bursts of 1; try again in 60 s",
        "60",
    );
    let direct = app.get("/services/billing/stateful").await;
    assert_eq!(direct.error_code(), "rate_limited", "{direct:?}");
}

#[tokio::test]
async fn sign_in_limit_applies() {
    let app = TestApp::spawn_with(&["--sign-in-limit-per-minute", "1", "--sign-in-limit-burst", "1"]).await;
    take_visitor_cookie(&app).await;

    assert_eq!(app.login("Ada").await.status, StatusCode::OK);
    let reply = app.login("Ada").await;

    assert_rate_limited(
        &reply,
        "this browser sent more sign-ins than the limit of 1 a minute with bursts of 1; try again in 60 s",
        "60",
    );
}

#[tokio::test]
async fn cookieless_requests_share_address_limit() {
    let app = TestApp::spawn_with(&["--sign-in-limit-per-minute", "1", "--sign-in-limit-burst", "1"]).await;
    let first = app.cookieless();
    let second = app.cookieless();

    assert_eq!(first.login("Ada").await.status, StatusCode::OK);
    let reply = second.login("Grace").await;

    assert_rate_limited(
        &reply,
        "this address, which sent no visitor cookie, sent more sign-ins than the limit of 1 a minute with \
         bursts of 1; try again in 60 s",
        "60",
    );
}

/// Sends `POST /api/login` with a visitor cookie of its own, as a script that makes up a new
/// visitor ID for every request would.
async fn login_with_new_visitor_id(app: &TestApp, index: u32, name: &str) -> Reply {
    let cookie = format!("{VISITOR_COOKIE}={index:032x}");
    let request = app
        .request_with_cookies(Method::POST, "/api/login", &cookie)
        .json(&serde_json::json!({ "name": name }));
    send(request).await
}

#[tokio::test]
async fn address_sign_in_limit_ignores_visitor_id() {
    let app = TestApp::spawn_with(&[
        "--sign-in-limit-per-address-per-minute",
        "1",
        "--sign-in-limit-per-address-burst",
        "2",
    ])
    .await;
    let watched = app.new_visitor();
    take_visitor_cookie(&watched).await;
    let (mut events, _) = watched.open_events().await;

    for index in 1..=2 {
        let reply = login_with_new_visitor_id(&app, index, "Mallory").await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
    let rotated = login_with_new_visitor_id(&app, 3, "Mallory").await;
    let browser = watched.login("Ada").await;

    let expected = "this address sent more sign-ins than the per-address limit of 1 a minute with bursts of 2, \
         which counts sign-ins from every browser at this address; try again in 60 s";
    assert_rate_limited(&rotated, expected, "60");
    assert_rate_limited(&browser, expected, "60");
    let line = events.next_log().await;
    assert_eq!(line.status, 429, "{line:?}");
    assert_eq!(line.path, "/api/login");
    assert_eq!(line.message, format!("rate_limited: {expected}"));
    let cookieless = app.cookieless().login("Grace").await;
    assert_rate_limited(&cookieless, expected, "60");
}

#[tokio::test]
async fn address_sign_in_limit_turns_off() {
    let app = TestApp::spawn_with(&["--sign-in-limit-per-address-per-minute", "0"]).await;

    // Past the default per-browser burst of 10, but from 12 browsers.
    for index in 1..=12 {
        let reply = login_with_new_visitor_id(&app, index, "Ada").await;
        assert_eq!(reply.status, StatusCode::OK, "sign-in {index}: {reply:?}");
    }
}

#[tokio::test]
async fn simulation_start_limit_applies() {
    let app = TestApp::spawn_with(&[
        "--simulation-start-limit-per-minute",
        "1",
        "--simulation-start-limit-burst",
        "1",
    ])
    .await;
    take_visitor_cookie(&app).await;
    let invalid = simulation_request(0, 1, 0, "jwt");

    assert_eq!(app.start_simulation(&invalid).await.error_code(), "simulation_invalid");
    let reply = app.start_simulation(&invalid).await;

    assert_rate_limited(
        &reply,
        "this browser sent more simulation starts than the limit of 1 a minute with bursts of 1; try again in 60 s",
        "60",
    );
}

#[tokio::test]
async fn attack_limit_applies() {
    let app = TestApp::spawn_with(&["--attack-limit-per-minute", "1", "--attack-limit-burst", "1"]).await;
    app.sign_in("Ada").await;

    let first = app.run_attack("tampered-payload").await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    let reply = app.run_attack("tampered-payload").await;

    assert_rate_limited(
        &reply,
        "this browser sent more attack-lab runs than the limit of 1 a minute with bursts of 1; try again in 60 s",
        "60",
    );
}

#[tokio::test]
async fn simulation_with_secret_is_exempt() {
    let app = TestApp::spawn_with(&[
        "--page-limit-per-minute",
        "1",
        "--page-limit-burst",
        "2",
        "--sign-in-limit-per-minute",
        "1",
        "--sign-in-limit-burst",
        "1",
        "--sign-in-limit-per-address-per-minute",
        "1",
        "--sign-in-limit-per-address-burst",
        "1",
    ])
    .await;
    let (mut events, _) = app.open_events().await;

    // Each virtual user sends 4 page requests, past the burst of 2, and the 3 sign-ins come
    // from one address without a visitor cookie, past the bursts of 1 per browser and per
    // address.
    let reply = app.start_simulation(&simulation_request(3, 4, 0, "stateful")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let started: SimulationStatus = reply.parse();
    let ended = events.wait_for_simulation_end(&started.id).await;

    assert_eq!(ended.state, SimulationState::Finished);
    let result = &ended.results[0];
    assert_eq!(result.failed_sign_ins, 0, "{result:?}");
    assert_eq!(result.requests, 12, "{result:?}");
    assert_eq!(result.errors, 0, "{result:?}");
}

#[tokio::test]
async fn forged_secret_is_not_exempt() {
    let app = TestApp::spawn_with(&["--page-limit-per-minute", "1", "--page-limit-burst", "1"]).await;
    take_visitor_cookie(&app).await;
    let forged = [
        "0".repeat(64),
        "not-the-secret".to_owned(),
        String::new(),
        format!("{}, {}", "0".repeat(64), "1".repeat(64)),
    ];

    let first = send(app.request(Method::GET, STATEFUL_ORDERS).header(LOOPBACK_SECRET_HEADER, &forged[0])).await;
    assert_eq!(first.error_code(), "session_missing", "{first:?}");
    for value in &forged {
        let request = app.request(Method::GET, STATEFUL_ORDERS).header(LOOPBACK_SECRET_HEADER, value);
        let reply = send(request).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{value:?} was exempt: {reply:?}");
    }
}

#[tokio::test]
async fn running_simulation_cap_applies() {
    let app = TestApp::spawn_with(&["--max-running-simulations", "1"]).await;
    let other = app.new_visitor();
    let (mut events, _) = app.open_events().await;
    // With 2 s between pages, 5 pages keep this run going for about 8 s unless cancelled.
    let first = app.start_simulation(&simulation_request(1, 5, 2000, "jwt")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let first: SimulationStatus = first.parse();

    let busy = other.start_simulation(&simulation_request(1, 1, 0, "jwt")).await;

    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE, "{busy:?}");
    assert_eq!(busy.error_code(), "simulations_busy");
    assert_eq!(
        reason(&busy),
        "the limit of simulations running at once on this server is 1, and 1 are running; try again when one \
         finishes"
    );

    assert_eq!(app.cancel_simulation(&first.id).await.status, StatusCode::OK);
    events.wait_for_simulation_end(&first.id).await;
    let after = other.start_simulation(&simulation_request(1, 1, 0, "jwt")).await;
    assert_eq!(after.status, StatusCode::CREATED, "{after:?}");
}

#[tokio::test]
async fn running_virtual_user_cap_applies() {
    let app = TestApp::spawn_with(&["--max-running-virtual-users", "4"]).await;
    let other = app.new_visitor();
    let (_events, _) = app.open_events().await;
    let first = app.start_simulation(&simulation_request(3, 5, 2000, "jwt")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");

    let busy = other.start_simulation(&simulation_request(2, 1, 0, "jwt")).await;

    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE, "{busy:?}");
    assert_eq!(busy.error_code(), "simulations_busy");
    assert_eq!(
        reason(&busy),
        "the running simulations have 3 virtual users, and 2 more would pass the limit of 4 on this server; \
         lower the virtual users or try again when a simulation finishes"
    );
    let fits = other.start_simulation(&simulation_request(1, 1, 0, "jwt")).await;
    assert_eq!(fits.status, StatusCode::CREATED, "{fits:?}");
}

/// Reads from `stream` until the server closes it, and returns what it read and when it closed.
async fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Instant) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(STEP_TIMEOUT, stream.read(&mut buffer))
            .await
            .expect("the server did not close the connection within the timeout");
        match read {
            Ok(0) | Err(_) => return (received, Instant::now()),
            Ok(count) => received.extend_from_slice(&buffer[..count]),
        }
    }
}

/// A response read from a raw connection: the status and the body as JSON (`Null` when the
/// body is empty or not JSON).
struct RawReply {
    status: u16,
    content_type: Option<String>,
    body: Value,
}

/// Sends `request` on a new connection and reads one response, by its Content-Length.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> RawReply {
    let mut stream = TcpStream::connect(app.addr).await.expect("failed to connect");
    stream.write_all(request).await.expect("failed to send the request");
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let read_response = async {
        loop {
            if let Some(reply) = parse_response(&received) {
                return reply;
            }
            let count = stream.read(&mut buffer).await.expect("failed to read the response");
            assert!(count > 0, "the connection closed before a whole response: {:?}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&buffer[..count]);
        }
    };
    tokio::time::timeout(STEP_TIMEOUT, read_response)
        .await
        .expect("no response arrived within the timeout")
}

/// Parses a complete HTTP/1.1 response with a Content-Length, or returns `None` while it is
/// incomplete.
fn parse_response(bytes: &[u8]) -> Option<RawReply> {
    let head_end = bytes.windows(4).position(|window| window == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_lowercase();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")).map(str::to_owned))
    };
    let length: usize = header("content-length").and_then(|value| value.parse().ok()).unwrap_or(0);
    let body = bytes.get(head_end..head_end + length)?;
    Some(RawReply {
        status,
        content_type: header("content-type"),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    })
}

#[tokio::test]
async fn slow_headers_close_connection() {
    let app = TestApp::spawn_with(&["--header-read-timeout-secs", "1"]).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("failed to connect");
    let sent = Instant::now();

    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("failed to send the partial request");
    let (received, closed) = read_until_closed(&mut stream).await;

    assert!(received.is_empty(), "the server answered: {:?}", String::from_utf8_lossy(&received));
    let open_for = closed - sent;
    assert!(open_for >= Duration::from_millis(900), "closed after {open_for:?}, before the timeout");
}

#[tokio::test]
async fn silent_connection_closes() {
    let app = TestApp::spawn_with(&["--header-read-timeout-secs", "1"]).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("failed to connect");
    let connected = Instant::now();

    let (received, closed) = read_until_closed(&mut stream).await;

    assert!(received.is_empty(), "the server answered: {:?}", String::from_utf8_lossy(&received));
    let open_for = closed - connected;
    assert!(open_for >= Duration::from_millis(900), "closed after {open_for:?}, before the timeout");
}

#[tokio::test]
async fn http2_prior_knowledge_is_not_served() {
    let app = TestApp::spawn_with(&["--header-read-timeout-secs", "1"]).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("failed to connect");

    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .expect("failed to send the HTTP/2 preface");
    let (received, _) = read_until_closed(&mut stream).await;

    let text = String::from_utf8_lossy(&received);
    assert!(!text.contains("HTTP/2"), "the server spoke HTTP/2: {text:?}");
    assert!(received.is_empty() || text.starts_with("HTTP/1.1 400") || text.starts_with("HTTP/1.1 505"), "{text:?}");
}

#[tokio::test]
async fn slow_body_gets_408() {
    let app = TestApp::spawn_with(&["--body-read-timeout-secs", "1"]).await;
    let request = b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
Content-Length: 40\r\n\r\n{\"name\": ";

    let reply = raw_exchange(&app, request).await;

    assert_eq!(reply.status, 408);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    assert_eq!(reply.body["error"], "body_timeout");
    assert_eq!(
        reply.body["reason"],
        "the rest of the request body did not arrive in time; send the whole body at once"
    );
}

#[tokio::test]
async fn connections_past_cap_are_closed() {
    let app = TestApp::spawn_with(&["--max-connections", "2"]).await;
    let open_connections = [
        TcpStream::connect(app.addr).await.expect("failed to connect"),
        TcpStream::connect(app.addr).await.expect("failed to connect"),
    ];
    let mut over_cap = TcpStream::connect(app.addr).await.expect("failed to connect");
    let connected = Instant::now();

    let (received, closed) = read_until_closed(&mut over_cap).await;

    assert!(received.is_empty());
    // The header read timeout is 15 s, so an earlier close is the connection cap.
    assert!(closed - connected < Duration::from_secs(5), "closed after {:?}", closed - connected);

    drop(open_connections);
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let attempt = app.cookieless().client.get(app.url("/healthz")).send().await;
        if attempt.is_ok_and(|response| response.status() == StatusCode::OK) {
            break;
        }
        assert!(Instant::now() < deadline, "no connection was accepted after the open ones closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks that `reply` is a JSON error with `status`, `code` and `expected_reason`.
fn assert_json_error(reply: &Reply, status: StatusCode, code: &str, expected_reason: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()), Some("application/json"));
    assert_eq!(reply.error_code(), code, "{reply:?}");
    assert_eq!(reason(reply), expected_reason);
}

#[tokio::test]
async fn service_paths_return_json_errors() {
    let app = TestApp::spawn().await;
    let unknown = "no service has this path; the services are /services/{billing,profile,settings}/{stateful,jwt}";

    let wrong_method = send(app.request(Method::POST, "/services/billing/jwt")).await;
    let wrong_fan_out_method = send(app.request(Method::POST, "/api/jwt/services/dashboard")).await;
    let unknown_service = app.get("/services/nope/jwt").await;
    let unknown_mode = app.get("/services/billing/nope").await;

    let method_reason = "this API route does not accept that method";
    assert_json_error(&wrong_method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", method_reason);
    assert_json_error(&wrong_fan_out_method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", method_reason);
    assert_json_error(&unknown_service, StatusCode::NOT_FOUND, "route_not_found", unknown);
    assert_json_error(&unknown_mode, StatusCode::NOT_FOUND, "route_not_found", unknown);
}

#[tokio::test]
async fn bundle_paths_return_json_errors() {
    let app = TestApp::spawn().await;

    let missing = app.get("/pkg/nope.js").await;
    let wrong_method = send(app.request(Method::POST, "/pkg/nope.js")).await;

    assert_json_error(&missing, StatusCode::NOT_FOUND, "file_not_found", "the bundle has no file \"/nope.js\"");
    assert_json_error(
        &wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "the bundle's files accept only GET and HEAD",
    );
}

/// Builds a GET request for `/healthz` with `count` headers in all, Host included.
fn request_with_headers(count: usize) -> Vec<u8> {
    let mut request = String::from("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for index in 1..count {
        request.push_str(&format!("x-extra-{index}: 1\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

#[tokio::test]
async fn too_many_headers_get_json_431() {
    let app = TestApp::spawn().await;

    let at_limit = raw_exchange(&app, &request_with_headers(100)).await;
    let over_limit = raw_exchange(&app, &request_with_headers(101)).await;

    assert_eq!(at_limit.status, 200);
    assert_eq!(over_limit.status, 431);
    assert_eq!(over_limit.content_type.as_deref(), Some("application/json"));
    assert_eq!(over_limit.body["error"], "too_many_headers");
    assert_eq!(over_limit.body["reason"], "the request has 101 headers; the limit is 100");
}

#[tokio::test]
async fn headers_past_hyper_limit_get_bare_431() {
    let app = TestApp::spawn().await;

    // Past the 512 headers that hyper parses, hyper responds before any middleware runs.
    let reply = raw_exchange(&app, &request_with_headers(513)).await;

    assert_eq!(reply.status, 431);
    assert_eq!(reply.body, Value::Null);
}
