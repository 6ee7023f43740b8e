//! Rejected requests other than bad tokens: session cookies, unknown routes, bad sign-in
//! bodies and oversized requests. Each gets a specific status and JSON error code, leaves the
//! sessions table alone and shows up in the visitor's live log.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crate::common::{send, WatchedVisitor, SELECT_SESSION, SESSION_COOKIE};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::json;

const STATEFUL_ORDERS: &str = "/api/stateful/pages/orders";

#[tokio::test]
async fn missing_session_cookie_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let cookies = watched.app.cookies_with(&[(SESSION_COOKIE, None)]);

    let reply = send(watched.app.request_with_cookies(Method::GET, STATEFUL_ORDERS, &cookies)).await;

    let line = watched.assert_rejected(&reply, StatusCode::UNAUTHORIZED, "session_missing").await;
    assert_eq!(line.statements, Vec::new());
}

#[tokio::test]
async fn garbled_session_cookie_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let too_short = URL_SAFE_NO_PAD.encode([7u8; 15]);
    let too_long = URL_SAFE_NO_PAD.encode([7u8; 17]);
    let padded = format!("{}==", URL_SAFE_NO_PAD.encode([7u8; 16]));

    for garbled in ["not-a-session-id!", "", too_short.as_str(), too_long.as_str(), padded.as_str()] {
        let cookies = watched.app.cookies_with(&[(SESSION_COOKIE, Some(garbled))]);
        let reply = send(watched.app.request_with_cookies(Method::GET, STATEFUL_ORDERS, &cookies)).await;

        let line = watched.assert_rejected(&reply, StatusCode::UNAUTHORIZED, "session_malformed").await;
        assert_eq!(line.statements, Vec::new(), "{garbled:?} cost a DB hit");
    }
}

#[tokio::test]
async fn unknown_session_id_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    // A session ID is 16 bytes in URL-safe base64 without padding: 22 characters.
    let unknown = URL_SAFE_NO_PAD.encode([0x5a; 16]);
    assert_eq!(unknown.len(), 22);
    let cookies = watched.app.cookies_with(&[(SESSION_COOKIE, Some(&unknown))]);

    let reply = send(watched.app.request_with_cookies(Method::GET, STATEFUL_ORDERS, &cookies)).await;

    let line = watched.assert_rejected(&reply, StatusCode::UNAUTHORIZED, "session_not_found").await;
    // Looking up a well-formed ID costs a DB hit even when no session has it.
    assert_eq!(line.statements.len(), 1);
    assert_eq!(line.statements[0].sql, SELECT_SESSION);
    assert!(line.counted);
    assert_eq!(watched.app.stats().await.visitor.db_hits, 1);
}

#[tokio::test]
async fn unknown_page_is_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for mode in ["stateful", "jwt"] {
        let reply = watched.app.get(&format!("/api/{mode}/pages/admin")).await;

        let line = watched.assert_rejected(&reply, StatusCode::NOT_FOUND, "page_not_found").await;
        assert_eq!(line.statements, Vec::new(), "{mode} looked up a session for an unknown page");
    }
}

#[tokio::test]
async fn unknown_api_route_is_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for path in ["/api/nope", "/api/stateful/pages/orders/extra", "/api/stateful/pages/"] {
        let reply = watched.app.get(path).await;

        let line = watched.assert_rejected(&reply, StatusCode::NOT_FOUND, "route_not_found").await;
        assert_eq!(line.path, path);
    }
}

#[tokio::test]
async fn wrong_method_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let cases = [
        (Method::GET, "/api/login"),
        (Method::GET, "/api/logout"),
        (Method::DELETE, "/api/reset"),
        (Method::POST, STATEFUL_ORDERS),
        (Method::PUT, "/api/jwt/pages/orders"),
        (Method::DELETE, "/api/nope"),
    ];

    for (method, path) in cases {
        let reply = send(watched.app.request(method.clone(), path)).await;

        let line = watched.assert_rejected(&reply, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
        assert_eq!(line.method, method.as_str());
        assert_eq!(line.path, path);
    }
}

#[tokio::test]
async fn wrong_method_on_quiet_routes() {
    let mut watched = WatchedVisitor::start().await;

    for path in ["/api/stats", "/api/events", "/api/whoami", "/healthz"] {
        let reply = send(watched.app.request(Method::POST, path)).await;

        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "POST {path}");
        assert_eq!(reply.error_code(), "method_not_allowed", "POST {path}");
    }

    // These routes send no live events, so the next one belongs to the page below.
    assert_eq!(watched.app.jwt_page("orders").await.status, StatusCode::OK);
    assert_eq!(watched.events.next_log().await.path, "/api/jwt/pages/orders");
}

#[tokio::test]
async fn malformed_json_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let request = watched
        .app
        .request(Method::POST, "/api/login")
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"name": "Ada""#);

    let reply = send(request).await;

    watched.assert_rejected(&reply, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn wrong_field_type_is_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for body in [
        json!({ "name": 5 }),
        json!({ "name": null }),
        json!({}),
        json!({ "name": "Ada", "role": "admin" }),
    ] {
        let request = watched.app.request(Method::POST, "/api/login").json(&body);
        let reply = send(request).await;

        watched.assert_rejected(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    }
}

#[tokio::test]
async fn non_object_body_is_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for body in [json!("Ada"), json!(["Ada"]), json!(7)] {
        let request = watched.app.request(Method::POST, "/api/login").json(&body);
        let reply = send(request).await;

        watched.assert_rejected(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    }
}

#[tokio::test]
async fn missing_content_type_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let request = watched.app.request(Method::POST, "/api/login").body(r#"{"name": "Ada"}"#);

    let reply = send(request).await;

    watched
        .assert_rejected(&reply, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        .await;
}

#[tokio::test]
async fn text_content_type_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let request = watched
        .app
        .request(Method::POST, "/api/login")
        .header(CONTENT_TYPE, "text/plain")
        .body(r#"{"name": "Ada"}"#);

    let reply = send(request).await;

    watched
        .assert_rejected(&reply, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        .await;
}

#[tokio::test]
async fn empty_name_is_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for name in ["", "   ", "\t\n"] {
        let reply = watched.app.login(name).await;

        watched.assert_rejected(&reply, StatusCode::BAD_REQUEST, "name_empty").await;
    }
}

#[tokio::test]
async fn long_name_is_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for name in ["a".repeat(101), "é".repeat(101)] {
        let reply = watched.app.login(&name).await;

        watched.assert_rejected(&reply, StatusCode::BAD_REQUEST, "name_too_long").await;
    }
}

#[tokio::test]
async fn name_of_100_chars_is_accepted() {
    let watched = WatchedVisitor::start().await;
    let name = "é".repeat(100);

    let login = watched.app.sign_in(&name).await;

    assert_eq!(login.user.name, name);
    assert_eq!(watched.app.session_rows().await, 1);
}

#[tokio::test]
async fn control_characters_in_name_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for name in ["Ada\u{0}", "Ada\u{1b}[31m", "Ada\nLovelace"] {
        let reply = watched.app.login(name).await;

        watched.assert_rejected(&reply, StatusCode::BAD_REQUEST, "name_invalid").await;
    }
}

#[tokio::test]
async fn body_over_4_kib_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let body = json!({ "name": "a".repeat(5000) });

    let reply = send(watched.app.request(Method::POST, "/api/login").json(&body)).await;

    watched.assert_rejected(&reply, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
}

#[tokio::test]
async fn chunked_body_over_4_kib_rejected() {
    let mut watched = WatchedVisitor::start().await;
    // A streamed body has no Content-Length, so the limit applies while reading it.
    let chunks: Vec<Result<String, std::io::Error>> =
        vec![Ok(r#"{"name": ""#.to_owned()), Ok("a".repeat(5000)), Ok(r#""}"#.to_owned())];
    let request = watched
        .app
        .request(Method::POST, "/api/login")
        .header(CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)));

    let reply = send(request).await;

    watched.assert_rejected(&reply, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
}

#[tokio::test]
async fn headers_over_16_kib_are_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let padding = "x".repeat(17 * 1024);

    for path in [STATEFUL_ORDERS, "/api/jwt/pages/orders", "/api/login"] {
        let request = watched.app.request(Method::GET, path).header("x-padding", &padding);
        let reply = send(request).await;

        let line = watched
            .assert_rejected(&reply, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large")
            .await;
        assert_eq!(line.statements, Vec::new());
        assert!(!line.counted);
    }
}

#[tokio::test]
async fn rejected_requests_add_no_db_hits() {
    let mut watched = WatchedVisitor::start().await;
    let cookies = watched.app.cookies_with(&[(SESSION_COOKIE, Some("garbage"))]);
    let garbled = send(watched.app.request_with_cookies(Method::GET, STATEFUL_ORDERS, &cookies)).await;
    watched.assert_rejected(&garbled, StatusCode::UNAUTHORIZED, "session_malformed").await;
    let unknown_page = watched.app.stateful_page("admin").await;
    watched.assert_rejected(&unknown_page, StatusCode::NOT_FOUND, "page_not_found").await;
    let empty_name = watched.app.login("").await;
    watched.assert_rejected(&empty_name, StatusCode::BAD_REQUEST, "name_empty").await;

    let stats = watched.app.stats().await;

    assert_eq!(stats.visitor.db_hits, 0);
    assert_eq!(stats.server.db_hits, 0);
}

#[tokio::test]
async fn invalid_utf8_path_is_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for path in ["/api/jwt/pages/%FF", "/api/stateful/pages/%FF"] {
        let reply = send(watched.app.request(Method::GET, path)).await;

        watched.assert_rejected(&reply, StatusCode::BAD_REQUEST, "invalid_path").await;
    }
}

#[tokio::test]
async fn long_page_name_is_quoted_short() {
    let mut watched = WatchedVisitor::start().await;
    let page = "x".repeat(5_000);

    let reply = send(watched.app.request(Method::GET, &format!("/api/jwt/pages/{page}"))).await;

    watched.assert_rejected(&reply, StatusCode::NOT_FOUND, "page_not_found").await;
    let reason = reply.body["reason"].as_str().unwrap();
    assert!(reason.len() < 200, "reason has {} bytes", reason.len());
}
