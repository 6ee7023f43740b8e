//! The live stream at `GET /api/events`: event order and contents, and the stream limits.

use crate::common::{
    counters, TestApp, DELETE_SESSION, DELETE_USER_REFRESH_TOKENS, INSERT_REFRESH_TOKEN, INSERT_SESSION, SELECT_SESSION,
};
use reqwest::StatusCode;
use session_journey::model::{Counters, Mode};

#[tokio::test]
async fn stream_opens_with_counters() {
    let app = TestApp::spawn().await;
    let mut events = app.events().await.expect("GET /api/events was rejected");

    let first = events.next_event().await;

    assert_eq!(first.name, "counters");
    assert_eq!(first.data["visitor"], serde_json::json!(Counters::default()));
    assert_eq!(first.data["server"], serde_json::json!(Counters::default()));
}

#[tokio::test]
async fn stream_opens_with_current_totals() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);

    let (_events, initial) = app.open_events().await;

    assert_eq!(initial.visitor, counters(1, 1, 1));
    assert_eq!(initial.server, counters(1, 1, 1));
}

#[tokio::test]
async fn stateful_request_logs_one_select() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);

    let line = events.next_log().await;
    assert_eq!(line.method, "GET");
    assert_eq!(line.path, "/api/stateful/pages/orders");
    assert_eq!(line.status, 200);
    assert_eq!(line.mode, Some(Mode::Stateful));
    assert_eq!(line.statements.len(), 1);
    assert_eq!(line.statements[0].sql, SELECT_SESSION);
    assert!(line.counted);
    assert!(line.auth_us.is_some());
    assert_eq!(line.message, "served Orders to Ada");
    let stats = events.next_counters().await;
    assert_eq!(stats.visitor, counters(1, 1, 0));
    assert_eq!(stats.server, counters(1, 1, 0));
}

#[tokio::test]
async fn jwt_request_logs_no_statements() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    assert_eq!(app.jwt_page("billing").await.status, StatusCode::OK);

    let line = events.next_log().await;
    assert_eq!(line.method, "GET");
    assert_eq!(line.path, "/api/jwt/pages/billing");
    assert_eq!(line.status, 200);
    assert_eq!(line.mode, Some(Mode::Jwt));
    assert_eq!(line.statements, Vec::new());
    assert!(line.counted);
    assert_eq!(line.message, "served Billing to Ada");
    let stats = events.next_counters().await;
    assert_eq!(stats.visitor, counters(0, 0, 1));
    assert_eq!(stats.server, counters(0, 0, 1));
}

#[tokio::test]
async fn sign_in_logs_uncounted_insert() {
    let app = TestApp::spawn().await;
    let (mut events, _) = app.open_events().await;

    app.sign_in("Ada").await;

    let line = events.next_log().await;
    assert_eq!(line.method, "POST");
    assert_eq!(line.path, "/api/login");
    assert_eq!(line.status, 200);
    assert_eq!(line.mode, None);
    let sql: Vec<&str> = line.statements.iter().map(|statement| statement.sql.as_str()).collect();
    // The session layer writes the session after the handler has stored the refresh token.
    assert_eq!(sql, [INSERT_REFRESH_TOKEN, INSERT_SESSION]);
    assert!(!line.counted);
    let stats = events.next_counters().await;
    assert_eq!(stats.visitor, Counters::default());
    assert_eq!(stats.server, Counters::default());
}

#[tokio::test]
async fn second_sign_in_replaces_session() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    app.sign_in("Ada").await;

    // Signing in with a live session gives it a new ID: load it, delete it, insert it anew.
    let line = events.next_log().await;
    let sql: Vec<&str> = line.statements.iter().map(|statement| statement.sql.as_str()).collect();
    assert_eq!(sql, [SELECT_SESSION, DELETE_SESSION, INSERT_REFRESH_TOKEN, INSERT_SESSION]);
    assert!(!line.counted);
}

#[tokio::test]
async fn logout_logs_uncounted_delete() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    assert_eq!(app.logout().await.status, StatusCode::OK);

    let line = events.next_log().await;
    assert_eq!(line.path, "/api/logout");
    assert_eq!(line.status, 200);
    let sql: Vec<&str> = line.statements.iter().map(|statement| statement.sql.as_str()).collect();
    // Flushing a session deletes it by ID without loading it first. The JWT names the user
    // whose refresh tokens go with it.
    assert_eq!(sql, [DELETE_SESSION, DELETE_USER_REFRESH_TOKENS]);
    assert!(!line.counted);
    let stats = events.next_counters().await;
    assert_eq!(stats.visitor, Counters::default());
}

#[tokio::test]
async fn log_numbers_increase_by_one() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);
    let first = events.next_log().await;
    events.next_counters().await;
    assert_eq!(app.jwt_page("billing").await.status, StatusCode::OK);
    let second = events.next_log().await;

    assert_eq!(second.seq, first.seq + 1);
}

#[tokio::test]
async fn reset_sends_zeroed_counters() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);
    let (mut events, _) = app.open_events().await;

    assert_eq!(app.reset().await.status, StatusCode::OK);

    // The reset itself sends counters, then the activity log adds its line and counters.
    let after_reset = events.next_counters().await;
    assert_eq!(after_reset.visitor, Counters::default());
    assert_eq!(after_reset.server, counters(1, 1, 0));
    let line = events.next_log().await;
    assert_eq!(line.path, "/api/reset");
    assert_eq!(line.status, 200);
    assert!(!line.counted);
    let after_log = events.next_counters().await;
    assert_eq!(after_log.visitor, Counters::default());
    assert_eq!(after_log.server, counters(1, 1, 0));
}

#[tokio::test]
async fn streams_show_only_own_requests() {
    let app = TestApp::spawn().await;
    let bob = app.new_visitor();
    app.sign_in("Ada").await;
    bob.sign_in("Bob").await;
    let (mut events, _) = app.open_events().await;

    assert_eq!(bob.stateful_page("orders").await.status, StatusCode::OK);
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);

    let line = events.next_log().await;
    assert_eq!(line.path, "/api/jwt/pages/orders");
    assert_eq!(line.message, "served Orders to Ada");
    let stats = events.next_counters().await;
    assert_eq!(stats.visitor, counters(0, 0, 1));
    assert_eq!(stats.server, counters(1, 1, 1));
}

#[tokio::test]
async fn every_open_stream_gets_events() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut first, _) = app.open_events().await;
    let (mut second, _) = app.open_events().await;

    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);

    assert_eq!(first.next_log().await.path, "/api/jwt/pages/orders");
    assert_eq!(second.next_log().await.path, "/api/jwt/pages/orders");
}

#[tokio::test]
async fn default_stream_limit_is_eight() {
    let app = TestApp::spawn().await;
    // The visitor cookie from this request makes all streams below belong to one visitor.
    app.stats().await;

    let mut open = Vec::new();
    for _ in 0..8 {
        let (events, _) = app.open_events().await;
        open.push(events);
    }
    let rejected = app.events().await.err().expect("the ninth stream was accepted");

    assert_eq!(rejected.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rejected.error_code(), "too_many_streams");
}

#[tokio::test]
async fn visitor_stream_limit_is_configurable() {
    let app = TestApp::spawn_with(&["--max-streams-per-visitor", "2"]).await;
    app.stats().await;
    let _first = app.open_events().await;
    let _second = app.open_events().await;

    let rejected = app.events().await.err().expect("the third stream was accepted");

    assert_eq!(rejected.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rejected.error_code(), "too_many_streams");
    let other_visitor = app.new_visitor();
    assert!(other_visitor.events().await.is_ok());
}

#[tokio::test]
async fn cookieless_streams_capped_per_address() {
    let app = TestApp::spawn_with(&["--max-streams-per-visitor", "2"]).await;
    // Each request of a client that keeps no cookies is a new visitor.
    let client = app.cookieless();
    let _first = client.events().await.expect("the first cookie-less stream was rejected");
    let _second = client.events().await.expect("the second cookie-less stream was rejected");

    let rejected = client.events().await.err().expect("a third cookie-less stream was accepted");

    assert_eq!(rejected.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rejected.error_code(), "too_many_streams");
    assert_eq!(
        rejected.body["reason"],
        "this address already has 2 live streams open that were requested without a visitor cookie; keep \
         the sj_visitor cookie that the server sets, as a browser does, or close a stream"
    );
    // A browser loads the page, which sets its cookie, before it opens the stream.
    let browser = app.new_visitor();
    browser.stats().await;
    assert!(browser.events().await.is_ok(), "a stream with a visitor cookie was rejected");
}

#[tokio::test]
async fn server_stream_limit_returns_503() {
    let app = TestApp::spawn_with(&["--max-streams", "1"]).await;
    let _first = app.open_events().await;
    let bob = app.new_visitor();

    let rejected = bob.events().await.err().expect("a stream over the server limit was accepted");

    assert_eq!(rejected.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejected.error_code(), "too_many_streams");
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let mut app = TestApp::spawn().await;
    let (mut events, _) = app.open_events().await;

    app.stop().await;

    events.expect_end().await;
}
