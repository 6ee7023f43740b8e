//! What survives a server restart on the same data directory: sessions in SQLite and the
//! generated JWT signing key.

use std::os::unix::fs::PermissionsExt;

use crate::common::{TestApp, SESSION_COOKIE};
use reqwest::StatusCode;
use session_journey::model::Counters;

#[tokio::test]
async fn session_survives_server_restart() {
    let mut app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let session_id = app.cookie(SESSION_COOKIE);
    let old_addr = app.addr;

    app.restart().await;

    assert_ne!(app.addr, old_addr);
    assert_eq!(app.cookie(SESSION_COOKIE), session_id);
    let reply = app.stateful_page("orders").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["user"]["name"], "Ada");
    assert_eq!(reply.body["db_queries"], 1);
    assert_eq!(app.session_rows().await, 1);
}

#[tokio::test]
async fn key_file_is_owner_only() {
    let app = TestApp::spawn().await;

    let metadata = std::fs::metadata(app.key_file()).expect("the key file is missing");

    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert_eq!(app.signing_key().len(), 32);
}

#[tokio::test]
async fn data_dir_is_owner_only() {
    let directory = tempfile::tempdir().expect("failed to create a temporary directory");
    let data_dir = directory.path().join("data");
    let data_dir_arg = data_dir.to_str().expect("the temporary directory path is not UTF-8");
    let settings = <session_journey::server::config::Settings as clap::Parser>::parse_from([
        "session-journey",
        "--data-dir",
        data_dir_arg,
        "--leptos-config",
        concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml"),
    ]);

    session_journey::server::startup::build_state(settings)
        .await
        .expect("failed to build the server state");

    let mode = std::fs::metadata(&data_dir).expect("the data directory is missing").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[tokio::test]
async fn key_file_survives_restart() {
    let mut app = TestApp::spawn().await;
    let key = app.signing_key();

    app.restart().await;

    assert_eq!(app.signing_key(), key);
    let mode = std::fs::metadata(app.key_file()).expect("the key file is missing").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn token_verifies_after_restart() {
    let mut app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;

    app.restart().await;

    let stranger = app.cookieless();
    let with_header = stranger.jwt_page_with_token("orders", &login.token).await;
    assert_eq!(with_header.status, StatusCode::OK);
    assert_eq!(with_header.body["user"]["name"], "Ada");
    let with_cookie = app.jwt_page("orders").await;
    assert_eq!(with_cookie.status, StatusCode::OK);
    assert_eq!(with_cookie.body["db_queries"], 0);
}

#[tokio::test]
async fn counters_restart_from_zero() {
    let mut app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);

    app.restart().await;

    let stats = app.stats().await;
    assert_eq!(stats.visitor, Counters::default());
    assert_eq!(stats.server, Counters::default());
}

#[tokio::test]
async fn log_numbers_increase_across_restart() {
    let mut app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut before, _) = app.open_events().await;
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);
    let last_before = before.next_log().await.seq;
    drop(before);

    app.restart().await;

    let (mut after, _) = app.open_events().await;
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);
    let first_after = after.next_log().await.seq;
    assert!(first_after > last_before, "{first_after} is not above {last_before}");
}

#[tokio::test]
async fn logout_after_restart_deletes_session() {
    let mut app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    app.restart().await;
    assert_eq!(app.logout().await.status, StatusCode::OK);

    assert_eq!(app.session_rows().await, 0);
    let reply = app.stateful_page("orders").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "session_missing");
}
