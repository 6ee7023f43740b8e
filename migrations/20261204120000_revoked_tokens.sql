-- The JWT denylist, used only with `--jwt-denylist`: the `jti` of each token revoked by logout
-- or "revoke everything", kept until the token would have expired anyway. The same statements
-- run on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS revoked_tokens_expires_at ON revoked_tokens (expires_at);
