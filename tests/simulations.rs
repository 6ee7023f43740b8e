//! The traffic simulator: runs through the real page routes, its limits, ownership of runs,
//! cancelling, the result downloads and simulated database latency.

use crate::common::{counters, simulation_request, TestApp, SELECT_SESSION};
use reqwest::header::{CONTENT_DISPOSITION, LOCATION};
use reqwest::{Method, StatusCode};
use session_journey::model::{
    Counters, Mode, PageResponse, ServerInfo, SimulationModes, SimulationRequest, SimulationState,
    SimulationStatus,
};

/// Starts a run for `app`'s first visitor, checks for 201 Created, and returns the status in
/// the response body.
async fn start_run(
    app: &TestApp,
    users: u32,
    pages: u32,
    think_time_ms: u64,
    modes: &str,
) -> SimulationStatus {
    let reply = app.start_simulation(&simulation_request(users, pages, think_time_ms, modes)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "the simulation was not started: {reply:?}");
    reply.parse()
}

/// Starts a run of 3 users × 4 pages in both modes without think time, waits for its final
/// stream event and returns the status that `GET /api/simulations/{id}` returns afterwards.
async fn finished_run(app: &TestApp) -> SimulationStatus {
    let (mut events, _) = app.open_events().await;
    let started = start_run(app, 3, 4, 0, "both").await;
    let last_event = events.wait_for_simulation_end(&started.id).await;
    assert_eq!(last_event.state, SimulationState::Finished, "the run did not finish: {last_event:?}");

    let reply = app.simulation(&started.id).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.parse()
}

#[tokio::test]
async fn simulation_start_returns_location() {
    let app = TestApp::spawn().await;

    let reply = app.start_simulation(&simulation_request(3, 4, 0, "both")).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let status: SimulationStatus = reply.parse();
    let location = reply.headers.get(LOCATION).and_then(|value| value.to_str().ok());
    assert_eq!(location, Some(format!("/api/simulations/{}", status.id).as_str()));
    assert_eq!(status.state, SimulationState::Running);
    assert_eq!(status.planned_requests, 24);
    assert_eq!(
        status.settings,
        SimulationRequest {
            virtual_users: 3,
            pages_per_user: 4,
            think_time_ms: 0,
            modes: SimulationModes::Both,
        }
    );
}

#[tokio::test]
async fn simulation_runs_to_completion() {
    let app = TestApp::spawn().await;

    let status = finished_run(&app).await;

    assert_eq!(status.state, SimulationState::Finished);
    assert_eq!(status.planned_requests, 24);
    assert_eq!(status.completed_requests, 24);
    assert_eq!(status.database, "sqlite");
    assert_eq!(status.simulated_db_latency_ms, 0);
    assert!(status.finished_at_ms.is_some());
    assert_eq!(status.message, None);
    assert_eq!(status.results.len(), 2, "{:?}", status.results);

    let stateful = &status.results[0];
    assert_eq!(stateful.mode, Some(Mode::Stateful));
    assert_eq!(stateful.requests, 12);
    assert_eq!(stateful.errors, 0);
    assert_eq!(stateful.failed_sign_ins, 0);
    assert_eq!(stateful.db_hits, 12);

    let jwt = &status.results[1];
    assert_eq!(jwt.mode, Some(Mode::Jwt));
    assert_eq!(jwt.requests, 12);
    assert_eq!(jwt.errors, 0);
    assert_eq!(jwt.failed_sign_ins, 0);
    assert_eq!(jwt.db_hits, 0);
}

#[tokio::test]
async fn results_csv_has_row_per_mode() {
    let app = TestApp::spawn().await;
    let status = finished_run(&app).await;

    let reply = app.get(&format!("/api/simulations/{}/results.csv", status.id)).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.content_type(), Some("text/csv; charset=utf-8"));
    let disposition = reply.headers.get(CONTENT_DISPOSITION).and_then(|value| value.to_str().ok());
    let expected = format!("attachment; filename=\"simulation-{}.csv\"", status.id);
    assert_eq!(disposition, Some(expected.as_str()));

    let lines: Vec<&str> = reply.text.lines().collect();
    assert_eq!(lines.len(), 3, "expected a header and two rows: {}", reply.text);
    assert!(lines[0].starts_with("simulation_id,state,database,"), "{}", lines[0]);
    let stateful_prefix = format!("{},finished,sqlite,0,3,4,0,both,stateful,12,0,0,12,", status.id);
    assert!(lines[1].starts_with(&stateful_prefix), "{}", lines[1]);
    let jwt_prefix = format!("{},finished,sqlite,0,3,4,0,both,jwt,12,0,0,0,", status.id);
    assert!(lines[2].starts_with(&jwt_prefix), "{}", lines[2]);
    let columns = lines[0].split(',').count();
    assert_eq!(lines[1].split(',').count(), columns);
    assert_eq!(lines[2].split(',').count(), columns);
}

#[tokio::test]
async fn results_json_matches_status() {
    let app = TestApp::spawn().await;
    let status = finished_run(&app).await;

    let reply = app.get(&format!("/api/simulations/{}/results.json", status.id)).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.content_type(), Some("application/json"));
    let disposition = reply.headers.get(CONTENT_DISPOSITION).and_then(|value| value.to_str().ok());
    let expected = format!("attachment; filename=\"simulation-{}.json\"", status.id);
    assert_eq!(disposition, Some(expected.as_str()));
    let exported: SimulationStatus = reply.parse();
    assert_eq!(exported, status);
}

#[tokio::test]
async fn simulation_rejects_invalid_settings() {
    let app = TestApp::spawn().await;
    let cases = [
        ("no virtual users", simulation_request(0, 4, 0, "both"), "virtual_users"),
        ("501 virtual users", simulation_request(501, 1, 0, "jwt"), "virtual_users"),
        ("no pages", simulation_request(3, 0, 0, "both"), "pages_per_user"),
        ("think time over 10 s", simulation_request(3, 4, 10_001, "both"), "think_time_ms"),
    ];

    for (case, body, field) in cases {
        let reply = app.start_simulation(&body).await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{case}: {reply:?}");
        assert_eq!(reply.error_code(), "simulation_invalid", "{case}: {reply:?}");
        let reason = reply.body["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(field), "{case}: the reason does not name {field}: {reason}");
    }
}

#[tokio::test]
async fn simulation_rejects_over_request_limit() {
    let app = TestApp::spawn().await;

    // 500 users × 60 pages × 2 modes is 60,000 page requests; the default limit is 50,000.
    let reply = app.start_simulation(&simulation_request(500, 60, 0, "both")).await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{reply:?}");
    assert_eq!(reply.error_code(), "simulation_too_large");
    let reason = reply.body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("60000"), "{reason}");
    assert!(reason.contains("50000"), "{reason}");
}

#[tokio::test]
async fn user_limit_option_applies() {
    let app = TestApp::spawn_with(&["--max-simulation-users", "2"]).await;

    let reply = app.start_simulation(&simulation_request(3, 1, 0, "jwt")).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert_eq!(reply.error_code(), "simulation_invalid");
    let reason = reply.body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("between 1 and 2"), "{reason}");

    let (mut events, _) = app.open_events().await;
    let allowed = start_run(&app, 2, 1, 0, "jwt").await;
    let last_event = events.wait_for_simulation_end(&allowed.id).await;
    assert_eq!(last_event.state, SimulationState::Finished);
    assert_eq!(last_event.completed_requests, 2);
}

#[tokio::test]
async fn second_run_conflicts_while_running() {
    let app = TestApp::spawn().await;
    let (mut events, _) = app.open_events().await;
    // With 2 s between pages, 5 pages keep this run going for about 8 s unless cancelled.
    let first = start_run(&app, 2, 5, 2000, "jwt").await;

    let second = app.start_simulation(&simulation_request(1, 1, 0, "jwt")).await;

    assert_eq!(second.status, StatusCode::CONFLICT, "{second:?}");
    assert_eq!(second.error_code(), "simulation_running");

    assert_eq!(app.cancel_simulation(&first.id).await.status, StatusCode::OK);
    let ended = events.wait_for_simulation_end(&first.id).await;
    assert_eq!(ended.state, SimulationState::Cancelled);
    let next = start_run(&app, 1, 1, 0, "jwt").await;
    let next_ended = events.wait_for_simulation_end(&next.id).await;
    assert_eq!(next_ended.state, SimulationState::Finished);
}

#[tokio::test]
async fn other_visitor_cannot_reach_run() {
    let app = TestApp::spawn().await;
    let (mut events, _) = app.open_events().await;
    let run = start_run(&app, 2, 5, 2000, "jwt").await;
    let stranger = app.new_visitor();

    let read = stranger.simulation(&run.id).await;
    let cancel = stranger.cancel_simulation(&run.id).await;
    let download = stranger.get(&format!("/api/simulations/{}/results.csv", run.id)).await;

    assert_eq!(read.status, StatusCode::NOT_FOUND, "{read:?}");
    assert_eq!(read.error_code(), "simulation_not_found");
    assert_eq!(cancel.status, StatusCode::NOT_FOUND, "{cancel:?}");
    assert_eq!(cancel.error_code(), "simulation_not_found");
    assert_eq!(download.status, StatusCode::NOT_FOUND, "{download:?}");
    assert_eq!(download.error_code(), "simulation_not_found");
    let owner_view: SimulationStatus = app.simulation(&run.id).await.parse();
    assert_eq!(owner_view.state, SimulationState::Running, "the stranger's DELETE stopped the run");

    assert_eq!(app.cancel_simulation(&run.id).await.status, StatusCode::OK);
    events.wait_for_simulation_end(&run.id).await;
}

#[tokio::test]
async fn unknown_simulation_id_is_not_found() {
    let app = TestApp::spawn().await;

    let reply = app.simulation("00000000-0000-4000-8000-000000000000").await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{reply:?}");
    assert_eq!(reply.error_code(), "simulation_not_found");
}

#[tokio::test]
async fn malformed_simulation_bodies_are_rejected() {
    let app = TestApp::spawn().await;
    let cases = [
        ("malformed JSON", r#"{"virtual_users": 3,"#, "malformed_json"),
        (
            "unknown mode",
            r#"{"virtual_users": 3, "pages_per_user": 4, "think_time_ms": 0, "modes": "everything"}"#,
            "invalid_field",
        ),
        (
            "unknown field",
            r#"{"virtual_users": 3, "pages_per_user": 4, "think_time_ms": 0, "modes": "jwt", "ramp_up": 1}"#,
            "invalid_field",
        ),
        ("missing field", r#"{"virtual_users": 3, "pages_per_user": 4, "modes": "jwt"}"#, "invalid_field"),
        (
            "negative users",
            r#"{"virtual_users": -1, "pages_per_user": 4, "think_time_ms": 0, "modes": "jwt"}"#,
            "invalid_field",
        ),
    ];

    for (case, body, code) in cases {
        let request = app
            .request(Method::POST, "/api/simulations")
            .header("content-type", "application/json")
            .body(body);
        let reply = crate::common::send(request).await;

        assert!(reply.status.is_client_error(), "{case}: {reply:?}");
        assert_eq!(reply.error_code(), code, "{case}: {reply:?}");
        let reason = reply.body["reason"].as_str().unwrap_or_default();
        assert!(!reason.is_empty(), "{case}: the error has no reason");
    }
    let unknown_mode = app
        .request(Method::POST, "/api/simulations")
        .json(&simulation_request(3, 4, 0, "everything"));
    let reply = crate::common::send(unknown_mode).await;
    let reason = reply.body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("everything"), "the reason does not name the bad mode: {reason}");
}

#[tokio::test]
async fn cancelled_run_stops_early() {
    let app = TestApp::spawn().await;
    let (mut events, _) = app.open_events().await;
    // 5 users × 10 pages with 2 s between pages would take about 18 s to finish.
    let run = start_run(&app, 5, 10, 2000, "jwt").await;

    let cancel = app.cancel_simulation(&run.id).await;

    assert_eq!(cancel.status, StatusCode::OK, "{cancel:?}");
    let ended = events.wait_for_simulation_end(&run.id).await;
    assert_eq!(ended.state, SimulationState::Cancelled);
    assert_eq!(ended.planned_requests, 50);
    assert!(
        ended.completed_requests < ended.planned_requests,
        "completed {} of {} requests",
        ended.completed_requests,
        ended.planned_requests
    );
    assert!(ended.message.is_some());
    assert!(ended.finished_at_ms.is_some());
    let after: SimulationStatus = app.simulation(&run.id).await.parse();
    assert_eq!(after.state, SimulationState::Cancelled);
    assert_eq!(after.completed_requests, ended.completed_requests);
}

#[tokio::test]
async fn simulated_traffic_counts_on_server() {
    let app = TestApp::spawn().await;
    let before = app.stats().await;

    let status = finished_run(&app).await;

    let after = app.stats().await;
    let stateful = &status.results[0];
    let jwt = &status.results[1];
    let expected = counters(
        before.server.db_hits + stateful.db_hits + jwt.db_hits,
        before.server.stateful_requests + stateful.requests,
        before.server.jwt_requests + jwt.requests,
    );
    assert_eq!(after.server, expected);
    assert_eq!(after.visitor, Counters::default(), "the run was counted as the owner's requests");
}

#[tokio::test]
async fn simulated_latency_delays_session_load() {
    let app = TestApp::spawn_with(&["--simulated-db-latency-ms", "20"]).await;
    app.sign_in("Ada").await;
    let (mut events, _) = app.open_events().await;

    let reply = app.stateful_page("orders").await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let page: PageResponse = reply.parse();
    assert_eq!(page.db_queries, 1);
    assert!(page.auth_us >= 20_000, "auth took {} µs", page.auth_us);
    let line = events.next_log().await;
    assert_eq!(line.statements.len(), 1, "{line:?}");
    assert_eq!(line.statements[0].sql, SELECT_SESSION);
    assert_eq!(line.statements[0].simulated_us, 20_000);
    assert!(line.statements[0].us >= 20_000, "{line:?}");
}

#[tokio::test]
async fn simulated_latency_shows_in_info() {
    let app = TestApp::spawn_with(&["--simulated-db-latency-ms", "20"]).await;

    let reply = app.get("/api/info").await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let info: ServerInfo = reply.parse();
    assert_eq!(info.simulated_db_latency_ms, 20);
    assert_eq!(info.database, "sqlite");
}

#[tokio::test]
async fn simulated_latency_shows_in_simulation() {
    let app = TestApp::spawn_with(&["--simulated-db-latency-ms", "20"]).await;
    let (mut events, _) = app.open_events().await;

    let started = start_run(&app, 1, 2, 0, "stateful").await;

    assert_eq!(started.simulated_db_latency_ms, 20);
    let ended = events.wait_for_simulation_end(&started.id).await;
    assert_eq!(ended.state, SimulationState::Finished);
    assert_eq!(ended.simulated_db_latency_ms, 20);
    assert_eq!(ended.results.len(), 1);
    assert_eq!(ended.results[0].db_hits, 2);
    assert!(ended.results[0].auth.p50_us >= 20_000, "{:?}", ended.results[0].auth);
}

#[tokio::test]
async fn cancelling_finished_run_conflicts() {
    let app = TestApp::spawn().await;
    let status = finished_run(&app).await;

    let reply = app.cancel_simulation(&status.id).await;

    assert_eq!(reply.status, StatusCode::CONFLICT, "{reply:?}");
    assert_eq!(reply.error_code(), "simulation_not_running");
}

#[tokio::test]
async fn jwt_virtual_users_refresh_expiring_tokens() {
    // Tokens live 6 s and are refreshed 5 s before they expire, so with 1.5 s between page
    // requests the second and third requests each follow a refresh.
    let app = TestApp::spawn_with(&["--access-token-ttl-secs", "6"]).await;
    let (mut events, _) = app.open_events().await;

    let started = start_run(&app, 1, 3, 1500, "jwt").await;
    let ended = events.wait_for_simulation_end(&started.id).await;

    assert_eq!(ended.state, SimulationState::Finished, "{ended:?}");
    let jwt = &ended.results[0];
    assert_eq!(jwt.requests, 3);
    assert_eq!(jwt.errors, 0);
    assert_eq!(jwt.token_refreshes, 2);
    assert_eq!(jwt.db_hits, 0);
}

#[tokio::test]
async fn long_lived_tokens_need_no_refresh() {
    let app = TestApp::spawn().await;

    let status = finished_run(&app).await;

    assert!(status.results.iter().all(|result| result.token_refreshes == 0), "{status:?}");
}
