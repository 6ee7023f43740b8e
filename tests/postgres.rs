//! The session store on a real PostgreSQL server, named by SESSION_JOURNEY_TEST_POSTGRES_URL.
//! Each test creates its own database on that server and drops it at the end, so tests can
//! run in parallel. Without the variable the tests pass without running, except under CI,
//! where they fail so that a missing server is never mistaken for a pass.

use crate::common::{simulation_request, TestApp, SESSION_COOKIE, TEST_POSTGRES_URL_ENV};
use reqwest::{Method, StatusCode};
use session_journey::model::{Mode, PageResponse, ServerInfo, SimulationState, SimulationStatus, TokenInspection};
use sqlx::{Connection, Executor, PgConnection};

/// A database of its own for one test, dropped when this value is dropped.
struct TestDatabase {
    /// The URL of the server's existing database, used to create and drop this one.
    admin_url: String,
    name: String,
    /// The URL of this database, for `--database-url`.
    url: String,
}

impl TestDatabase {
    /// Creates a database with a random name on the server named by the environment, or
    /// returns `None` when the variable is unset outside CI.
    async fn create(test: &str) -> Option<Self> {
        let Some(admin_url) = std::env::var(TEST_POSTGRES_URL_ENV).ok().filter(|url| !url.is_empty()) else {
            let on_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
            assert!(
                !on_ci,
                "{TEST_POSTGRES_URL_ENV} is not set under CI; scripts/test.sh starts a PostgreSQL \
                 server and sets it"
            );
            eprintln!(
                "{test}: skipped because {TEST_POSTGRES_URL_ENV} is not set; start a server with \
                 `scripts/postgres.sh start DIR PORT` and export the URL it prints"
            );
            return None;
        };

        let name = format!("journey_test_{}", uuid::Uuid::new_v4().simple());
        let mut url = reqwest::Url::parse(&admin_url)
            .unwrap_or_else(|error| panic!("{TEST_POSTGRES_URL_ENV} is not a URL: {error}"));
        url.set_path(&format!("/{name}"));

        let mut connection = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| panic!("failed to connect to {TEST_POSTGRES_URL_ENV}: {error}"));
        // The name has only lowercase letters, digits and underscores, so it needs no quoting.
        connection
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("failed to create the test database");
        connection.close().await.expect("failed to close the admin connection");

        Some(Self {
            admin_url,
            name,
            url: url.to_string(),
        })
    }

    /// Counts the rows of the `sessions` table, or only those with ID `id`.
    async fn session_rows(&self, id: Option<&str>) -> i64 {
        let mut connection = PgConnection::connect(&self.url)
            .await
            .expect("failed to connect to the test database");
        let query = match id {
            Some(id) => sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE id = $1").bind(id.to_owned()),
            None => sqlx::query_as("SELECT COUNT(*) FROM sessions"),
        };
        let (rows,): (i64,) = query.fetch_one(&mut connection).await.expect("failed to count sessions");
        connection.close().await.expect("failed to close the test database connection");
        rows
    }

    /// Starts a server whose session store is this database.
    async fn spawn_app(&self) -> TestApp {
        TestApp::spawn_with(&["--database-url", &self.url]).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await, and the test's runtime may be shutting down, so the statement
        // runs on a runtime of its own in another thread. FORCE ends the connections that the
        // test's servers still hold.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut connection = PgConnection::connect(&admin_url).await.map_err(std::io::Error::other)?;
                connection.execute(statement.as_str()).await.map_err(std::io::Error::other)?;
                connection.close().await.map_err(std::io::Error::other)
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("failed to drop the test database {}: {error}", self.name),
            Err(_) => eprintln!("dropping the test database {} panicked", self.name),
        }
    }
}

#[tokio::test]
async fn postgres_stateful_page_loads_session() {
    let Some(database) = TestDatabase::create("postgres_stateful_page_loads_session").await else {
        return;
    };
    let app = database.spawn_app().await;
    app.sign_in("Ada").await;
    let session_id = app.cookie(SESSION_COOKIE).expect("no session cookie after sign-in");

    let reply = app.stateful_page("orders").await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let page: PageResponse = reply.parse();
    assert_eq!(page.mode, Mode::Stateful);
    assert_eq!(page.db_queries, 1);
    assert_eq!(page.user.name, "Ada");
    assert_eq!(database.session_rows(Some(&session_id)).await, 1);
    assert_eq!(database.session_rows(None).await, 1);
}

#[tokio::test]
async fn postgres_info_names_database() {
    let Some(database) = TestDatabase::create("postgres_info_names_database").await else {
        return;
    };
    let app = database.spawn_app().await;

    let reply = app.get("/api/info").await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let info: ServerInfo = reply.parse();
    assert_eq!(info.database, "postgresql");
}

#[tokio::test]
async fn postgres_logout_deletes_session() {
    let Some(database) = TestDatabase::create("postgres_logout_deletes_session").await else {
        return;
    };
    let app = database.spawn_app().await;
    app.sign_in("Ada").await;
    let session_id = app.cookie(SESSION_COOKIE).expect("no session cookie after sign-in");
    assert_eq!(database.session_rows(Some(&session_id)).await, 1);

    let reply = app.logout().await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(database.session_rows(None).await, 0);
    let cookie = format!("{SESSION_COOKIE}={session_id}");
    let request = app.request_with_cookies(Method::GET, "/api/stateful/pages/orders", &cookie);
    let replay = crate::common::send(request).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.error_code(), "session_not_found");
}

#[tokio::test]
async fn postgres_simulation_names_database() {
    let Some(database) = TestDatabase::create("postgres_simulation_names_database").await else {
        return;
    };
    let app = database.spawn_app().await;
    let (mut events, _) = app.open_events().await;

    let reply = app.start_simulation(&simulation_request(2, 3, 0, "both")).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let started: SimulationStatus = reply.parse();
    assert_eq!(started.database, "postgresql");
    let ended = events.wait_for_simulation_end(&started.id).await;
    assert_eq!(ended.state, SimulationState::Finished, "{ended:?}");
    assert_eq!(ended.database, "postgresql");
    assert_eq!(ended.completed_requests, 12);
    assert_eq!(ended.results.len(), 2);
    assert_eq!(ended.results[0].mode, Some(Mode::Stateful));
    assert_eq!(ended.results[0].errors, 0);
    assert_eq!(ended.results[0].failed_sign_ins, 0);
    assert_eq!(ended.results[0].db_hits, 6);
    assert_eq!(ended.results[1].mode, Some(Mode::Jwt));
    assert_eq!(ended.results[1].errors, 0);
    assert_eq!(ended.results[1].db_hits, 0);
    // Each virtual user's sign-in stored one session in this database.
    assert_eq!(database.session_rows(None).await, 4);
}

#[tokio::test]
async fn two_servers_share_sessions() {
    let Some(database) = TestDatabase::create("two_servers_share_sessions").await else {
        return;
    };
    let first = database.spawn_app().await;
    let second = TestApp::spawn_sharing_key(&first, &["--database-url", &database.url]).await;
    assert_eq!(second.signing_key(), first.signing_key());
    let login = first.sign_in("Ada").await;
    let cookies = first.cookies_with(&[]);

    let page_request = second.request_with_cookies(Method::GET, "/api/stateful/pages/orders", &cookies);
    let stateful = crate::common::send(page_request).await;
    let jwt = second.cookieless().jwt_page_with_token("billing", &login.token).await;

    assert_eq!(stateful.status, StatusCode::OK, "{stateful:?}");
    let page: PageResponse = stateful.parse();
    assert_eq!(page.user, login.user);
    assert_eq!(page.db_queries, 1);
    assert_eq!(jwt.status, StatusCode::OK, "{jwt:?}");
    let page: PageResponse = jwt.parse();
    assert_eq!(page.user, login.user);
    assert_eq!(page.db_queries, 0);

    // A logout on the second server deletes the session that the first one created.
    let logout_request = second.request_with_cookies(Method::POST, "/api/logout", &cookies);
    let logout = crate::common::send(logout_request).await;
    assert_eq!(logout.status, StatusCode::OK, "{logout:?}");
    let replay = first.stateful_page("orders").await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{replay:?}");
    assert_eq!(replay.error_code(), "session_not_found");
}

#[tokio::test]
async fn postgres_refresh_and_denylist() {
    let Some(database) = TestDatabase::create("postgres_refresh_and_denylist").await else {
        return;
    };
    let app = TestApp::spawn_with(&["--database-url", &database.url, "--jwt-denylist"]).await;
    let first = crate::refresh::refresh_token_of(&app.login("Ada").await);
    let permissions = app.request(Method::POST, "/api/token/permissions").json(&serde_json::json!({ "count": 5 }));
    assert_eq!(crate::common::send(permissions).await.status, StatusCode::OK);

    let refreshed = app.refresh_token().await;
    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
    let inspection: TokenInspection = app.get("/api/token").await.parse();
    assert!(inspection.payload.contains("\"orders:read\""), "{}", inspection.payload);
    assert!(inspection.payload.contains("\"settings:read\""), "{}", inspection.payload);
    let page = app.jwt_page("orders").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.parse::<PageResponse>().db_queries, 1);

    let cookies = app.cookies_with(&[("sj_refresh", Some(&first))]);
    let replay = crate::common::send(app.request_with_cookies(Method::POST, "/api/token/refresh", &cookies)).await;
    assert_eq!(replay.error_code(), "refresh_token_reused");
    let newest = app.refresh_token().await;
    assert_eq!(newest.error_code(), "refresh_token_invalid");

    let revoked = app.revoke_all().await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    assert_eq!(revoked.body["sessions_deleted"], 1);
    assert_eq!(revoked.body["token_denied"], true);
    assert_eq!(database.session_rows(None).await, 0);
    assert_eq!(app.stateful_page("orders").await.error_code(), "session_not_found");
    assert_eq!(app.jwt_page("orders").await.error_code(), "token_revoked");
}
