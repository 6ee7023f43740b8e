//! The token inspector's `GET /api/token`: the visitor's own JWT taken apart, with the
//! signature cut short and the sizes of the token and the session cookie.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use session_journey::model::{PermissionsResponse, TokenInspection};

use crate::common::{send, Reply, TestApp, SESSION_COOKIE, TOKEN_COOKIE};

#[tokio::test]
async fn inspector_splits_signed_in_token() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    let session = app.cookie(SESSION_COOKIE).expect("sign-in sets the session cookie");

    let reply = app.get("/api/token").await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let inspection: TokenInspection = reply.parse();
    let segments: Vec<&str> = login.token.split('.').collect();
    let header: Value = serde_json::from_str(&inspection.header).unwrap();
    let payload: Value = serde_json::from_str(&inspection.payload).unwrap();
    assert_eq!(header["alg"], "HS256");
    assert_eq!(payload["name"], "Ada");
    assert_eq!(inspection.header_bytes, segments[0].len());
    assert_eq!(inspection.payload_bytes, segments[1].len());
    assert_eq!(inspection.signature_bytes, segments[2].len());
    assert_eq!(inspection.token_bytes, login.token.len());
    assert_eq!(inspection.signature_start, segments[2][..10]);
    assert_eq!(inspection.session_cookie_bytes, Some(SESSION_COOKIE.len() + 1 + session.len()));
    assert_eq!(inspection.expires_at.unwrap() - inspection.issued_at.unwrap(), 60);
    assert!(inspection.valid);
    assert_eq!(inspection.rejection, None);
}

#[tokio::test]
async fn inspector_never_returns_whole_token() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    let signature = login.token.rsplit_once('.').unwrap().1;

    let reply = app.get("/api/token").await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let body = reply.body.to_string();
    assert!(!body.contains(signature), "{body}");
}

#[tokio::test]
async fn inspector_without_token_is_not_found() {
    let app = TestApp::spawn().await;

    let reply = app.get("/api/token").await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{reply:?}");
    assert_eq!(reply.error_code(), "token_missing");
}

#[tokio::test]
async fn inspector_reports_malformed_cookie() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let cookies = app.cookies_with(&[(TOKEN_COOKIE, Some("only.two"))]);

    let reply = send(app.request_with_cookies(Method::GET, "/api/token", &cookies)).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(reply.error_code(), "wrong_segment_count");
}

#[tokio::test]
async fn inspector_reports_rejected_token() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    // The same header and payload with another signature: well formed, but forged.
    let (signed_part, _) = login.token.rsplit_once('.').unwrap();
    let forged = format!("{signed_part}.{}", "A".repeat(43));
    let cookies = app.cookies_with(&[(TOKEN_COOKIE, Some(&forged))]);

    let reply = send(app.request_with_cookies(Method::GET, "/api/token", &cookies)).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let inspection: TokenInspection = reply.parse();
    assert!(!inspection.valid);
    assert_eq!(inspection.rejection.unwrap().error, "invalid_signature");
}

#[tokio::test]
async fn permissions_grow_the_token() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;

    let reply = send(app.request(Method::POST, "/api/token/permissions").json(&json!({ "count": 40 }))).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let response: PermissionsResponse = reply.parse();
    assert_eq!(response.count, 40);
    assert_eq!(response.previous_token_bytes, login.token.len());
    assert!(response.token_bytes > login.token.len() + 40 * 10, "{response:?}");
    let token = app.cookie(TOKEN_COOKIE).expect("the new token is set as the cookie");
    assert_eq!(token.len(), response.token_bytes);
    let inspection: TokenInspection = app.get("/api/token").await.parse();
    let payload: Value = serde_json::from_str(&inspection.payload).unwrap();
    assert_eq!(payload["permissions"].as_array().map(Vec::len), Some(40));
    assert_eq!(payload["permissions"][0], "orders:read");
    assert_eq!(payload["name"], "Ada");
    assert!(inspection.valid);
    // The bigger token is what the next JWT request carries.
    let page = app.jwt_page("orders").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(app.stats().await.comparison.jwt.credential_bytes, (TOKEN_COOKIE.len() + 1 + token.len()) as u64);
}

#[tokio::test]
async fn permissions_count_out_of_range() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    let reply = send(app.request(Method::POST, "/api/token/permissions").json(&json!({ "count": 201 }))).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert_eq!(reply.error_code(), "permissions_out_of_range");
    assert_eq!(reply.body["reason"], "count is 201; choose 0 to 200 permission claims");
}

#[tokio::test]
async fn permissions_need_a_valid_token() {
    let app = TestApp::spawn().await;

    let reply = send(app.request(Method::POST, "/api/token/permissions").json(&json!({ "count": 3 }))).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(reply.error_code(), "token_missing");
}

#[tokio::test]
async fn permissions_reject_unknown_fields() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    let reply = send(app.request(Method::POST, "/api/token/permissions").json(&json!({ "count": 3, "admin": true }))).await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{reply:?}");
    assert_eq!(reply.error_code(), "invalid_field");
    let reason = reply.body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("unknown field `admin`"), "{reason}");
}

#[tokio::test]
async fn permissions_keep_expiry_and_id() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;
    let before: TokenInspection = app.get("/api/token").await.parse();

    let reply = send(app.request(Method::POST, "/api/token/permissions").json(&json!({ "count": 2 }))).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let after: TokenInspection = app.get("/api/token").await.parse();
    let before_payload: Value = serde_json::from_str(&before.payload).unwrap();
    let after_payload: Value = serde_json::from_str(&after.payload).unwrap();
    assert_eq!(after_payload["jti"], before_payload["jti"]);
    assert_eq!(after_payload["exp"], before_payload["exp"]);
    assert_eq!(after_payload["iat"], before_payload["iat"]);
    assert_ne!(app.cookie(TOKEN_COOKIE).unwrap(), login.token);
}

#[tokio::test]
async fn permissions_reject_revoked_token() {
    let app = TestApp::spawn_with(&["--jwt-denylist"]).await;
    let login = app.sign_in("Ada").await;
    assert_eq!(app.logout().await.status, StatusCode::OK);
    let cookies = format!("{TOKEN_COOKIE}={}", login.token);

    let request = app.request_with_cookies(Method::POST, "/api/token/permissions", &cookies).json(&json!({ "count": 1 }));
    let reply = send(request).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(reply.error_code(), "token_revoked");
}

/// Reads the number in "at most N claims fit" at the end of a rejection's reason.
fn claims_that_fit(reply: &Reply) -> u32 {
    let reason = reply.body["reason"].as_str().unwrap_or_default();
    let count = reason
        .strip_suffix(" claims fit")
        .and_then(|start| start.rsplit(' ').next())
        .and_then(|count| count.parse().ok());
    count.unwrap_or_else(|| panic!("no claim count in {reason:?}"))
}

async fn set_permissions(app: &TestApp, count: u32) -> Reply {
    send(app.request(Method::POST, "/api/token/permissions").json(&json!({ "count": count }))).await
}

#[tokio::test]
async fn permissions_beyond_cookie_size_rejected() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;

    let rejected = set_permissions(&app, 200).await;

    assert_eq!(rejected.status, StatusCode::BAD_REQUEST, "{rejected:?}");
    assert_eq!(rejected.error_code(), "token_too_large_for_cookie");
    assert_eq!(app.cookie(TOKEN_COOKIE), Some(login.token));
    let fitting = claims_that_fit(&rejected);
    assert!((100..200).contains(&fitting), "{fitting}");
    let one_more = set_permissions(&app, fitting + 1).await;
    assert_eq!(one_more.status, StatusCode::BAD_REQUEST, "{one_more:?}");
    assert_eq!(claims_that_fit(&one_more), fitting);
    let largest = set_permissions(&app, fitting).await;
    assert_eq!(largest.status, StatusCode::OK, "{largest:?}");
    let token = app.cookie(TOKEN_COOKIE).expect("no JWT cookie");
    assert!(TOKEN_COOKIE.len() + 1 + token.len() <= 4096, "{}", token.len());
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);
}

#[tokio::test]
async fn permissions_survive_refresh() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    assert_eq!(set_permissions(&app, 12).await.status, StatusCode::OK);

    let refreshed = app.refresh_token().await;

    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
    let inspection: TokenInspection = app.get("/api/token").await.parse();
    let payload: Value = serde_json::from_str(&inspection.payload).unwrap();
    assert_eq!(payload["permissions"].as_array().map(Vec::len), Some(12));
    assert!(inspection.valid);
}
