//! The session database: an embedded SQLite file by default, or a PostgreSQL server named by
//! `--database-url`. Both are reached through sqlx's `Any` driver, so the session store runs
//! the same statements and migrations on either.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "session-journey.sqlite3";

/// Connections per pool. SQLite serialises writers anyway; PostgreSQL gets enough for a
/// 2-core app server without crowding a shared database.
const MAX_CONNECTIONS: u32 = 8;

/// Size, in bytes, that SQLite truncates the WAL file back to after a checkpoint lets it start
/// over (`PRAGMA journal_size_limit`). Without a limit the file keeps its largest size for
/// ever, because SQLite reuses the WAL from its start rather than shrinking it.
///
/// NOTE: SQLite starts the WAL over only after a checkpoint that no open reader held back, so
/// under constant load the file can still grow past this size until a quieter moment.
pub const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// The database kinds the session store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    /// Returns the name that exports and the dashboard show.
    pub fn name(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgresql",
        }
    }
}

/// An open, migrated session database.
#[derive(Clone, Debug)]
pub struct Database {
    pub pool: AnyPool,
    pub kind: DatabaseKind,
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("the database URL must start with postgres:// or postgresql://")]
    UnsupportedUrl,
    #[error("the data directory path {0} is not valid UTF-8")]
    NonUtf8Path(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("failed to restrict the permissions of {path}: {source}")]
    Permissions { path: String, source: std::io::Error },
}

/// Opens the PostgreSQL database at `database_url` when given, else the SQLite file in
/// `data_dir` (created if missing), and applies pending migrations.
pub async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<Database, DatabaseError> {
    sqlx::any::install_default_drivers();
    let (url, kind) = match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            (url.to_owned(), DatabaseKind::Postgres)
        }
        Some(_) => return Err(DatabaseError::UnsupportedUrl),
        None => (sqlite_url(data_dir)?, DatabaseKind::Sqlite),
    };

    let options: AnyConnectOptions = url.parse()?;
    let pool = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if kind == DatabaseKind::Sqlite {
                    // WAL lets page requests read while a sign-in writes. NORMAL sync survives
                    // an application crash, which is the failure the app is tested against.
                    // journal_size_limit applies per connection, so every connection sets it.
                    let pragmas = format!(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; \
                         PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES};"
                    );
                    connection.execute(pragmas.as_str()).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    if kind == DatabaseKind::Sqlite {
        restrict_to_owner(data_dir)?;
    }
    Ok(Database { pool, kind })
}

/// Copies the SQLite WAL into the database file and truncates the WAL to 0 bytes
/// (`PRAGMA wal_checkpoint(TRUNCATE)`). Does nothing on PostgreSQL. Returns `false` when an
/// open read or write transaction kept the checkpoint from finishing, which leaves the WAL as
/// it is until the next checkpoint.
pub async fn checkpoint(pool: &AnyPool, kind: DatabaseKind) -> Result<bool, sqlx::Error> {
    if kind != DatabaseKind::Sqlite {
        return Ok(true);
    }
    // The row is (busy, frames in the WAL, frames checkpointed), and busy is 1 when it stopped early.
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(pool).await?;
    Ok(busy == 0)
}

/// Makes the SQLite file and its WAL companions readable by the owner only: they hold live
/// session IDs, which work as credentials, whatever the umask or the data directory allows.
fn restrict_to_owner(data_dir: &Path) -> Result<(), DatabaseError> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let path = data_dir.join(format!("{DATABASE_FILE}{suffix}"));
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|source| DatabaseError::Permissions { path: path.display().to_string(), source })?;
        }
    }
    Ok(())
}

/// Returns the database URL for printing: scheme, host and database, never the password.
pub fn redacted_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host_and_path = rest.rsplit_once('@').map(|(_, after)| after).unwrap_or(rest);
            let without_query = host_and_path.split('?').next().unwrap_or(host_and_path);
            format!("{scheme}://{without_query}")
        }
        None => "(unparsable URL)".into(),
    }
}

fn sqlite_url(data_dir: &Path) -> Result<String, DatabaseError> {
    let path = data_dir.join(DATABASE_FILE);
    let path = path
        .to_str()
        .ok_or_else(|| DatabaseError::NonUtf8Path(path.display().to_string()))?;
    // Percent-encode the characters that would end the path part of the URL early.
    let encoded = path.replace('%', "%25").replace('?', "%3F").replace('#', "%23");
    Ok(format!("sqlite://{encoded}?mode=rwc"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_url_drops_credentials_and_options() {
        assert_eq!(
            redacted_url("postgres://app:s3cret@127.0.0.1:5432/journey?sslmode=disable"),
            "postgres://127.0.0.1:5432/journey"
        );
        assert_eq!(redacted_url("postgresql://127.0.0.1/journey"), "postgresql://127.0.0.1/journey");
    }

    #[tokio::test]
    async fn sqlite_database_is_created_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let database = open(dir.path(), None).await.unwrap();
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions")
            .fetch_one(&database.pool)
            .await
            .unwrap();

        assert_eq!(database.kind, DatabaseKind::Sqlite);
        assert_eq!(count, 0);
        assert!(dir.path().join(DATABASE_FILE).exists());
    }

    #[tokio::test]
    async fn sqlite_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        open(dir.path(), None).await.unwrap();

        for suffix in ["", "-wal", "-shm"] {
            let path = dir.path().join(format!("{DATABASE_FILE}{suffix}"));
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
    }

    #[tokio::test]
    async fn sqlite_connections_limit_wal_size() {
        let dir = tempfile::tempdir().unwrap();
        let database = open(dir.path(), None).await.unwrap();

        // Each connection of the pool sets the limit, so check as many as the pool holds.
        let mut connections = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            let mut connection = database.pool.acquire().await.unwrap();
            let (limit,): (i64,) = sqlx::query_as("PRAGMA journal_size_limit")
                .fetch_one(&mut *connection)
                .await
                .unwrap();
            assert_eq!(limit, WAL_SIZE_LIMIT_BYTES);
            connections.push(connection);
        }
    }

    #[tokio::test]
    async fn checkpoint_truncates_wal() {
        let dir = tempfile::tempdir().unwrap();
        let database = open(dir.path(), None).await.unwrap();
        let wal = dir.path().join(format!("{DATABASE_FILE}-wal"));
        let padding = "x".repeat(4000);
        for index in 0..2000 {
            sqlx::query("INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4)")
                .bind(format!("session-{index}"))
                .bind(padding.clone())
                .bind(0_i64)
                .bind("user")
                .execute(&database.pool)
                .await
                .unwrap();
        }
        let before = std::fs::metadata(&wal).unwrap().len();
        assert!(before > 1024 * 1024, "the writes left only {before} bytes in the WAL");

        let finished = checkpoint(&database.pool, database.kind).await.unwrap();

        assert!(finished, "the checkpoint stopped early");
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions")
            .fetch_one(&database.pool)
            .await
            .unwrap();
        assert_eq!(rows, 2000);
    }

    #[tokio::test]
    async fn other_database_urls_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let error = open(dir.path(), Some("mysql://localhost/db")).await.unwrap_err();
        assert!(matches!(error, DatabaseError::UnsupportedUrl));
    }
}
