//! The SQLite session store behind tower-sessions.
//!
//! tower-sessions-sqlx-store's `SqliteStore` runs its statements out of reach of any caller,
//! and its `create` wraps an insert in a transaction, so the statements of one request could
//! not be counted and timed one by one. This store implements the same `SessionStore` trait
//! with one plain statement per call, each recorded through [`db_hits::record`].

use std::time::Instant;

use async_trait::async_trait;
use rand::rngs::OsRng;
use rand::RngCore;
use sqlx::SqlitePool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::server::db_hits;

pub const SELECT_SESSION: &str =
    "SELECT data FROM sessions WHERE id = ? AND expires_at > ?";
pub const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?)";
pub const UPSERT_SESSION: &str = "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) \
     ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at";
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = ?";
pub const DELETE_EXPIRED: &str = "DELETE FROM sessions WHERE expires_at <= ?";

/// Session records in the `sessions` table of the app's SQLite database.
#[derive(Clone, Debug)]
pub struct SqliteSessionStore {
    pool: SqlitePool,
}

impl SqliteSessionStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Deletes expired sessions and returns how many were removed.
    pub async fn delete_expired(&self) -> sqlx::Result<u64> {
        let started = Instant::now();
        let result = sqlx::query(DELETE_EXPIRED)
            .bind(OffsetDateTime::now_utc().unix_timestamp())
            .execute(&self.pool)
            .await;
        db_hits::record(DELETE_EXPIRED, started.elapsed());
        Ok(result?.rows_affected())
    }

    async fn insert(&self, record: &Record) -> session_store::Result<bool> {
        let data = encode(record)?;
        let started = Instant::now();
        let result = sqlx::query(INSERT_SESSION)
            .bind(record.id.to_string())
            .bind(data)
            .bind(record.expiry_date.unix_timestamp())
            .execute(&self.pool)
            .await;
        db_hits::record(INSERT_SESSION, started.elapsed());

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
impl SessionStore for SqliteSessionStore {
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
        let started = Instant::now();
        let result = sqlx::query(UPSERT_SESSION)
            .bind(record.id.to_string())
            .bind(data)
            .bind(record.expiry_date.unix_timestamp())
            .execute(&self.pool)
            .await;
        db_hits::record(UPSERT_SESSION, started.elapsed());
        result.map(|_| ()).map_err(backend_error)
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let started = Instant::now();
        let result: sqlx::Result<Option<(String,)>> = sqlx::query_as(SELECT_SESSION)
            .bind(session_id.to_string())
            .bind(OffsetDateTime::now_utc().unix_timestamp())
            .fetch_optional(&self.pool)
            .await;
        db_hits::record(SELECT_SESSION, started.elapsed());
        let row = result.map_err(backend_error)?;

        row.map(|(data,)| serde_json::from_str(&data))
            .transpose()
            .map_err(|error| session_store::Error::Decode(error.to_string()))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let started = Instant::now();
        let result = sqlx::query(DELETE_SESSION)
            .bind(session_id.to_string())
            .execute(&self.pool)
            .await;
        db_hits::record(DELETE_SESSION, started.elapsed());
        result.map(|_| ()).map_err(backend_error)
    }
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

    async fn store() -> (tempfile::TempDir, SqliteSessionStore) {
        let dir = tempfile::tempdir().unwrap();
        let pool = db::open(dir.path()).await.unwrap();
        (dir, SqliteSessionStore::new(pool))
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
