//! The token inspector's `GET /api/token`: the visitor's own JWT taken apart, with the
//! signature cut short and the sizes of the token and the session cookie.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use session_journey::model::TokenInspection;

use crate::common::{send, TestApp, SESSION_COOKIE, TOKEN_COOKIE};

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
    assert_eq!(inspection.expires_at.unwrap() - inspection.issued_at.unwrap(), 900);
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
