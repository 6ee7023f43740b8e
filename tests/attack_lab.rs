//! The attack lab: `GET /api/attacks` and `POST /api/attacks/{id}`. Each attack's crafted
//! token must be rejected by the JWT route with its own error code, both when the lab sends it
//! over loopback and when a test sends it directly.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use session_journey::model::{AttackResult, AttackSummary, LogLine};

use crate::common::{send, TestApp, WatchedVisitor, FINGERPRINT_COOKIE, MAX_TOKEN_BYTES, TOKEN_COOKIE};

const TARGET_PATH: &str = "/api/jwt/pages/dashboard";

/// Runs attack `id` for the watched visitor and checks the two live log lines it causes:
/// the loopback request to the JWT route, then the lab request itself. Returns the result
/// and the loopback request's log line.
async fn run_attack(watched: &mut WatchedVisitor, id: &str) -> (AttackResult, LogLine) {
    let reply = watched.app.run_attack(id).await;
    assert_eq!(reply.status, StatusCode::OK, "the attack lab failed: {reply:?}");
    let result: AttackResult = reply.parse();
    assert_eq!(result.attack, id);
    assert_eq!(result.request, format!("GET {TARGET_PATH}"));
    if !result.token.ends_with(SIGNATURE_WITHHELD) {
        assert_eq!(result.token_bytes, result.token.len());
    }

    let target_line = watched.events.next_log().await;
    assert_eq!(target_line.path, TARGET_PATH);
    assert_eq!(target_line.status, result.status, "{target_line:?}");
    assert_eq!(target_line.statements, Vec::new());
    watched.events.next_counters().await;
    let lab_line = watched.events.next_log().await;
    assert_eq!(lab_line.path, format!("/api/attacks/{id}"));
    assert_eq!(lab_line.status, 200);
    watched.events.next_counters().await;
    (result, target_line)
}

const SIGNATURE_WITHHELD: &str = "[signature withheld]";

/// Returns the token that the lab sent: a token whose signature the lab withheld because it is
/// the visitor's real one gets that signature back from `login_token`.
fn token_as_sent(result: &AttackResult, login_token: &str) -> String {
    match result.token.strip_suffix(SIGNATURE_WITHHELD) {
        Some(signed_part) => format!("{signed_part}{}", login_token.rsplit_once('.').unwrap().1),
        None => result.token.clone(),
    }
}

/// Runs attack `id` and checks that the JWT route rejected its token with `code`, then sends
/// the same token directly and checks the same rejection.
async fn assert_attack_rejected(id: &str, code: &str) -> AttackResult {
    assert_attack_rejected_with(&[], id, code).await
}

/// Like [`assert_attack_rejected`], on a server started with `extra_args`.
async fn assert_attack_rejected_with(extra_args: &[&str], id: &str, code: &str) -> AttackResult {
    let mut watched = WatchedVisitor::start_with(extra_args).await;
    let (result, line) = run_attack(&mut watched, id).await;

    assert_eq!(result.status, 401, "{result:?}");
    assert_eq!(result.error.as_deref(), Some(code), "{result:?}");
    assert!(!result.accepted);
    let reason = result.reason.clone().unwrap_or_default();
    assert!(!reason.is_empty(), "{result:?}");
    assert_eq!(line.message, format!("{code}: {reason}"));

    let sent = token_as_sent(&result, &watched.login.token);
    let reply = watched.app.jwt_page_with_token("dashboard", &sent).await;
    watched.assert_rejected(&reply, StatusCode::UNAUTHORIZED, code).await;
    assert_eq!(reply.body["reason"], reason.as_str());
    result
}

/// Decodes one base64url segment of `token` as text.
fn segment_text(token: &str, index: usize) -> String {
    let segment = token.split('.').nth(index).expect("the token has too few segments");
    let bytes = URL_SAFE_NO_PAD.decode(segment).expect("the segment is not base64url");
    String::from_utf8(bytes).expect("the segment is not UTF-8")
}

/// Decodes one base64url segment of `token` as JSON.
fn decode_segment(token: &str, index: usize) -> Value {
    serde_json::from_str(&segment_text(token, index)).expect("the segment is not JSON")
}

#[tokio::test]
async fn attack_list_names_every_attack() {
    let app = TestApp::spawn().await;

    let reply = app.get("/api/attacks").await;

    assert_eq!(reply.status, StatusCode::OK);
    let attacks: Vec<AttackSummary> = reply.parse();
    assert_eq!(attacks.len(), 22);
    for attack in &attacks {
        assert!(!attack.title.is_empty(), "{attack:?}");
        assert!(!attack.explanation.is_empty(), "{attack:?}");
    }
    let ids: Vec<&str> = attacks.iter().map(|attack| attack.id.as_str()).collect();
    assert!(ids.contains(&"tampered-payload"), "{ids:?}");
    assert!(ids.contains(&"stolen-token-replay"), "{ids:?}");
}

#[tokio::test]
async fn unknown_attack_is_404() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    let reply = app.run_attack("no-such-attack").await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "unknown_attack");
    assert!(reply.body["reason"].as_str().unwrap().contains("tampered-payload"), "{reply:?}");
}

#[tokio::test]
async fn attack_needs_signed_in_visitor() {
    let app = TestApp::spawn().await;

    let reply = app.run_attack("tampered-payload").await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "token_missing");
}

#[tokio::test]
async fn attack_lab_rejects_get_on_attack() {
    let app = TestApp::spawn().await;

    let reply = app.get("/api/attacks/tampered-payload").await;

    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.content_type(), Some("application/json"));
}

#[tokio::test]
async fn tampered_payload_fails_signature() {
    let result = assert_attack_rejected("tampered-payload", "invalid_signature").await;
    assert_eq!(decode_segment(&result.token, 1)["role"], "admin");
}

#[tokio::test]
async fn removed_signature_is_missing() {
    let result = assert_attack_rejected("signature-removed", "signature_missing").await;
    assert!(result.token.ends_with('.'), "{}", result.token);
}

#[tokio::test]
async fn alg_none_is_not_allowed() {
    let result = assert_attack_rejected("alg-none", "alg_not_allowed").await;
    assert_eq!(decode_segment(&result.token, 0)["alg"], "none");
}

#[tokio::test]
async fn alg_none_capitalized_is_not_allowed() {
    let result = assert_attack_rejected("alg-none-capitalized", "alg_not_allowed").await;
    assert_eq!(decode_segment(&result.token, 0)["alg"], "None");
}

#[tokio::test]
async fn wrong_key_fails_signature() {
    assert_attack_rejected("wrong-key", "invalid_signature").await;
}

#[tokio::test]
async fn hs512_is_not_allowed() {
    let result = assert_attack_rejected("disallowed-algorithm", "alg_not_allowed").await;
    assert_eq!(decode_segment(&result.token, 0)["alg"], "HS512");
}

#[tokio::test]
async fn expired_attack_is_rejected() {
    assert_attack_rejected("expired", "token_expired").await;
}

#[tokio::test]
async fn future_nbf_attack_is_rejected() {
    assert_attack_rejected("not-yet-valid", "token_not_yet_valid").await;
}

#[tokio::test]
async fn wrong_issuer_attack_is_rejected() {
    assert_attack_rejected("wrong-issuer", "wrong_issuer").await;
}

#[tokio::test]
async fn wrong_audience_attack_is_rejected() {
    assert_attack_rejected("wrong-audience", "wrong_audience").await;
}

#[tokio::test]
async fn missing_exp_attack_is_rejected() {
    let result = assert_attack_rejected("exp-missing", "exp_missing").await;
    assert!(decode_segment(&result.token, 1).get("exp").is_none());
}

#[tokio::test]
async fn string_exp_is_wrong_typed_not_missing() {
    let result = assert_attack_rejected("exp-not-a-number", "exp_not_a_number").await;
    assert!(decode_segment(&result.token, 1)["exp"].is_string());
}

#[tokio::test]
async fn kid_path_traversal_is_unknown_kid() {
    let result = assert_attack_rejected("kid-path-traversal", "unknown_kid").await;
    assert_eq!(decode_segment(&result.token, 0)["kid"], "../../etc/passwd");
}

#[tokio::test]
async fn kid_sql_injection_is_unknown_kid() {
    let result = assert_attack_rejected("kid-sql-injection", "unknown_kid").await;
    assert!(decode_segment(&result.token, 0)["kid"].as_str().unwrap().contains("UNION SELECT"));
}

#[tokio::test]
async fn embedded_jwk_is_rejected() {
    let result = assert_attack_rejected("embedded-jwk", "embedded_key_rejected").await;
    assert_eq!(decode_segment(&result.token, 0)["jwk"]["kty"], "oct");
}

#[tokio::test]
async fn jku_attack_is_rejected() {
    let result = assert_attack_rejected("jku-url", "key_url_rejected").await;
    let jku = decode_segment(&result.token, 0)["jku"].clone();
    assert!(jku.as_str().unwrap().starts_with("https://"), "{jku}");
}

#[tokio::test]
async fn oversized_attack_is_rejected() {
    let result = assert_attack_rejected("oversized-token", "token_too_large").await;
    assert!(result.token_bytes > MAX_TOKEN_BYTES);
}

#[tokio::test]
async fn malformed_base64_attack_is_rejected() {
    let result = assert_attack_rejected("malformed-base64", "malformed_base64").await;
    assert!(result.token.split('.').nth(1).unwrap().ends_with("=="), "{}", result.token);
}

#[tokio::test]
async fn segment_count_attack_is_rejected() {
    let result = assert_attack_rejected("wrong-segment-count", "wrong_segment_count").await;
    assert_eq!(result.token.split('.').count(), 2);
}

#[tokio::test]
async fn duplicate_claim_attack_is_rejected() {
    let result = assert_attack_rejected("duplicate-claim", "duplicate_json_key").await;
    let payload = segment_text(&result.token, 1);
    assert_eq!(payload.matches("\"role\":").count(), 2, "{payload}");
    assert!(payload.contains("\"role\":\"admin\""), "{payload}");
    // The last copy, which serde_json keeps, is the visitor's own role.
    assert!(payload.ends_with("\"role\":\"member\"}"), "{payload}");
}

#[tokio::test]
async fn duplicate_header_key_attack_is_rejected() {
    let result = assert_attack_rejected("duplicate-header-key", "duplicate_json_key").await;
    let header = segment_text(&result.token, 0);
    assert_eq!(header.matches("\"alg\":").count(), 2, "{header}");
}

#[tokio::test]
async fn stolen_token_replay_works_without_binding() {
    let mut watched = WatchedVisitor::start().await;

    let (result, _) = run_attack(&mut watched, "stolen-token-replay").await;

    assert_eq!(result.status, 200, "{result:?}");
    assert!(result.accepted);
    assert_eq!(result.error, None);
    // The working token's signature never reaches the page.
    let (signed_part, signature) = watched.login.token.rsplit_once('.').unwrap();
    assert_eq!(result.token, format!("{signed_part}.[signature withheld]"));
    assert!(!result.token.contains(signature));
    assert_eq!(result.token_bytes, watched.login.token.len());
    // A client with none of the visitor's cookies, as on the thief's machine.
    let thief = watched.app.cookieless();
    let reply = thief.jwt_page_with_token("dashboard", &watched.login.token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["user"]["name"], "Ada");
}

#[tokio::test]
async fn stolen_token_replay_fails_with_binding() {
    let mut watched = WatchedVisitor::start_with(&["--bind-token-fingerprint"]).await;

    let (result, line) = run_attack(&mut watched, "stolen-token-replay").await;

    assert_eq!(result.status, 401, "{result:?}");
    assert_eq!(result.error.as_deref(), Some("fingerprint_cookie_missing"));
    assert!(line.message.starts_with("fingerprint_cookie_missing: "), "{}", line.message);
    assert_eq!(token_as_sent(&result, &watched.login.token), watched.login.token);
    let thief = watched.app.cookieless();
    let reply = thief.jwt_page_with_token("dashboard", &watched.login.token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "fingerprint_cookie_missing");
}

#[tokio::test]
async fn bound_token_works_with_its_cookie() {
    let app = TestApp::spawn_with(&["--bind-token-fingerprint"]).await;
    let login = app.sign_in("Ada").await;

    let by_cookie = app.jwt_page("dashboard").await;
    let by_header = app.jwt_page_with_token("dashboard", &login.token).await;

    assert_eq!(by_cookie.status, StatusCode::OK, "{by_cookie:?}");
    assert_eq!(by_header.status, StatusCode::OK, "{by_header:?}");
    let claims = decode_segment(&login.token, 1);
    assert_eq!(claims["fgp"].as_str().map(str::len), Some(64), "{claims}");
}

#[tokio::test]
async fn bound_token_with_other_fingerprint_fails() {
    let app = TestApp::spawn_with(&["--bind-token-fingerprint"]).await;
    app.sign_in("Ada").await;
    let other = "0".repeat(64);
    let cookies = app.cookies_with(&[(FINGERPRINT_COOKIE, Some(&other))]);

    let request = app.request_with_cookies(Method::GET, TARGET_PATH, &cookies);
    let reply = send(request).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "fingerprint_mismatch");
}

#[tokio::test]
async fn fingerprint_cookie_is_hardened() {
    let app = TestApp::spawn_with(&["--bind-token-fingerprint"]).await;

    let reply = app.login("Ada").await;

    assert_eq!(reply.status, StatusCode::OK);
    let cookie = reply.set_cookie(FINGERPRINT_COOKIE).expect("no fingerprint cookie was set");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(reply.set_cookie(TOKEN_COOKIE).is_some());
}

#[tokio::test]
async fn unbound_server_sets_no_fingerprint() {
    let app = TestApp::spawn().await;

    let reply = app.login("Ada").await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.set_cookie(FINGERPRINT_COOKIE), None);
    let token = reply.token_cookie().expect("sign-in set no JWT cookie");
    assert!(decode_segment(&token, 1).get("fgp").is_none());
}

#[tokio::test]
async fn logout_clears_fingerprint_cookie() {
    let app = TestApp::spawn_with(&["--bind-token-fingerprint"]).await;
    app.sign_in("Ada").await;
    assert!(app.cookie(FINGERPRINT_COOKIE).is_some());

    assert_eq!(app.logout().await.status, StatusCode::OK);

    assert_eq!(app.cookie(FINGERPRINT_COOKIE), None);
    assert_eq!(app.cookie(TOKEN_COOKIE), None);
}

#[tokio::test]
async fn key_confusion_is_not_allowed() {
    for algorithm in ["rs256", "eddsa"] {
        let args = ["--jwt-algorithm", algorithm];
        let result = assert_attack_rejected_with(&args, "key-confusion", "alg_not_allowed").await;
        let header = decode_segment(&result.token, 0);
        assert_eq!(header["alg"], "HS256", "{algorithm}");
        assert!(header["kid"].is_string(), "{header}");
        assert_eq!(decode_segment(&result.token, 1)["role"], "admin");
    }
}

#[tokio::test]
async fn key_confusion_listed_only_with_key_pair() {
    let hs256 = TestApp::spawn().await;
    let rs256 = TestApp::spawn_with(&["--jwt-algorithm", "rs256"]).await;

    let hs256_ids: Vec<AttackSummary> = hs256.get("/api/attacks").await.parse();
    let rs256_ids: Vec<AttackSummary> = rs256.get("/api/attacks").await.parse();

    assert!(hs256_ids.iter().all(|attack| attack.id != "key-confusion"));
    assert_eq!(rs256_ids.len(), 23);
    assert!(rs256_ids.iter().any(|attack| attack.id == "key-confusion"));
    hs256.sign_in("Ada").await;
    let reply = hs256.run_attack("key-confusion").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "unknown_attack");
}

#[tokio::test]
async fn server_signed_attacks_work_under_eddsa() {
    let args = ["--jwt-algorithm", "eddsa"];
    assert_attack_rejected_with(&args, "expired", "token_expired").await;
    assert_attack_rejected_with(&args, "duplicate-claim", "duplicate_json_key").await;
    assert_attack_rejected_with(&args, "wrong-key", "invalid_signature").await;
}

#[tokio::test]
async fn key_choosing_headers_fail_under_eddsa() {
    let args = ["--jwt-algorithm", "eddsa"];
    for (id, code) in [
        ("kid-path-traversal", "unknown_kid"),
        ("kid-sql-injection", "unknown_kid"),
        ("embedded-jwk", "embedded_key_rejected"),
        ("jku-url", "key_url_rejected"),
    ] {
        let result = assert_attack_rejected_with(&args, id, code).await;
        assert_eq!(decode_segment(&result.token, 0)["alg"], "EdDSA", "{id}");
    }
}

#[tokio::test]
async fn answers_never_rebuild_the_real_token() {
    for id in ["tampered-payload", "malformed-base64", "stolen-token-replay"] {
        let mut watched = WatchedVisitor::start().await;
        let (result, _) = run_attack(&mut watched, id).await;

        let signature = watched.login.token.rsplit_once('.').unwrap().1;
        assert!(!result.token.contains(signature), "{id}: {}", result.token);
        assert!(result.token.ends_with(SIGNATURE_WITHHELD), "{id}: {}", result.token);
    }
}
