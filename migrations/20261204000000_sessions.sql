-- Server-side sessions for the stateful backend. `data` is the tower-sessions record as JSON,
-- so a reader can open the database and see what a session holds. The same statements run on
-- SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
