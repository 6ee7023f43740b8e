-- Revocation by user. `sessions.user_id` names the signed-in user of each session, so that
-- "revoke everything" deletes a user's sessions by an indexed column. `revoked_users` holds,
-- with `--jwt-denylist`, the time of a user's last "revoke everything": every JWT of that user
-- issued at or before it is refused until it would have expired anyway. Refresh tokens carry
-- the number of permission claims the visitor chose, so a refreshed JWT keeps them. The same
-- statements run on SQLite and PostgreSQL.
ALTER TABLE sessions ADD COLUMN user_id TEXT;

CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id);

CREATE TABLE IF NOT EXISTS revoked_users (
    user_id TEXT PRIMARY KEY NOT NULL,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

ALTER TABLE refresh_tokens ADD COLUMN permission_claims BIGINT NOT NULL DEFAULT 0;
