//! The Billing, Profile and Settings services and `GET /api/{mode}/services/{page}`, which
//! forwards the visitor's credentials to all three over loopback.

use reqwest::StatusCode;
use session_journey::model::{LogLine, ServiceCall, ServicesResponse};

use crate::common::{EventStream, Reply, TestApp};

const SERVICES: [&str; 3] = ["billing", "profile", "settings"];

/// Reads live events until `count` log lines arrived, skipping counters events.
async fn next_logs(events: &mut EventStream, count: usize) -> Vec<LogLine> {
    let mut lines = Vec::new();
    while lines.len() < count {
        let event = events.next_event().await;
        if event.name == "log" {
            lines.push(serde_json::from_value(event.data).expect("a log event does not hold a log line"));
        }
    }
    lines
}

/// Requests the fan-out of `mode` for `page` and checks that it returned one call per service.
async fn fan_out(app: &TestApp, mode: &str, page: &str) -> Vec<ServiceCall> {
    let reply = app.get(&format!("/api/{mode}/services/{page}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let body: ServicesResponse = reply.parse();
    assert_eq!(body.page, page);
    let names: Vec<&str> = body.calls.iter().map(|call| call.service.as_str()).collect();
    assert_eq!(names, SERVICES);
    body.calls
}

/// Returns the log line of `service`'s request, failing the test when there is none.
fn service_line<'a>(lines: &'a [LogLine], service: &str, mode: &str) -> &'a LogLine {
    let path = format!("/services/{service}/{mode}");
    lines
        .iter()
        .find(|line| line.path == path)
        .unwrap_or_else(|| panic!("no log line for {path}: {lines:?}"))
}

#[tokio::test]
async fn jwt_services_use_public_key() {
    for algorithm in ["eddsa", "rs256"] {
        let app = TestApp::spawn_with(&["--jwt-algorithm", algorithm]).await;
        app.sign_in("Ada").await;
        let (mut events, _) = app.open_events().await;
        let jwks = app.get("/.well-known/jwks.json").await;
        let kid = jwks.body["keys"][0]["kid"].as_str().expect("the key set has no kid").to_owned();

        let calls = fan_out(&app, "jwt", "billing").await;

        for call in &calls {
            assert_eq!(call.status, 200, "{call:?}");
            assert_eq!(call.db_hits, 0, "{call:?}");
            assert_eq!(call.error, None);
            assert!(call.auth_us.is_some(), "{call:?}");
            let verified_with = call.verified_with.as_deref().unwrap_or_default();
            assert!(verified_with.contains(&kid), "{algorithm}: {verified_with}");
        }
        let lines = next_logs(&mut events, 4).await;
        for service in SERVICES {
            let line = service_line(&lines, service, "jwt");
            assert_eq!(line.service.as_deref(), Some(service));
            assert_eq!(line.statements, Vec::new());
            assert!(line.message.starts_with(&format!("{service} service ")), "{}", line.message);
        }
        assert_eq!(app.stats().await.visitor.db_hits, 0);
    }
}

#[tokio::test]
async fn stateful_services_hit_db_once_each() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    let calls = fan_out(&app, "stateful", "profile").await;

    for call in &calls {
        assert_eq!(call.status, 200, "{call:?}");
        assert_eq!(call.db_hits, 1, "{call:?}");
        assert_eq!(call.verified_with.as_deref(), Some("the shared session store"));
    }
    let lines = next_logs(&mut events, 4).await;
    for service in SERVICES {
        let line = service_line(&lines, service, "stateful");
        assert_eq!(line.service.as_deref(), Some(service));
        assert_eq!(line.statements.len(), 1, "{line:?}");
        assert!(line.counted, "{line:?}");
        assert!(line.message.starts_with(&format!("{service} service ")), "{}", line.message);
    }
    assert_eq!(app.stats().await.visitor.db_hits, 3);
}

#[tokio::test]
async fn hs256_jwt_services_conflict() {
    let app = TestApp::spawn().await;
    app.sign_in("Ada").await;

    let fan_out = app.get("/api/jwt/services/billing").await;
    let direct = app.get("/services/billing/jwt").await;

    for reply in [fan_out, direct] {
        assert_eq!(reply.status, StatusCode::CONFLICT, "{reply:?}");
        assert_eq!(reply.error_code(), "services_need_public_key");
        assert!(reply.body["reason"].as_str().unwrap().contains("HS256"), "{reply:?}");
    }
}

#[tokio::test]
async fn services_reject_missing_credentials() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "eddsa"]).await;

    let jwt_calls = fan_out(&app, "jwt", "settings").await;
    let stateful_calls = fan_out(&app, "stateful", "settings").await;

    for call in &jwt_calls {
        assert_eq!(call.status, 401, "{call:?}");
        assert_eq!(call.error.as_deref(), Some("token_missing"));
    }
    for call in &stateful_calls {
        assert_eq!(call.status, 401, "{call:?}");
        assert_eq!(call.error.as_deref(), Some("session_missing"));
        assert_eq!(call.db_hits, 0);
    }
}

#[tokio::test]
async fn services_reject_other_servers_token() {
    let other = TestApp::spawn_with(&["--jwt-algorithm", "eddsa"]).await;
    let token = other.sign_in("Mallory").await.token;
    let app = TestApp::spawn_with(&["--jwt-algorithm", "eddsa"]).await;

    let reply = app
        .get_with_authorization("/services/profile/jwt", &format!("Bearer {token}"))
        .await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "unknown_kid");
}

#[tokio::test]
async fn services_unknown_page_is_404() {
    let app = TestApp::spawn().await;

    let reply = app.get("/api/stateful/services/nowhere").await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "page_not_found");
}

#[tokio::test]
async fn services_unknown_mode_is_404() {
    let app = TestApp::spawn().await;

    let reply = app.get("/api/cookie/services/billing").await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jwt_services_check_denylist() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "eddsa", "--jwt-denylist"]).await;
    app.sign_in("Ada").await;

    let accepted = fan_out(&app, "jwt", "billing").await;
    assert_eq!(app.revoke_all().await.status, StatusCode::OK);
    let rejected = fan_out(&app, "jwt", "billing").await;

    for call in &accepted {
        assert_eq!(call.status, 200, "{call:?}");
        assert_eq!(call.db_hits, 1, "{call:?}");
        let verified_with = call.verified_with.as_deref().unwrap_or_default();
        assert!(verified_with.ends_with("and the denylist in the shared store"), "{verified_with}");
    }
    for call in &rejected {
        assert_eq!(call.status, 401, "{call:?}");
        assert_eq!(call.error.as_deref(), Some("token_revoked"));
        assert_eq!(call.db_hits, 1, "{call:?}");
    }
}

#[tokio::test]
async fn jwt_services_check_fingerprint() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "eddsa", "--bind-token-fingerprint"]).await;
    let login = app.sign_in("Ada").await;

    let calls = fan_out(&app, "jwt", "profile").await;
    let stolen = app
        .cookieless()
        .get_with_authorization("/services/profile/jwt", &format!("Bearer {}", login.token))
        .await;

    for call in &calls {
        assert_eq!(call.status, 200, "{call:?}");
        assert_eq!(call.db_hits, 0, "{call:?}");
    }
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED, "{stolen:?}");
    assert_eq!(stolen.error_code(), "fingerprint_cookie_missing");
}

/// Opens `count` idle connections to the server, which each hold one of its connection slots
/// until dropped. The server accepts connections in order, so they hold their slots before any
/// connection opened after them is accepted.
async fn hold_connections(app: &TestApp, count: usize) -> Vec<tokio::net::TcpStream> {
    let mut connections = Vec::new();
    for _ in 0..count {
        connections.push(tokio::net::TcpStream::connect(app.addr).await.expect("failed to connect"));
    }
    connections
}

/// Checks that `reply` is the 503 of a loopback request to `target` that the connection cap
/// closed.
fn assert_services_unavailable(reply: &Reply, target: &str) {
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
    assert_eq!(reply.error_code(), "services_unavailable");
    let expected = format!(
        "the server closed the loopback connection to {target} before a response, most likely because it is \
         at its connection limit; try again in a moment"
    );
    assert_eq!(reply.body["reason"], expected);
}

#[tokio::test]
async fn fan_out_at_connection_cap_is_503() {
    let app = TestApp::spawn_with(&["--max-connections", "3"]).await;
    // The test client keeps this connection open and sends the fan-out request on it.
    app.sign_in("Ada").await;
    let _idle_connections = hold_connections(&app, 2).await;

    let reply = app.get("/api/stateful/services/orders").await;

    assert_services_unavailable(&reply, "the billing service");
}

#[tokio::test]
async fn key_set_fetch_at_connection_cap_is_503() {
    let app = TestApp::spawn_with(&["--jwt-algorithm", "eddsa", "--max-connections", "2"]).await;
    app.sign_in("Ada").await;
    let _idle_connections = hold_connections(&app, 1).await;

    // The service fetches the key set over loopback on its first request.
    let reply = app.get("/services/billing/jwt").await;

    assert_services_unavailable(&reply, "the key set /.well-known/jwks.json");
}
