//! Security headers on pages and API responses, and the rejection of cross-origin
//! state-changing requests.

use reqwest::header::{CONTENT_SECURITY_POLICY, ORIGIN, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{send, Reply, TestApp};

fn header<'a>(reply: &'a Reply, name: &reqwest::header::HeaderName) -> &'a str {
    reply
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("the response has no {name} header: {reply:?}"))
        .to_str()
        .expect("the header is not text")
}

/// Returns the nonce of a page's Content-Security-Policy.
fn policy_nonce(policy: &str) -> &str {
    let start = policy.find("'nonce-").expect("the policy has no nonce") + "'nonce-".len();
    let length = policy[start..].find('\'').expect("the nonce is not quoted");
    &policy[start..start + length]
}

fn assert_common_headers(reply: &Reply) {
    assert_eq!(header(reply, &X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(reply, &REFERRER_POLICY), "no-referrer");
    assert_eq!(header(reply, &X_FRAME_OPTIONS), "DENY");
    assert!(header(reply, &CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn api_responses_have_strict_headers() {
    let app = TestApp::spawn().await;

    let ok = app.get("/api/info").await;
    let error = app.jwt_page("orders").await;

    assert_eq!(ok.status, StatusCode::OK);
    assert_common_headers(&ok);
    assert!(header(&ok, &CONTENT_SECURITY_POLICY).starts_with("default-src 'none'"));
    assert_eq!(error.status, StatusCode::UNAUTHORIZED);
    assert_common_headers(&error);
}

#[tokio::test]
async fn page_policy_allows_its_hydration_script() {
    let app = TestApp::spawn().await;

    let page = app.get("/").await;

    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_common_headers(&page);
    let policy = header(&page, &CONTENT_SECURITY_POLICY);
    assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
    assert!(!policy.contains("'unsafe-inline'"), "{policy}");
    let nonce = policy_nonce(policy);
    assert!(nonce.len() >= 16, "{policy}");
    // Every script of the page carries the nonce.
    let tags: Vec<&str> = page
        .text
        .match_indices("<script")
        .map(|(start, _)| &page.text[start..start + page.text[start..].find('>').unwrap()])
        .collect();
    assert!(!tags.is_empty(), "{}", page.text);
    let attribute = format!("nonce=\"{nonce}\"");
    for tag in tags {
        assert!(tag.contains(&attribute), "{tag}");
    }
}

#[tokio::test]
async fn not_found_page_loads_only_the_stylesheet() {
    let app = TestApp::spawn().await;

    let page = app.get("/no-such-page").await;

    assert_eq!(page.status, StatusCode::NOT_FOUND, "{page:?}");
    assert_common_headers(&page);
    assert_eq!(
        header(&page, &CONTENT_SECURITY_POLICY),
        "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    assert!(page.text.contains("<h1>Page not found</h1>"), "{}", page.text);
    assert!(!page.text.contains("<script"), "{}", page.text);
}

#[tokio::test]
async fn page_nonce_changes_per_response() {
    let app = TestApp::spawn().await;

    let first = app.get("/").await;
    let second = app.get("/").await;

    let first = policy_nonce(header(&first, &CONTENT_SECURITY_POLICY)).to_owned();
    let second = policy_nonce(header(&second, &CONTENT_SECURITY_POLICY)).to_owned();
    assert_ne!(first, second);
}

#[tokio::test]
async fn same_origin_post_is_allowed() {
    let app = TestApp::spawn().await;
    let origin = format!("http://{}", app.addr);

    let request = app.request(Method::POST, "/api/login").header(ORIGIN, origin).json(&json!({ "name": "Ada" }));
    let reply = send(request).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test]
async fn post_without_origin_is_allowed() {
    let app = TestApp::spawn().await;

    let reply = app.login("Ada").await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test]
async fn cross_origin_requests_are_rejected() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let other_port = format!("http://127.0.0.1:{}", app.addr.port().wrapping_add(1));
    let cases = [
        (Method::POST, "/api/login", "http://evil.example"),
        (Method::POST, "/api/logout", "null"),
        (Method::POST, "/api/reset", other_port.as_str()),
        (Method::POST, "/api/attacks/stolen-token-replay", "https://evil.example"),
        (Method::DELETE, "/api/simulations/any", "http://evil.example"),
    ];

    for (method, path, origin) in cases {
        let request = app.request(method.clone(), path).header(ORIGIN, origin).json(&json!({ "name": "Mallory" }));
        let reply = send(request).await;

        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path} from {origin}: {reply:?}");
        assert_eq!(reply.error_code(), "cross_origin_request", "{reply:?}");
        assert_eq!(reply.content_type(), Some("application/json"));
    }
    // The rejected logout left the visitor signed in.
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);
}

#[tokio::test]
async fn cross_origin_get_is_not_blocked() {
    let app = TestApp::spawn().await;

    let request = app.request(Method::GET, "/api/info").header(ORIGIN, "http://evil.example");
    let reply = send(request).await;

    assert_eq!(reply.status, StatusCode::OK);
}
