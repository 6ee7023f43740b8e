//! Forged, altered and malformed JWTs against `GET /api/jwt/pages/{page}`. Tokens are signed
//! with the key the server generated into its data directory, so each one fails for exactly
//! the reason its test names.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crate::common::{send, WatchedVisitor, MAX_TOKEN_BYTES, TOKEN_COOKIE};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ISSUER: &str = "session-journey";
const AUDIENCE: &str = "session-journey";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is before 1970")
        .as_secs()
}

/// Claims that the server accepts: those of the signed-in user, valid for five minutes.
fn valid_claims(watched: &WatchedVisitor) -> Value {
    let now = unix_now();
    let user = &watched.login.user;
    json!({
        "sub": user.id,
        "name": user.name,
        "role": user.role,
        "iat": now,
        "exp": now + 300,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": "test-token",
    })
}

fn sign_with(algorithm: Algorithm, claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(key))
        .expect("failed to sign a test token")
}

/// Signs `claims` with HS256 and the server's own key.
fn sign(watched: &WatchedVisitor, claims: &Value) -> String {
    sign_with(Algorithm::HS256, claims, &watched.app.signing_key())
}

/// Sends `token` as a Bearer token, with the visitor's cookies, and checks the 401.
async fn assert_token_rejected(watched: &mut WatchedVisitor, token: &str, code: &str) {
    let reply = watched.app.jwt_page_with_token("orders", token).await;

    let line = watched.assert_rejected(&reply, StatusCode::UNAUTHORIZED, code).await;
    assert_eq!(line.path, "/api/jwt/pages/orders");
    assert_eq!(line.statements, Vec::new());
}

#[tokio::test]
async fn crafted_token_with_server_key_works() {
    let watched = WatchedVisitor::start().await;
    let token = sign(&watched, &valid_claims(&watched));

    let reply = watched.app.jwt_page_with_token("orders", &token).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["user"]["name"], "Ada");
}

#[tokio::test]
async fn missing_token_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let cookies = watched.app.cookies_with(&[(TOKEN_COOKIE, None)]);

    let request = watched.app.request_with_cookies(Method::GET, "/api/jwt/pages/orders", &cookies);
    let reply = send(request).await;

    let line = watched.assert_rejected(&reply, StatusCode::UNAUTHORIZED, "token_missing").await;
    assert_eq!(line.statements, Vec::new());
}

#[tokio::test]
async fn expired_token_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let mut claims = valid_claims(&watched);
    let now = unix_now();
    claims["iat"] = json!(now - 120);
    claims["exp"] = json!(now - 10);
    let token = sign(&watched, &claims);

    assert_token_rejected(&mut watched, &token, "token_expired").await;
}

#[tokio::test]
async fn token_from_other_key_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let token = sign_with(Algorithm::HS256, &valid_claims(&watched), &[7u8; 32]);

    assert_token_rejected(&mut watched, &token, "invalid_signature").await;
}

#[tokio::test]
async fn tampered_payload_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let parts: Vec<&str> = watched.login.token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let payload = URL_SAFE_NO_PAD.decode(parts[1]).expect("the payload is not base64url");
    let mut claims: Value = serde_json::from_slice(&payload).expect("the payload is not JSON");
    assert_eq!(claims["role"], "member");
    claims["role"] = json!("admin");
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let token = format!("{}.{forged_payload}.{}", parts[0], parts[2]);

    assert_token_rejected(&mut watched, &token, "invalid_signature").await;
}

#[tokio::test]
async fn forged_token_cookie_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let mut claims = valid_claims(&watched);
    claims["role"] = json!("admin");
    let forged = sign_with(Algorithm::HS256, &claims, &[7u8; 32]);
    let cookies = watched.app.cookies_with(&[(TOKEN_COOKIE, Some(&forged))]);

    let request = watched.app.request_with_cookies(Method::GET, "/api/jwt/pages/orders", &cookies);
    let reply = send(request).await;

    watched.assert_rejected(&reply, StatusCode::UNAUTHORIZED, "invalid_signature").await;
}

#[tokio::test]
async fn wrong_issuer_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let mut claims = valid_claims(&watched);
    claims["iss"] = json!("another-issuer");
    let token = sign(&watched, &claims);

    assert_token_rejected(&mut watched, &token, "wrong_issuer").await;
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let mut claims = valid_claims(&watched);
    claims["aud"] = json!("another-app");
    let token = sign(&watched, &claims);

    assert_token_rejected(&mut watched, &token, "wrong_audience").await;
}

#[tokio::test]
async fn missing_claims_are_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for (claim, code) in [("exp", "exp_missing"), ("iss", "iss_missing"), ("aud", "aud_missing"), ("sub", "sub_missing")] {
        let mut claims = valid_claims(&watched);
        claims.as_object_mut().unwrap().remove(claim);
        let token = sign(&watched, &claims);

        assert_token_rejected(&mut watched, &token, code).await;
    }
}

#[tokio::test]
async fn missing_app_claim_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let mut claims = valid_claims(&watched);
    claims.as_object_mut().unwrap().remove("name");
    let token = sign(&watched, &claims);

    assert_token_rejected(&mut watched, &token, "token_invalid_claim").await;
}

#[tokio::test]
async fn future_not_before_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let mut claims = valid_claims(&watched);
    claims["nbf"] = json!(unix_now() + 120);
    let token = sign(&watched, &claims);

    assert_token_rejected(&mut watched, &token, "token_not_yet_valid").await;
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&valid_claims(&watched)).unwrap());
    let token = format!("{header}.{payload}.");

    assert_token_rejected(&mut watched, &token, "alg_not_allowed").await;
}

#[tokio::test]
async fn other_hmac_algorithm_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    let token = sign_with(Algorithm::HS512, &valid_claims(&watched), &watched.app.signing_key());

    assert_token_rejected(&mut watched, &token, "alg_not_allowed").await;
}

#[tokio::test]
async fn garbage_token_is_rejected() {
    let mut watched = WatchedVisitor::start().await;

    let cases = [
        ("abc", "wrong_segment_count"),
        ("not a token", "wrong_segment_count"),
        ("a.b.c", "malformed_base64"),
        ("..", "malformed_json"),
    ];
    for (token, code) in cases {
        assert_token_rejected(&mut watched, token, code).await;
    }
}

#[tokio::test]
async fn token_over_8_kib_is_rejected() {
    let mut watched = WatchedVisitor::start().await;
    // Validly signed, so only its size can make the server reject it.
    let mut claims = valid_claims(&watched);
    claims["padding"] = json!("p".repeat(MAX_TOKEN_BYTES));
    let token = sign(&watched, &claims);
    assert!(token.len() > MAX_TOKEN_BYTES);

    assert_token_rejected(&mut watched, &token, "token_too_large").await;
}

#[tokio::test]
async fn token_of_8_kib_is_accepted() {
    let watched = WatchedVisitor::start().await;
    let key = watched.app.signing_key();
    let claims = valid_claims(&watched);
    let token_with_padding = |length: usize| {
        let mut padded = claims.clone();
        padded["padding"] = json!("p".repeat(length));
        sign_with(Algorithm::HS256, &padded, &key)
    };
    // Base64url turns three padding bytes into four characters, so the search starts
    // below the limit.
    let mut length = MAX_TOKEN_BYTES * 3 / 4 - 512;
    while token_with_padding(length + 1).len() <= MAX_TOKEN_BYTES {
        length += 1;
    }
    let token = token_with_padding(length);
    // One more padding byte adds one or two base64url characters.
    assert!(token.len() >= MAX_TOKEN_BYTES - 1, "{}", token.len());

    let reply = watched.app.jwt_page_with_token("orders", &token).await;

    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_authorization_is_rejected() {
    let mut watched = WatchedVisitor::start().await;

    for authorization in ["Basic x", "Bearer", "Token abc"] {
        let reply = watched.app.jwt_page_with_authorization("orders", authorization).await;

        let line = watched.assert_rejected(&reply, StatusCode::UNAUTHORIZED, "authorization_invalid").await;
        assert_eq!(line.statements, Vec::new());
    }
}

#[tokio::test]
async fn rejected_tokens_add_no_db_hits() {
    let mut watched = WatchedVisitor::start().await;
    assert_token_rejected(&mut watched, "abc", "wrong_segment_count").await;
    let forged = sign_with(Algorithm::HS256, &valid_claims(&watched), &[7u8; 32]);
    assert_token_rejected(&mut watched, &forged, "invalid_signature").await;

    let stats = watched.app.stats().await;

    assert_eq!(stats.visitor.db_hits, 0);
    assert_eq!(stats.visitor.jwt_requests, 2);
    assert_eq!(stats.server.db_hits, 0);
}

#[tokio::test]
async fn jku_url_is_never_fetched() {
    let mut watched = WatchedVisitor::start().await;
    // A listener the server would have to connect to if it fetched the key set. Nonblocking,
    // so that `accept` reports at once whether a connection is waiting.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("failed to bind a loopback port");
    listener.set_nonblocking(true).expect("failed to make the listener nonblocking");
    let jku = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let header = json!({ "alg": "HS256", "typ": "JWT", "jku": jku });
    let mut claims = valid_claims(&watched);
    claims["role"] = json!("admin");
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = EncodingKey::from_secret(&[9u8; 32]);
    let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, Algorithm::HS256).unwrap();
    let token = format!("{signing_input}.{signature}");

    assert_token_rejected(&mut watched, &token, "key_url_rejected").await;

    // The response has arrived, so any fetch would have connected by now.
    let waiting = listener.accept();
    assert!(
        matches!(&waiting, Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "the server connected to the jku URL: {waiting:?}"
    );
}

#[tokio::test]
async fn wrong_typed_time_claims_are_named() {
    let mut watched = WatchedVisitor::start().await;
    let cases = [
        ("exp", json!("soon"), "exp_not_a_number"),
        ("exp", json!(null), "exp_not_a_number"),
        ("exp", json!(-5), "exp_out_of_range"),
        ("nbf", json!("now"), "nbf_not_a_number"),
    ];

    for (claim, value, code) in cases {
        let mut claims = valid_claims(&watched);
        claims[claim] = value;
        let token = sign(&watched, &claims);

        assert_token_rejected(&mut watched, &token, code).await;
    }
}
