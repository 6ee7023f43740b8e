//! The embedded SQLite database: created and migrated on first start.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "session-journey.sqlite3";

/// Opens (creating if needed) the database in `data_dir` and applies pending migrations.
pub async fn open(data_dir: &Path) -> Result<SqlitePool, sqlx::Error> {
    let path = data_dir.join(DATABASE_FILE);
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(&path)
        .create_if_missing(true)
        // WAL lets page requests read while a sign-in writes; NORMAL sync is durable across an
        // application crash, which is the failure this app is tested against.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}
