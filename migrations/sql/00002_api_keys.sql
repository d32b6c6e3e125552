-- API keys are configuration, not history: they live only here, hashed.
-- +goose Up
CREATE TABLE api_keys (
    id         UUID PRIMARY KEY,
    tenant     TEXT NOT NULL CHECK (tenant ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    key_hash   BYTEA NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant);

-- +goose Down
DROP TABLE api_keys;
