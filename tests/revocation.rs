//! Logout and "revoke everything" in both modes, with and without the JWT denylist.

use reqwest::StatusCode;
use session_journey::model::{PageResponse, RevokeAllResponse, TokenInspection, WhoAmI};

use crate::common::{counters, TestApp, SELECT_SESSION, TOKEN_COOKIE};

const DENYLIST: &[&str] = &["--jwt-denylist"];
const COUNT_REVOCATIONS: &str = "SELECT \
     (SELECT COUNT(*) FROM revoked_tokens WHERE jti = $1) + \
     (SELECT COUNT(*) FROM revoked_users WHERE user_id = $2 AND revoked_at >= $3)";

async fn revoke_all_ok(app: &TestApp) -> RevokeAllResponse {
    let reply = app.revoke_all().await;
    assert_eq!(reply.status, StatusCode::OK, "revoke-all failed: {reply:?}");
    reply.parse()
}

#[tokio::test]
async fn stateful_page_fails_after_revoke_all() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);

    let revoked = revoke_all_ok(&app).await;

    assert_eq!(revoked.sessions_deleted, 1);
    assert_eq!(app.session_rows().await, 0);
    let reply = app.stateful_page("orders").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "session_not_found");
    assert!(reply.body["reason"].is_string(), "{reply:?}");
}

#[tokio::test]
async fn revoke_all_keeps_other_users_sessions() {
    let app = TestApp::spawn().await;
    let other = app.new_visitor();
    other.sign_in("Grace").await;
    app.sign_in("Ada").await;

    let revoked = revoke_all_ok(&app).await;

    assert_eq!(revoked.sessions_deleted, 1);
    assert_eq!(app.session_rows().await, 1);
    assert_eq!(other.stateful_page("orders").await.status, StatusCode::OK);
}

#[tokio::test]
async fn jwt_page_works_after_revoke_all() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    let revoked = revoke_all_ok(&app).await;

    assert!(!revoked.token_denied);
    let left = revoked.token_expires_in_secs.expect("no token lifetime in the response");
    assert!((59..=60).contains(&left), "{left}");
    let line = events.next_log().await;
    assert_eq!(line.path, "/api/revoke-all");
    assert!(line.message.contains("still works for"), "{}", line.message);
    assert!(!line.counted);
    events.next_counters().await;

    let reply = app.jwt_page("orders").await;
    assert_eq!(reply.status, StatusCode::OK);
    let page: PageResponse = reply.parse();
    assert_eq!(page.db_queries, 0);
    assert_eq!(app.stats().await.visitor, counters(0, 0, 1));
}

#[tokio::test]
async fn revoke_all_log_hides_token() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    revoke_all_ok(&app).await;

    let line = events.next_log().await;
    let signature = login.token.rsplit('.').next().unwrap_or_default();
    assert!(!line.message.contains(&login.token), "{}", line.message);
    assert!(!line.message.contains(signature), "{}", line.message);
}

#[tokio::test]
async fn revoke_all_without_credentials_is_rejected() {
    let app = TestApp::spawn().await;

    let reply = app.revoke_all().await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "not_signed_in");
}

#[tokio::test]
async fn denylist_check_is_one_db_hit() {
    let app = TestApp::spawn_with(DENYLIST).await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    let reply = app.jwt_page("orders").await;

    assert_eq!(reply.status, StatusCode::OK);
    let page: PageResponse = reply.parse();
    assert_eq!(page.db_queries, 1);
    let line = events.next_log().await;
    let sql: Vec<&str> = line.statements.iter().map(|statement| statement.sql.as_str()).collect();
    assert_eq!(sql, [COUNT_REVOCATIONS]);
    assert!(line.counted);
    assert_eq!(events.next_counters().await.visitor, counters(1, 0, 1));
}

#[tokio::test]
async fn denylisted_token_fails_after_revoke_all() {
    let app = TestApp::spawn_with(DENYLIST).await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    let revoked = revoke_all_ok(&app).await;

    assert!(revoked.token_denied);
    let line = events.next_log().await;
    assert!(line.message.contains("every JWT of the user is on the denylist"), "{}", line.message);
    events.next_counters().await;

    let reply = app.jwt_page("orders").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "token_revoked");
    let line = events.next_log().await;
    assert_eq!(line.status, 401);
    assert!(line.message.starts_with("token_revoked: "), "{}", line.message);
    assert_eq!(line.statements.len(), 1);
    assert_eq!(line.statements[0].sql, COUNT_REVOCATIONS);
    assert_eq!(events.next_counters().await.visitor, counters(1, 0, 1));
}

#[tokio::test]
async fn denylisted_token_fails_after_logout() {
    let app = TestApp::spawn_with(DENYLIST).await;
    let login = app.sign_in("Ada").await;

    assert_eq!(app.logout().await.status, StatusCode::OK);

    let reply = app.cookieless().jwt_page_with_token("billing", &login.token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "token_revoked");
}

#[tokio::test]
async fn copied_token_works_after_logout_without_denylist() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;

    assert_eq!(app.logout().await.status, StatusCode::OK);

    let reply = app.cookieless().jwt_page_with_token("billing", &login.token).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn denylist_leaves_other_tokens_valid() {
    let app = TestApp::spawn_with(DENYLIST).await;
    let other = app.new_visitor();
    other.sign_in("Grace").await;
    app.sign_in("Ada").await;

    revoke_all_ok(&app).await;

    assert_eq!(other.jwt_page("orders").await.status, StatusCode::OK);
}

#[tokio::test]
async fn stateful_page_after_revoke_all_costs_one_query() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    revoke_all_ok(&app).await;
    let (mut events, _) = app.open_events().await;

    app.stateful_page("orders").await;

    let line = events.next_log().await;
    assert_eq!(line.status, 401);
    assert_eq!(line.statements.len(), 1);
    assert_eq!(line.statements[0].sql, SELECT_SESSION);
    assert_eq!(events.next_counters().await.visitor, counters(1, 1, 0));
}

#[tokio::test]
async fn denylist_revokes_tokens_replaced_by_refresh() {
    let app = TestApp::spawn_with(DENYLIST).await;
    let login = app.sign_in("Ada").await;
    assert_eq!(app.refresh_token().await.status, StatusCode::OK);
    let refreshed = app.cookie(TOKEN_COOKIE).expect("no JWT cookie after refresh");
    assert_ne!(refreshed, login.token);

    revoke_all_ok(&app).await;

    for token in [&login.token, &refreshed] {
        let reply = app.cookieless().jwt_page_with_token("orders", token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
        assert_eq!(reply.error_code(), "token_revoked");
    }
    // Signing in again creates a new user, whose tokens the revocation does not cover.
    app.sign_in("Ada").await;
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);
}

#[tokio::test]
async fn inspector_and_whoami_see_denylisted_token() {
    let app = TestApp::spawn_with(DENYLIST).await;
    let login = app.sign_in("Ada").await;
    let before: WhoAmI = app.get("/api/whoami").await.parse();
    assert_eq!(before.user, Some(login.user));

    revoke_all_ok(&app).await;

    let inspection: TokenInspection = app.get("/api/token").await.parse();
    assert!(!inspection.valid);
    assert_eq!(inspection.rejection.map(|rejection| rejection.error).as_deref(), Some("token_revoked"));
    let after: WhoAmI = app.get("/api/whoami").await.parse();
    assert_eq!(after.user, None);
    assert_eq!(after.access_expires_at_ms, None);
}

#[tokio::test]
async fn revoke_all_deletes_sessions_by_user_column() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    let (stored,): (String,) = app.query_database("SELECT user_id FROM sessions").await;
    assert_eq!(stored, login.user.id);

    let revoked = revoke_all_ok(&app).await;

    assert_eq!(revoked.sessions_deleted, 1);
    assert_eq!(app.session_rows().await, 0);
}
