//! The SQL session store behind tower-sessions, on SQLite or PostgreSQL.
//!
//! tower-sessions-sqlx-store's stores run their statements out of reach of any caller, and
//! their `create` wraps an insert in a transaction, so the statements of one request could
//! not be counted and timed one by one. This store implements the same `SessionStore` trait
//! with one plain statement per call, each recorded through [`db_hits::record`].

use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::rngs::OsRng;
use rand::RngCore;
use sqlx::AnyPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::server::db::{Database, DatabaseKind};
use crate::server::db_hits;

pub const SELECT_SESSION: &str =
    "SELECT data FROM sessions WHERE id = $1 AND expires_at > $2";
pub const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4)";
pub const UPSERT_SESSION: &str = "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at, \
     user_id = excluded.user_id";
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = $1";
pub const DELETE_EXPIRED: &str = "DELETE FROM sessions WHERE expires_at <= $1";
pub const DELETE_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";

/// Session records in the `sessions` table.
#[derive(Clone, Debug)]
pub struct SqlSessionStore {
    pool: AnyPool,
    kind: DatabaseKind,
    /// Delay added before every statement to imitate a distant database; zero by default.
    simulated_latency: Duration,
}

impl SqlSessionStore {
    pub fn new(database: &Database, simulated_latency: Duration) -> Self {
        Self {
            pool: database.pool.clone(),
            kind: database.kind,
            simulated_latency,
        }
    }

    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The delay added before every statement, zero unless simulated latency is on.
    pub fn simulated_latency(&self) -> Duration {
        self.simulated_latency
    }

    /// The connection pool, for other tables that share the session database.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Waits out the simulated round trip, if any, and returns the statement's start time.
    pub(crate) async fn before_statement(&self) -> Instant {
        let started = Instant::now();
        if !self.simulated_latency.is_zero() {
            tokio::time::sleep(self.simulated_latency).await;
        }
        started
    }

    /// Records `sql` against the current request as one DB hit that began at `started`.
    pub(crate) fn record(&self, sql: &str, started: Instant) {
        db_hits::record_with_delay(sql, started.elapsed(), self.simulated_latency);
    }

    /// Deletes expired sessions and returns how many were removed.
    pub async fn delete_expired(&self) -> sqlx::Result<u64> {
        let started = self.before_statement().await;
        let result = sqlx::query(DELETE_EXPIRED)
            .bind(OffsetDateTime::now_utc().unix_timestamp())
            .execute(&self.pool)
            .await;
        self.record(DELETE_EXPIRED, started);
        Ok(result?.rows_affected())
    }

    /// Deletes every session whose signed-in user has `user_id` and returns how many were
    /// removed.
    pub async fn delete_user_sessions(&self, user_id: &str) -> sqlx::Result<u64> {
        let started = self.before_statement().await;
        let result = sqlx::query(DELETE_USER_SESSIONS)
            .bind(user_id.to_owned())
            .execute(&self.pool)
            .await;
        self.record(DELETE_USER_SESSIONS, started);
        Ok(result?.rows_affected())
    }

    async fn insert(&self, record: &Record) -> session_store::Result<bool> {
        let data = encode(record)?;
        let started = self.before_statement().await;
        let result = sqlx::query(INSERT_SESSION)
            .bind(record.id.to_string())
            .bind(data)
            .bind(record.expiry_date.unix_timestamp())
            .bind(signed_in_user_id(record))
            .execute(&self.pool)
            .await;
        self.record(INSERT_SESSION, started);

        match result {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(false),
            Err(error) => Err(backend_error(error)),
        }
    }
}

/// Returns a session ID with 128 bits from the operating system's random generator.
/// tower-sessions' own `Id::default()` draws from a user-space generator instead.
pub fn random_session_id() -> Id {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    Id(i128::from_le_bytes(bytes))
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        record.id = random_session_id();
        // A collision of two 128-bit random IDs is not expected, but the primary key makes one
        // fail loudly instead of overwriting another visitor's session.
        while !self.insert(record).await? {
            tracing::warn!("session ID collision; drawing a new ID");
            record.id = random_session_id();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let started = self.before_statement().await;
        let result = sqlx::query(UPSERT_SESSION)
            .bind(record.id.to_string())
            .bind(data)
            .bind(record.expiry_date.unix_timestamp())
            .bind(signed_in_user_id(record))
            .execute(&self.pool)
            .await;
        self.record(UPSERT_SESSION, started);
        result.map(|_| ()).map_err(backend_error)
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let started = self.before_statement().await;
        let result: sqlx::Result<Option<(String,)>> = sqlx::query_as(SELECT_SESSION)
            .bind(session_id.to_string())
            .bind(OffsetDateTime::now_utc().unix_timestamp())
            .fetch_optional(&self.pool)
            .await;
        self.record(SELECT_SESSION, started);
        let row = result.map_err(backend_error)?;

        row.map(|(data,)| serde_json::from_str(&data))
            .transpose()
            .map_err(|error| session_store::Error::Decode(error.to_string()))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let started = self.before_statement().await;
        let result = sqlx::query(DELETE_SESSION)
            .bind(session_id.to_string())
            .execute(&self.pool)
            .await;
        self.record(DELETE_SESSION, started);
        result.map(|_| ()).map_err(backend_error)
    }
}

/// Returns the ID of the user in `record`. It goes in a column of its own, so that "revoke
/// everything" finds a user's sessions by index rather than by searching the JSON.
fn signed_in_user_id(record: &Record) -> Option<String> {
    let user = record.data.get(super::USER_KEY)?;
    user.get("id")?.as_str().map(str::to_owned)
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(record).map_err(|error| session_store::Error::Encode(error.to_string()))
}

fn backend_error(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db;
    use crate::server::db_hits::QueryRecorder;

    async fn store() -> (tempfile::TempDir, SqlSessionStore) {
        let dir = tempfile::tempdir().unwrap();
        let database = db::open(dir.path(), None).await.unwrap();
        (dir, SqlSessionStore::new(&database, Duration::ZERO))
    }

    fn record() -> Record {
        Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() + time::Duration::hours(1),
        }
    }

    #[tokio::test]
    async fn create_then_load_runs_one_statement_each() {
        let (_dir, store) = store().await;
        let mut created = record();
        let recorder = QueryRecorder::default();

        recorder.scope(store.create(&mut created)).await.unwrap();
        assert_eq!(recorder.count(), 1);
        assert_eq!(recorder.statements()[0].sql, INSERT_SESSION);

        let loaded = recorder.scope(store.load(&created.id)).await.unwrap();
        assert_eq!(loaded.map(|record| record.id), Some(created.id));
        assert_eq!(recorder.count(), 2);
        assert_eq!(recorder.statements()[1].sql, SELECT_SESSION);
    }

    #[tokio::test]
    async fn expired_session_does_not_load() {
        let (_dir, store) = store().await;
        let mut expired = record();
        expired.expiry_date = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        store.create(&mut expired).await.unwrap();

        assert!(store.load(&expired.id).await.unwrap().is_none());
        assert_eq!(store.delete_expired().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn deleted_session_does_not_load() {
        let (_dir, store) = store().await;
        let mut created = record();
        store.create(&mut created).await.unwrap();
        store.delete(&created.id).await.unwrap();

        assert!(store.load(&created.id).await.unwrap().is_none());
    }

    #[test]
    fn session_ids_differ() {
        assert_ne!(random_session_id(), random_session_id());
    }
}
