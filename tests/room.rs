//! The workshop room: joining, the room's totals, and the presenter's key and actions.

use reqwest::{Method, StatusCode};
use serde_json::json;
use session_journey::model::room::{JoinInfo, PresenterStatus, RoomSnapshot, RoomSummary};
use session_journey::model::Mode;

use crate::common::{send, Reply, TestApp, Visitor, TOKEN_COOKIE};

const PRESENTER_KEY: &str = "workshop-key-0123456789";

async fn spawn_room() -> TestApp {
    TestApp::spawn_with(&["--presenter-key", PRESENTER_KEY]).await
}

async fn post(visitor: &Visitor, path: &str, body: serde_json::Value) -> Reply {
    send(visitor.request(Method::POST, path).json(&body)).await
}

/// Signs in as `name` unless the visitor already has a JWT, as the dashboard does, then joins
/// the room as `name` and returns the summary, failing the test unless the status is 200.
async fn join(visitor: &Visitor, name: &str) -> RoomSummary {
    if visitor.cookie(TOKEN_COOKIE).is_none() {
        visitor.sign_in(name).await;
    }
    let reply = post(visitor, "/api/room/participants", json!({ "name": name })).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.parse()
}

/// Enters the presenter key, failing the test unless it was accepted.
async fn become_presenter(visitor: &Visitor) {
    let reply = post(visitor, "/api/room/presenter/key", json!({ "key": PRESENTER_KEY })).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

async fn snapshot(visitor: &Visitor) -> RoomSnapshot {
    let reply = visitor.get("/api/room").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.parse()
}

#[tokio::test]
async fn join_adds_participant() {
    let app = spawn_room().await;

    let summary = join(&app, "Ada").await;

    assert_eq!(summary.participants, 1);
    assert_eq!(snapshot(&app).await.summary.participants, 1);
    // Joining again renames the participant instead of adding one.
    assert_eq!(join(&app, "Ada L.").await.participants, 1);
}

#[tokio::test]
async fn join_requires_sign_in() {
    let app = spawn_room().await;

    let reply = post(&app, "/api/room/participants", json!({ "name": "Ghost" })).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "not_signed_in");
    assert_eq!(reply.body["reason"], "sign in with a display name first; signing in joins the room");
    assert_eq!(snapshot(&app).await.summary.participants, 0);
}

#[tokio::test]
async fn join_rejects_empty_name() {
    let app = spawn_room().await;
    app.sign_in("Ada").await;

    let reply = post(&app, "/api/room/participants", json!({ "name": "  " })).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "name_empty");
    assert_eq!(snapshot(&app).await.summary.participants, 0);
}

#[tokio::test]
async fn full_room_rejects_new_participant() {
    let app = TestApp::spawn_with(&["--presenter-key", PRESENTER_KEY, "--max-participants", "1"]).await;
    join(&app, "Ada").await;
    let other = app.new_visitor();
    other.sign_in("Grace").await;

    let reply = post(&other, "/api/room/participants", json!({ "name": "Grace" })).await;

    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error_code(), "room_full");
    assert_eq!(
        reply.body["reason"],
        "the room already has its maximum of 1 participants; ask the presenter to raise --max-participants"
    );
    assert_eq!(join(&app, "Ada again").await.participants, 1);
}

#[tokio::test]
async fn room_counts_only_participants() {
    let app = spawn_room().await;
    app.sign_in("Ada").await;
    join(&app, "Ada").await;
    let bystander = app.new_visitor();
    bystander.sign_in("Curl").await;

    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);
    assert_eq!(app.jwt_page("orders").await.status, StatusCode::OK);
    assert_eq!(bystander.stateful_page("orders").await.status, StatusCode::OK);

    let room = snapshot(&app).await;
    assert_eq!(room.summary.stateful.requests, 1);
    assert_eq!(room.summary.stateful.db_hits, 1);
    assert_eq!(room.summary.stateful.participants, 1);
    assert_eq!(room.summary.jwt.requests, 1);
    assert_eq!(room.summary.jwt.db_hits, 0);
    let recent: Vec<(&str, Mode, &str, u64)> = room
        .recent
        .iter()
        .map(|activity| (activity.participant.as_str(), activity.mode, activity.path.as_str(), activity.db_hits))
        .collect();
    assert_eq!(
        recent,
        [("Ada", Mode::Jwt, "/api/jwt/pages/orders", 0), ("Ada", Mode::Stateful, "/api/stateful/pages/orders", 1)]
    );
    let per_second: u64 = room.load.iter().map(|sample| sample.stateful_db_hits).sum();
    assert_eq!(per_second, 1);
    assert_eq!(room.load.len(), 60);
}

#[tokio::test]
async fn presenter_actions_need_key() {
    let app = spawn_room().await;

    let missing = post(&app, "/api/room/mode", json!({ "mode": "jwt" })).await;
    let wrong = post(&app, "/api/room/presenter/key", json!({ "key": "workshop-key-wrong" })).await;
    let forged = send(
        app.request_with_cookies(Method::POST, "/api/room/reset", "sj_presenter=workshop-key-wrong"),
    )
    .await;

    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.error_code(), "presenter_key_missing");
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong.error_code(), "presenter_key_invalid");
    assert_eq!(wrong.set_cookie("sj_presenter"), None);
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.error_code(), "presenter_key_invalid");
    // The key is checked before the body, so a stranger learns nothing about the body's fields.
    let bad_body = post(&app, "/api/room/rounds", json!({ "unknown": 1 })).await;
    assert_eq!(bad_body.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad_body.error_code(), "presenter_key_missing");
    let status: PresenterStatus = app.get("/api/room/presenter").await.parse();
    assert!(!status.presenter);
}

#[tokio::test]
async fn presenter_key_sets_http_only_cookie() {
    let app = spawn_room().await;

    let reply = post(&app, "/api/room/presenter/key", json!({ "key": PRESENTER_KEY })).await;

    assert_eq!(reply.status, StatusCode::OK);
    let cookie = reply.set_cookie("sj_presenter").expect("no presenter cookie was set");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/api/room"), "{cookie}");
    let status: PresenterStatus = app.get("/api/room/presenter").await.parse();
    assert!(status.presenter);
}

#[tokio::test]
async fn presenter_switches_room_mode() {
    let app = spawn_room().await;
    let participant = app.new_visitor();
    join(&participant, "Grace").await;
    let mut events = participant.events().await.expect("the live stream did not open");
    assert_eq!(events.next_room().await.mode, None);
    become_presenter(&app).await;

    let reply = post(&app, "/api/room/mode", json!({ "mode": "jwt" })).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.parse::<RoomSummary>().mode, Some(Mode::Jwt));
    // The participant's stream brings the new mode within a second or so.
    loop {
        if events.next_room().await.mode == Some(Mode::Jwt) {
            break;
        }
    }
}

#[tokio::test]
async fn round_counts_finished_participants() {
    let app = spawn_room().await;
    become_presenter(&app).await;
    let participant = app.new_visitor();
    participant.sign_in("Grace").await;
    join(&participant, "Grace").await;

    let started = post(&app, "/api/room/rounds", json!({ "requests_each": 2, "seconds": 60 })).await;

    assert_eq!(started.status, StatusCode::OK, "{started:?}");
    let round = started.parse::<RoomSummary>().round.expect("no round was started");
    assert_eq!((round.number, round.requests_each, round.participants_done), (1, 2, 0));
    assert_eq!(round.ends_at_ms - round.started_at_ms, 60_000);
    for _ in 0..3 {
        assert_eq!(participant.jwt_page("orders").await.status, StatusCode::OK);
    }
    let round = snapshot(&app).await.summary.round.expect("the round is gone");
    assert_eq!(round.participants_done, 1);
}

#[tokio::test]
async fn round_out_of_range_is_rejected() {
    let app = spawn_room().await;
    become_presenter(&app).await;

    let none = post(&app, "/api/room/rounds", json!({ "requests_each": 0, "seconds": 60 })).await;
    let short = post(&app, "/api/room/rounds", json!({ "requests_each": 20, "seconds": 5 })).await;

    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert_eq!(none.error_code(), "round_out_of_range");
    assert_eq!(none.body["reason"], "requests_each is 0; choose 1 to 200");
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert_eq!(short.body["reason"], "seconds is 5; choose 10 to 600");
    assert_eq!(snapshot(&app).await.summary.round, None);
}

#[tokio::test]
async fn reset_empties_room() {
    let app = spawn_room().await;
    become_presenter(&app).await;
    app.sign_in("Ada").await;
    join(&app, "Ada").await;
    assert_eq!(app.stateful_page("orders").await.status, StatusCode::OK);

    let reply = post(&app, "/api/room/reset", json!({})).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let room = snapshot(&app).await;
    assert_eq!(room.summary.participants, 0);
    assert_eq!(room.summary.resets, 1);
    assert_eq!(room.summary.stateful.requests, 0);
    assert_eq!(room.summary.stateful.participants, 0);
    assert_eq!(room.recent, Vec::new());
    // A dashboard that is still open joins again, as after its stream brings the reset.
    assert_eq!(join(&app, "Ada").await.participants, 1);
}

#[tokio::test]
async fn join_info_names_request_address() {
    let app = spawn_room().await;

    let info: JoinInfo = app.get("/api/room/join").await.parse();

    assert_eq!(info.join_url, app.url("/"));
    assert!(info.loopback_only);
}

#[tokio::test]
async fn join_info_prefers_public_url() {
    let app = TestApp::spawn_with(&["--public-url", "http://sj.test:3000/"]).await;

    let info: JoinInfo = app.get("/api/room/join").await.parse();

    assert_eq!(info, JoinInfo { join_url: "http://sj.test:3000/".into(), loopback_only: false });
}

#[tokio::test]
async fn qr_code_is_svg() {
    let app = spawn_room().await;

    let reply = send(app.request(Method::GET, "/present/qr.svg")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), Some("image/svg+xml"));
    let body = reply.text.as_str();
    assert!(body.contains("<svg"), "{body}");
}

#[tokio::test]
async fn presenter_stream_opens_with_snapshot() {
    let app = spawn_room().await;
    join(&app, "Ada").await;

    let response = app
        .request(Method::GET, "/api/room/events")
        .send()
        .await
        .expect("GET /api/room/events failed");

    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = futures::StreamExt::next(&mut body).await.expect("the stream ended").expect("reading failed");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("event: room\ndata: "), "{text}");
    let data = text.lines().nth(1).and_then(|line| line.strip_prefix("data: ")).unwrap_or_default();
    let room: RoomSnapshot = serde_json::from_str(data).expect("the room event is not a snapshot");
    assert_eq!(room.summary.participants, 1);
}

#[tokio::test]
async fn presenter_key_guesses_are_rate_limited() {
    let app = TestApp::spawn_with(&["--presenter-key", PRESENTER_KEY, "--sign-in-limit-burst", "2"]).await;
    // A first request gets the visitor cookie, so that every guess counts against this browser.
    assert_eq!(app.get("/api/room").await.status, StatusCode::OK);

    let first = post(&app, "/api/room/presenter/key", json!({ "key": "guess-number-one" })).await;
    let second = post(&app, "/api/room/presenter/key", json!({ "key": "guess-number-two" })).await;
    let third = post(&app, "/api/room/presenter/key", json!({ "key": PRESENTER_KEY })).await;

    assert_eq!(first.status, StatusCode::FORBIDDEN);
    assert_eq!(second.status, StatusCode::FORBIDDEN);
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.error_code(), "rate_limited");
    assert_eq!(third.set_cookie("sj_presenter"), None);
}

#[tokio::test]
async fn long_host_falls_back_to_server_address() {
    let app = spawn_room().await;
    let host = "a".repeat(2_500);

    let info = send(app.request(Method::GET, "/api/room/join").header("host", &host)).await;
    let qr_code = send(app.request(Method::GET, "/present/qr.svg").header("host", &host)).await;

    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.parse::<JoinInfo>().join_url, app.url("/"));
    assert_eq!(qr_code.status, StatusCode::OK);
    assert_eq!(qr_code.content_type(), Some("image/svg+xml"));
}

#[tokio::test]
async fn presenter_keeps_stream_slots_when_viewers_fill_theirs() {
    let app = spawn_room().await;
    let viewer = app.new_visitor();
    let mut open_streams = Vec::new();
    for _ in 0..16 {
        let response = viewer.request(Method::GET, "/api/room/events").send().await.expect("the stream did not open");
        assert_eq!(response.status(), StatusCode::OK);
        open_streams.push(response);
    }

    let rejected = send(viewer.request(Method::GET, "/api/room/events")).await;
    become_presenter(&app).await;
    let presenter = app.request(Method::GET, "/api/room/events").send().await.expect("the stream did not open");

    assert_eq!(rejected.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejected.error_code(), "too_many_streams");
    assert_eq!(rejected.body["reason"], "16 room views without the presenter key are already open; close one and reload");
    assert_eq!(presenter.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_leaves_room() {
    let app = spawn_room().await;
    join(&app, "Ada").await;

    assert_eq!(app.logout().await.status, StatusCode::OK);

    assert_eq!(snapshot(&app).await.summary.participants, 0);
}

#[tokio::test]
async fn revoked_token_cannot_join() {
    let app = TestApp::spawn_with(&["--presenter-key", PRESENTER_KEY, "--jwt-denylist"]).await;
    app.sign_in("Ada").await;
    assert_eq!(app.revoke_all().await.status, StatusCode::OK);

    let reply = post(&app, "/api/room/participants", json!({ "name": "Ada" })).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "not_signed_in");
    assert_eq!(snapshot(&app).await.summary.participants, 0);
}
