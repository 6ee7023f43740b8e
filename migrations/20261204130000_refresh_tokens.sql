-- Refresh tokens. Only the SHA-256 of each token (hex) is stored, never the token itself.
-- Each rotation marks the old token used and inserts its successor in the same family, so a
-- used token presented again reveals a replay and its whole family is deleted. The user is
-- copied into each row, so that a refresh can issue a JWT without the session. The same
-- statements run on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    user_role TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_user_id ON refresh_tokens (user_id);
