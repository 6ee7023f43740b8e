//! Refresh tokens: issue at sign-in, rotation, replay detection, expiry and storage.

use reqwest::{Method, StatusCode};
use session_journey::model::{LoginResponse, PageResponse, RefreshResponse, RevokeAllResponse};
use sha2::{Digest, Sha256};

use crate::common::{
    counters, send, Reply, TestApp, CLAIM_REFRESH_TOKEN, DELETE_REPLAYED_FAMILY, INSERT_REFRESH_TOKEN, REFRESH_COOKIE,
    TOKEN_COOKIE,
};

/// Returns the refresh token that `reply` set as a cookie.
pub(crate) fn refresh_token_of(reply: &Reply) -> String {
    reply.set_cookie_value(REFRESH_COOKIE).expect("no refresh cookie with a value was set")
}

/// Sends `POST /api/token/refresh` with the visitor's cookies and `token` as the refresh
/// cookie.
async fn refresh_with(app: &TestApp, token: &str) -> Reply {
    let cookies = app.cookies_with(&[(REFRESH_COOKIE, Some(token))]);
    send(app.request_with_cookies(Method::POST, "/api/token/refresh", &cookies)).await
}

#[tokio::test]
async fn login_sets_refresh_cookie() {
    let app = TestApp::spawn().await;

    let reply = app.login("Ada").await;

    let cookie = reply.set_cookie(REFRESH_COOKIE).expect("no refresh cookie was set");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/api/token"), "{cookie}");
    assert!(cookie.contains("Max-Age=28800"), "{cookie}");
    assert_eq!(refresh_token_of(&reply).len(), 43);
    let login: LoginResponse = reply.parse();
    assert!(login.access_expires_at_ms > 0);
}

#[tokio::test]
async fn refresh_rotates_both_tokens() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    let reply = app.refresh_token().await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let body: RefreshResponse = reply.parse();
    assert_eq!(body.user, login.user);
    assert!(body.access_expires_at_ms >= login.access_expires_at_ms);
    assert!(reply.body.get("token").is_none(), "the body exposes a token: {reply:?}");
    let new_token = app.cookie(TOKEN_COOKIE).expect("no JWT cookie after refresh");
    assert_ne!(new_token, login.token);
    let line = events.next_log().await;
    assert_eq!(line.path, "/api/token/refresh");
    assert_eq!(line.status, 200);
    let sql: Vec<&str> = line.statements.iter().map(|statement| statement.sql.as_str()).collect();
    assert_eq!(sql, [CLAIM_REFRESH_TOKEN, INSERT_REFRESH_TOKEN]);
    assert!(line.counted);
    assert!(line.message.starts_with("refreshed the JWT for Ada"), "{}", line.message);
    assert_eq!(events.next_counters().await.visitor, counters(2, 0, 0));

    let page = app.jwt_page("orders").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.parse::<PageResponse>().db_queries, 0);
}

#[tokio::test]
async fn used_refresh_token_is_rejected() {
    let app = TestApp::spawn().await;
    let first = refresh_token_of(&app.login("Ada").await);
    let rotated = refresh_with(&app, &first).await;
    assert_eq!(rotated.status, StatusCode::OK);

    let replay = refresh_with(&app, &first).await;

    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.error_code(), "refresh_token_reused");
    assert!(replay.body["reason"].is_string());
}

#[tokio::test]
async fn replay_revokes_whole_family() {
    let app = TestApp::spawn().await;
    let first = refresh_token_of(&app.login("Ada").await);
    let second = refresh_token_of(&refresh_with(&app, &first).await);
    let (mut events, _) = app.open_events().await;

    let replay = refresh_with(&app, &first).await;

    assert_eq!(replay.error_code(), "refresh_token_reused");
    let line = events.next_log().await;
    assert_eq!(line.status, 401);
    assert!(line.message.starts_with("refresh_token_reused: "), "{}", line.message);
    assert!(line.message.contains("family"), "{}", line.message);
    let sql: Vec<&str> = line.statements.iter().map(|statement| statement.sql.as_str()).collect();
    assert_eq!(sql, [CLAIM_REFRESH_TOKEN, DELETE_REPLAYED_FAMILY]);
    let (rows,): (i64,) = app.query_database("SELECT COUNT(*) FROM refresh_tokens").await;
    assert_eq!(rows, 0);

    let newest = refresh_with(&app, &second).await;
    assert_eq!(newest.status, StatusCode::UNAUTHORIZED);
    assert_eq!(newest.error_code(), "refresh_token_invalid");
}

#[tokio::test]
async fn replay_keeps_other_families() {
    let app = TestApp::spawn().await;
    let other = app.new_visitor();
    let other_token = refresh_token_of(&other.login("Grace").await);
    let first = refresh_token_of(&app.login("Ada").await);
    refresh_with(&app, &first).await;

    refresh_with(&app, &first).await;

    assert_eq!(refresh_with(&app, &other_token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn expired_refresh_token_is_rejected() {
    let app = TestApp::spawn().await;
    let token = refresh_token_of(&app.login("Ada").await);
    app.execute_database("UPDATE refresh_tokens SET expires_at = 0").await;

    let reply = refresh_with(&app, &token).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "refresh_token_expired");
    assert!(reply.set_cookie(TOKEN_COOKIE).is_none());
}

#[tokio::test]
async fn missing_refresh_cookie_is_rejected() {
    let app = TestApp::spawn().await;

    let reply = app.refresh_token().await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "refresh_token_missing");
    assert_eq!(reply.content_type(), Some("application/json"));
}

#[tokio::test]
async fn malformed_refresh_cookies_are_rejected() {
    let app = TestApp::spawn().await;
    let too_long = "A".repeat(44);

    for token in ["short", "!".repeat(43).as_str(), too_long.as_str()] {
        let reply = refresh_with(&app, token).await;

        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(reply.error_code(), "refresh_token_malformed", "{token:?}");
    }
}

#[tokio::test]
async fn unknown_refresh_token_is_rejected() {
    let app = TestApp::spawn().await;

    let reply = refresh_with(&app, &"A".repeat(43)).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "refresh_token_invalid");
}

#[tokio::test]
async fn refresh_tokens_are_stored_hashed() {
    let app = TestApp::spawn().await;
    let first = refresh_token_of(&app.login("Ada").await);
    let second = refresh_token_of(&refresh_with(&app, &first).await);

    let (stored,): (String,) =
        app.query_database("SELECT token_hash FROM refresh_tokens WHERE used = 0").await;

    assert_eq!(stored, hex::encode(Sha256::digest(second.as_bytes())));
    for (path, bytes) in app.data_dir_bytes() {
        for raw in [&first, &second] {
            let found = bytes.windows(raw.len()).any(|window| window == raw.as_bytes());
            assert!(!found, "{} contains a raw refresh token", path.display());
        }
    }
}

#[tokio::test]
async fn revoke_all_deletes_refresh_tokens() {
    let app = TestApp::spawn().await;
    let token = refresh_token_of(&app.login("Ada").await);

    let revoked: RevokeAllResponse = app.revoke_all().await.parse();

    assert_eq!(revoked.refresh_tokens_deleted, 1);
    let reply = refresh_with(&app, &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "refresh_token_invalid");
}

#[tokio::test]
async fn logout_deletes_refresh_tokens() {
    let app = TestApp::spawn().await;
    let login = app.login("Ada").await;
    let token = refresh_token_of(&login);

    let logout = app.logout().await;

    assert_eq!(logout.status, StatusCode::OK);
    let reply = refresh_with(&app, &token).await;
    assert_eq!(reply.error_code(), "refresh_token_invalid");
}
