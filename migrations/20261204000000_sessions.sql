-- Server-side sessions for the stateful backend. `data` is the tower-sessions record as JSON,
-- so a reader can open the database with sqlite3 and see what a session holds.
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
