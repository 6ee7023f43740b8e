//! `--jwt-algorithm hs256|eddsa|rs256`: each algorithm issues tokens that its JWT route
//! verifies, keeps its key owner-only in the data directory, and publishes only a public key
//! at `/.well-known/jwks.json`.

use std::os::unix::fs::PermissionsExt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{TestApp, EDDSA_KEY_FILE, KEY_FILE, RS256_KEY_FILE};

const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Decodes the JSON header of `token`.
fn token_header(token: &str) -> Value {
    let segment = token.split('.').next().expect("the token is empty");
    let bytes = URL_SAFE_NO_PAD.decode(segment).expect("the header is not base64url");
    serde_json::from_slice(&bytes).expect("the header is not JSON")
}

/// Fetches the JWK set and returns its only key.
async fn only_jwk(app: &TestApp) -> Value {
    let reply = app.get(JWKS_PATH).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let keys = reply.body["keys"].as_array().expect("the key set has no keys array").clone();
    assert_eq!(keys.len(), 1, "{}", reply.text);
    keys[0].clone()
}

/// Signs in on a server started with `--jwt-algorithm argument`, requests a JWT page, and
/// verifies the token with the public key from the JWK set. Returns the server and the token.
async fn assert_issues_and_verifies(argument: &str, algorithm: Algorithm, alg_name: &str) -> (TestApp, String) {
    let app = TestApp::spawn_with(&["--jwt-algorithm", argument]).await;
    let login = app.sign_in("Ada").await;

    let page = app.jwt_page_with_token("billing", &login.token).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(page.body["user"]["name"], "Ada");
    assert_eq!(page.body["db_queries"], 0);

    let header = token_header(&login.token);
    assert_eq!(header["alg"], alg_name);
    let jwk = only_jwk(&app).await;
    assert_eq!(header["kid"], jwk["kid"]);

    let set: JwkSet = serde_json::from_value(serde_json::json!({ "keys": [jwk] })).unwrap();
    let key = DecodingKey::from_jwk(&set.keys[0]).expect("the JWK is not a public key");
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&["session-journey"]);
    let verified = jsonwebtoken::decode::<Value>(&login.token, &key, &validation);
    assert!(verified.is_ok(), "the JWKS key did not verify the token: {verified:?}");
    (app, login.token)
}

fn assert_owner_only(app: &TestApp, file: &str) {
    let mode = std::fs::metadata(app.data_file(file)).expect("the key file is missing").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{file}");
}

#[tokio::test]
async fn eddsa_issues_and_verifies() {
    let (app, _) = assert_issues_and_verifies("eddsa", Algorithm::EdDSA, "EdDSA").await;
    assert_owner_only(&app, EDDSA_KEY_FILE);
    assert!(!app.data_file(KEY_FILE).exists(), "an HS256 secret was generated too");
}

#[tokio::test]
async fn rs256_issues_and_verifies() {
    let (app, _) = assert_issues_and_verifies("rs256", Algorithm::RS256, "RS256").await;
    assert_owner_only(&app, RS256_KEY_FILE);
}

#[tokio::test]
async fn hs256_stays_the_default() {
    let app = TestApp::spawn().await;
    let login = app.sign_in("Ada").await;

    let header = token_header(&login.token);
    assert_eq!(header["alg"], "HS256");
    assert!(header.get("kid").is_none(), "{header}");
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);
    assert_owner_only(&app, KEY_FILE);
}

#[tokio::test]
async fn eddsa_jwks_has_okp_key() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "eddsa"]).await;

    let jwk = only_jwk(&app).await;

    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["use"], "sig");
    assert!(!jwk["kid"].as_str().unwrap_or_default().is_empty(), "{jwk}");
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).expect("x is not base64url");
    assert_eq!(x.len(), 32);
    assert!(jwk.get("d").is_none(), "the private key was published: {jwk}");
}

#[tokio::test]
async fn rs256_jwks_has_rsa_key() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "rs256"]).await;

    let jwk = only_jwk(&app).await;

    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    assert!(!jwk["kid"].as_str().unwrap_or_default().is_empty(), "{jwk}");
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).expect("n is not base64url");
    assert_eq!(n.len(), 256, "expected a 2048-bit modulus");
    assert_eq!(jwk["e"], "AQAB");
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(jwk.get(private).is_none(), "the private key was published: {jwk}");
    }
}

#[tokio::test]
async fn hs256_jwks_is_empty() {
    let app = TestApp::spawn().await;

    let reply = app.get(JWKS_PATH).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, serde_json::json!({ "keys": [] }));
    let secret = app.signing_key();
    assert!(!reply.text.contains(&hex::encode(&secret)), "{}", reply.text);
    assert!(!reply.text.contains(&URL_SAFE_NO_PAD.encode(&secret)), "{}", reply.text);
}

#[tokio::test]
async fn eddsa_key_survives_restart() {
    let mut app = TestApp::spawn_with(&["--jwt-algorithm", "eddsa"]).await;
    let login = app.sign_in("Ada").await;
    let before = only_jwk(&app).await;

    app.restart().await;

    assert_eq!(only_jwk(&app).await, before);
    let page = app.jwt_page_with_token("dashboard", &login.token).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
}

#[tokio::test]
async fn hs256_token_rejected_by_eddsa_server() {
    let hs256 = TestApp::spawn().await;
    let token = hs256.sign_in("Ada").await.token;
    let eddsa = TestApp::spawn_with(&["--jwt-algorithm", "eddsa"]).await;

    let reply = eddsa.jwt_page_with_token("dashboard", &token).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "alg_not_allowed");
    assert!(reply.body["reason"].as_str().unwrap().contains("EdDSA"), "{reply:?}");
}

#[tokio::test]
async fn other_eddsa_key_is_unknown_kid() {
    let first = TestApp::spawn_with(&["--jwt-algorithm", "eddsa"]).await;
    let token = first.sign_in("Ada").await.token;
    let second = TestApp::spawn_with(&["--jwt-algorithm", "eddsa"]).await;

    let reply = second.jwt_page_with_token("dashboard", &token).await;

    // The token names the first server's key ID, which the second server does not have.
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "unknown_kid");
}

#[tokio::test]
async fn unknown_algorithm_is_rejected() {
    let parsed = <session_journey::server::config::Settings as clap::Parser>::try_parse_from([
        "session-journey",
        "--jwt-algorithm",
        "none",
    ]);
    assert!(parsed.is_err());
}
