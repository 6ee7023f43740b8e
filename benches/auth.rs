//! Criterion benchmarks of the per-request authentication step of each backend: signing and
//! verifying an HS256 JWT in memory, and loading one session record through the session store.
//!
//! Run with `cargo bench --features ssr --bench auth`. The PostgreSQL lookup runs only when
//! `SESSION_JOURNEY_BENCH_POSTGRES_URL` names a database, for example the one that
//! `scripts/postgres.sh start DIR` prints. BENCHMARKS.md records the results.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use session_journey::model::User;
use session_journey::server::db::{self, Database};
use session_journey::server::jwt_backend::{JwtBackend, SigningSecret};
use session_journey::server::session_backend::SqlSessionStore;
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

/// Environment variable with the URL of a PostgreSQL database for the PostgreSQL lookup.
const POSTGRES_URL_ENV: &str = "SESSION_JOURNEY_BENCH_POSTGRES_URL";

/// Issuer and audience of the server's default settings.
const ISSUER: &str = "session-journey";

/// Token and session lifetimes of the server's default settings, in seconds.
const JWT_TTL_SECS: u64 = 900;
const SESSION_TTL_SECS: i64 = 28_800;

fn demo_user() -> User {
    User {
        id: "0b5c2f4e-6a53-4d0e-9a51-1f2f3c4d5e6f".into(),
        name: "John Doe".into(),
        role: "member".into(),
    }
}

fn jwt_backend() -> JwtBackend {
    let secret = SigningSecret::from_bytes(vec![0x5a; 32]).expect("a 32-byte secret is valid");
    JwtBackend::new(&secret, JWT_TTL_SECS, ISSUER, ISSUER)
}

fn bench_jwt(c: &mut Criterion) {
    let jwt = jwt_backend();
    let user = demo_user();
    let (token, _) = jwt.issue(&user).expect("failed to issue a token");
    assert!(jwt.verify(&token).is_ok(), "the issued token does not verify");

    let mut group = c.benchmark_group("jwt");
    group.bench_function("issue", |b| b.iter(|| jwt.issue(black_box(&user))));
    group.bench_function("verify", |b| b.iter(|| jwt.verify(black_box(&token))));
    group.finish();
}

/// A session database opened for one benchmark. `_data_dir` keeps the SQLite file alive.
struct BenchDatabase {
    database: Database,
    _data_dir: TempDir,
}

/// Opens a migrated SQLite database in a new temporary directory, as the server does.
async fn open_sqlite() -> BenchDatabase {
    let data_dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let database = db::open(data_dir.path(), None)
        .await
        .expect("failed to open the SQLite database");
    BenchDatabase {
        database,
        _data_dir: data_dir,
    }
}

/// Opens and migrates the PostgreSQL database at `url`.
async fn open_postgres(url: &str) -> BenchDatabase {
    let data_dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let database = db::open(data_dir.path(), Some(url))
        .await
        .unwrap_or_else(|error| panic!("failed to open {}: {error}", db::redacted_url(url)));
    BenchDatabase {
        database,
        _data_dir: data_dir,
    }
}

/// Stores one signed-in session with the same contents as a sign-in writes, and returns its
/// ID.
async fn create_session(store: &SqlSessionStore) -> Id {
    let user = serde_json::to_value(demo_user()).expect("a user serializes to JSON");
    let mut record = Record {
        id: Id::default(),
        data: HashMap::from([("user".to_owned(), user)]),
        expiry_date: OffsetDateTime::now_utc() + time::Duration::seconds(SESSION_TTL_SECS),
    };
    store.create(&mut record).await.expect("failed to create a session");
    record.id
}

/// Measures `SqlSessionStore::load` of one live session: the single SELECT that the stateful
/// page route runs, plus decoding the record. `sql_round_trip/{store_name}` fetches a constant
/// through the same pool: the least any statement costs on that database through sqlx.
fn bench_session_lookup(c: &mut Criterion, runtime: &Runtime, store_name: &str, database: &Database) {
    let store = SqlSessionStore::new(database, Duration::ZERO);
    let id = runtime.block_on(create_session(&store));
    let loaded = runtime.block_on(store.load(&id)).expect("failed to load the session");
    assert!(loaded.is_some(), "the created session did not load from {store_name}");

    c.bench_function(&format!("session_lookup/{store_name}"), |b| {
        b.to_async(runtime).iter(|| store.load(black_box(&id)));
    });
    c.bench_function(&format!("sql_round_trip/{store_name}"), |b| {
        b.to_async(runtime).iter(|| async {
            // A BIGINT decodes as i64 on both SQLite and PostgreSQL through sqlx's Any driver.
            let (one,): (i64,) = sqlx::query_as("SELECT CAST(1 AS BIGINT)")
                .fetch_one(&database.pool)
                .await
                .expect("SELECT CAST(1 AS BIGINT) failed");
            one
        });
    });

    runtime
        .block_on(store.delete(&id))
        .expect("failed to delete the benchmark session");
}

fn bench_session_stores(c: &mut Criterion) {
    // A multi-threaded runtime like the server's, because sqlx's SQLite driver hands every
    // statement to a connection's worker thread and the cost of that handoff is part of a
    // lookup.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("failed to start the tokio runtime");

    let sqlite = runtime.block_on(open_sqlite());
    bench_session_lookup(c, &runtime, "sqlite", &sqlite.database);

    match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) => {
            let postgres = runtime.block_on(open_postgres(&url));
            bench_session_lookup(c, &runtime, "postgresql", &postgres.database);
        }
        Err(_) => eprintln!("session_lookup/postgresql skipped: set {POSTGRES_URL_ENV} to run it"),
    }
}

criterion_group!(benches, bench_jwt, bench_session_stores);
criterion_main!(benches);
