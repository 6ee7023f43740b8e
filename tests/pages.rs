//! Sign-in, the page routes of both backends, the counters and logout, through real HTTP.

use crate::common::{counters, TestApp, SESSION_COOKIE, TOKEN_COOKIE, VISITOR_COOKIE};
use reqwest::{Method, StatusCode};
use session_journey::model::{Counters, Mode, PageResponse};

#[tokio::test]
async fn login_returns_user_and_sets_token() {
    let app = TestApp::spawn().await;

    let reply = app.login("Ada Lovelace").await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["user"]["name"], "Ada Lovelace");
    assert_eq!(reply.body["user"]["role"], "member");
    assert_eq!(reply.body["user"]["id"].as_str().map(str::len), Some(36));
    let token = app.cookie(TOKEN_COOKIE).unwrap_or_default();
    assert_eq!(token.split('.').count(), 3, "not a compact JWT: {token:?}");
}

#[tokio::test]
async fn login_trims_display_name() {
    let app = TestApp::spawn().await;

    let login = app.sign_in("  Ada  ").await;

    assert_eq!(login.user.name, "Ada");
}

#[tokio::test]
async fn login_sets_http_only_cookies() {
    let app = TestApp::spawn().await;

    let reply = app.login("Ada").await;

    let session = reply.set_cookie(SESSION_COOKIE).expect("no session cookie was set");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/"), "{session}");
    let token = reply.set_cookie(TOKEN_COOKIE).expect("no token cookie was set");
    assert!(token.contains("HttpOnly"), "{token}");
    assert!(token.contains("SameSite=Strict"), "{token}");
    assert!(token.contains("Max-Age=60"), "{token}");
    let visitor = reply.set_cookie(VISITOR_COOKIE).expect("no visitor cookie was set");
    assert!(visitor.contains("HttpOnly"), "{visitor}");
    assert!(visitor.contains("SameSite=Lax"), "{visitor}");
}

#[tokio::test]
async fn login_body_never_contains_token() {
    let app = TestApp::spawn().await;

    let reply = app.login("Ada").await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let token = reply.token_cookie().expect("no token cookie was set");
    assert_eq!(reply.body["user"]["name"], "Ada");
    assert_eq!(reply.body.get("token"), None, "{}", reply.text);
    assert!(!reply.text.contains(&token), "{}", reply.text);
}

#[tokio::test]
async fn login_stores_one_session_row() {
    let app = TestApp::spawn().await;
    assert_eq!(app.session_rows().await, 0);

    app.sign_in("Ada").await;

    assert_eq!(app.session_rows().await, 1);
}

#[tokio::test]
async fn second_login_replaces_session() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let first_id = app.cookie(SESSION_COOKIE).expect("no session cookie after sign-in");

    app.sign_in("Ada").await;

    let second_id = app.cookie(SESSION_COOKIE).expect("no session cookie after sign-in");
    assert_ne!(second_id, first_id);
    assert_eq!(app.session_rows().await, 1);
    let cookie = format!("{SESSION_COOKIE}={first_id}");
    let replay = crate::common::send(app.request_with_cookies(Method::GET, "/api/stateful/pages/orders", &cookie)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.error_code(), "session_not_found");
}

#[tokio::test]
async fn stateful_page_costs_one_query() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    let reply = app.stateful_page("orders").await;

    assert_eq!(reply.status, StatusCode::OK);
    let page: PageResponse = reply.parse();
    assert_eq!(page.mode, Mode::Stateful);
    assert_eq!(page.db_queries, 1);
    assert_eq!(page.page, "orders");
    assert_eq!(page.title, "Orders");
    assert_eq!(page.user.name, "Ada");
    assert_eq!(page.items.len(), 2);
    assert_eq!(reply.body["mode"], "stateful");
}

#[tokio::test]
async fn jwt_page_costs_no_query() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    let reply = app.jwt_page("billing").await;

    assert_eq!(reply.status, StatusCode::OK);
    let page: PageResponse = reply.parse();
    assert_eq!(page.mode, Mode::Jwt);
    assert_eq!(page.db_queries, 0);
    assert_eq!(page.title, "Billing");
    assert_eq!(page.user.name, "Ada");
    assert_eq!(reply.body["mode"], "jwt");
}

#[tokio::test]
async fn every_page_serves_in_both_modes() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    for page in session_journey::model::PAGES {
        let stateful = app.stateful_page(page).await;
        assert_eq!(stateful.status, StatusCode::OK, "stateful {page}");
        assert_eq!(stateful.body["page"], page);
        let jwt = app.jwt_page(page).await;
        assert_eq!(jwt.status, StatusCode::OK, "jwt {page}");
        assert_eq!(jwt.body["page"], page);
    }
}

#[tokio::test]
async fn stats_count_mixed_sequence() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    for page in ["dashboard", "orders", "billing"] {
        assert_eq!(app.stateful_page(page).await.status, StatusCode::OK);
    }
    for page in ["profile", "settings"] {
        assert_eq!(app.jwt_page(page).await.status, StatusCode::OK);
    }

    let stats = app.stats().await;
    assert_eq!(stats.visitor, counters(3, 3, 2));
    assert_eq!(stats.server, counters(3, 3, 2));
}

#[tokio::test]
async fn sign_in_adds_no_db_hits() {
    let app = TestApp::spawn().await;

    // The second sign-in loads, deletes and inserts a session: three statements, none counted.
    app.sign_in("Ada").await;
    app.sign_in("Ada").await;
    assert_eq!(app.logout().await.status, StatusCode::OK);

    let stats = app.stats().await;
    assert_eq!(stats.visitor, Counters::default());
    assert_eq!(stats.server, Counters::default());
}

#[tokio::test]
async fn stats_and_events_add_no_db_hits() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);
    let (mut events, _) = app.open_events().await;

    for _ in 0..3 {
        app.stats().await;
    }
    let (_second_stream, initial) = app.open_events().await;
    assert_eq!(app.get("/api/whoami").await.status, StatusCode::OK);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);

    assert_eq!(initial.visitor, counters(1, 1, 0));
    let stats = app.stats().await;
    assert_eq!(stats.visitor, counters(1, 1, 0));
    assert_eq!(stats.server, counters(1, 1, 0));
    // None of the requests above sent a live event, so the next one is the page below.
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);
    let line = events.next_log().await;
    assert_eq!(line.path, "/api/jwt/pages/orders");
}

#[tokio::test]
async fn reset_zeroes_visitor_not_server() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);
    assert_eq!(app.stateful_page("billing").await.status, StatusCode::OK);
    assert_eq!(app.jwt_page("billing").await.status, StatusCode::OK);

    let reply = app.reset().await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["visitor"], serde_json::json!(counters(0, 0, 0)));
    assert_eq!(reply.body["server"], serde_json::json!(counters(2, 2, 1)));
    let stats = app.stats().await;
    assert_eq!(stats.visitor, Counters::default());
    assert_eq!(stats.server, counters(2, 2, 1));
}

#[tokio::test]
async fn counting_resumes_after_reset() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);
    assert_eq!(app.reset().await.status, StatusCode::OK);

    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);

    let stats = app.stats().await;
    assert_eq!(stats.visitor, counters(1, 1, 0));
    assert_eq!(stats.server, counters(2, 2, 0));
}

#[tokio::test]
async fn visitors_have_separate_counters() {
    let app = TestApp::spawn().await;
    let bob = app.new_visitor();
    app.sign_in("Ada").await;
    bob.sign_in("Bob").await;

    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);
    assert_eq!(app.stateful_page("billing").await.status, StatusCode::OK);
    assert_eq!(bob.jwt_page("orders").await.status, StatusCode::OK);

    let ada_stats = app.stats().await;
    let bob_stats = bob.stats().await;
    assert_eq!(ada_stats.visitor, counters(2, 2, 0));
    assert_eq!(bob_stats.visitor, counters(0, 0, 1));
    assert_eq!(ada_stats.server, counters(2, 2, 1));
    assert_eq!(bob_stats.server, counters(2, 2, 1));
    assert_ne!(app.cookie(VISITOR_COOKIE), bob.cookie(VISITOR_COOKIE));
}

#[tokio::test]
async fn visitors_see_own_user() {
    let app = TestApp::spawn().await;
    let bob = app.new_visitor();
    app.sign_in("Ada").await;
    bob.sign_in("Bob").await;

    let ada_page: PageResponse = app.stateful_page("profile").await.parse();
    let bob_page: PageResponse = bob.jwt_page("profile").await.parse();

    assert_eq!(ada_page.user.name, "Ada");
    assert_eq!(bob_page.user.name, "Bob");
}

#[tokio::test]
async fn bearer_header_works_without_cookies() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    let stranger = app.cookieless();

    let reply = stranger.jwt_page_with_token("orders", &login.token).await;

    assert_eq!(reply.status, StatusCode::OK);
    let page: PageResponse = reply.parse();
    assert_eq!(page.mode, Mode::Jwt);
    assert_eq!(page.user, login.user);
    assert_eq!(page.db_queries, 0);
}

#[tokio::test]
async fn bearer_token_alone_fails_stateful() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    let stranger = app.cookieless();

    let request = stranger
        .request(Method::GET, "/api/stateful/pages/orders")
        .bearer_auth(&login.token);
    let reply = crate::common::send(request).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "session_missing");
}

#[tokio::test]
async fn whoami_names_token_user() {
    let app = TestApp::spawn().await;
    let anonymous = app.get("/api/whoami").await;
    let login = app.sign_in("Ada").await;

    let signed_in = app.get("/api/whoami").await;

    assert_eq!(anonymous.body["user"], serde_json::Value::Null);
    assert_eq!(signed_in.body["user"], serde_json::json!(login.user));
}

#[tokio::test]
async fn logout_deletes_session_row() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(app.session_rows().await, 1);

    let reply = app.logout().await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["signed_out"], true);
    assert_eq!(app.session_rows().await, 0);
}

#[tokio::test]
async fn logout_clears_both_cookies() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    assert_eq!(app.logout().await.status, StatusCode::OK);

    assert_eq!(app.cookie(SESSION_COOKIE), None);
    assert_eq!(app.cookie(TOKEN_COOKIE), None);
    assert!(app.cookie(VISITOR_COOKIE).is_some());
}

#[tokio::test]
async fn stateful_page_after_logout_fails() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(app.logout().await.status, StatusCode::OK);

    let reply = app.stateful_page("orders").await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "session_missing");
}

#[tokio::test]
async fn old_session_id_after_logout_fails() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let session_id = app.cookie(SESSION_COOKIE).expect("no session cookie after sign-in");
    assert_eq!(app.logout().await.status, StatusCode::OK);

    let cookie = format!("{SESSION_COOKIE}={session_id}");
    let reply = crate::common::send(app.request_with_cookies(Method::GET, "/api/stateful/pages/orders", &cookie)).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "session_not_found");
}

#[tokio::test]
async fn copied_jwt_survives_logout() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    assert_eq!(app.logout().await.status, StatusCode::OK);

    let without_copy = app.jwt_page("orders").await;
    let with_copy = app.jwt_page_with_token("orders", &login.token).await;

    assert_eq!(without_copy.status, StatusCode::UNAUTHORIZED);
    assert_eq!(without_copy.error_code(), "token_missing");
    assert_eq!(with_copy.status, StatusCode::OK);
    assert_eq!(with_copy.body["user"]["name"], "Ada");
}

#[tokio::test]
async fn logout_without_session_succeeds() {
    let app = TestApp::spawn().await;

    let reply = app.logout().await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["signed_out"], true);
    assert_eq!(app.session_rows().await, 0);
}

#[tokio::test]
async fn healthz_reports_ok() {
    let app = TestApp::spawn().await;

    let reply = app.get("/healthz").await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["status"], "ok");
}
