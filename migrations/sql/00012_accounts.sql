-- Accounts: the people who use the web app, members of one tenant each.
-- Primary state (not a projection of the stream): back it up with the
-- database. Passwords are argon2id hashes; invitation and reset tokens
-- are stored only as SHA-256 hashes of the link's secret.
-- +goose Up
CREATE TABLE accounts (
    id                  UUID PRIMARY KEY,
    tenant              TEXT NOT NULL CHECK (tenant ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    email               TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
    name                TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash       TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    password_changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX accounts_by_tenant ON accounts (tenant, email);

-- account_tokens: invitations (kind 'invite') and password resets
-- (kind 'reset'), each usable once before it expires.
CREATE TABLE account_tokens (
    token_hash BYTEA PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('invite', 'reset')),
    tenant     TEXT NOT NULL,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX account_tokens_by_email ON account_tokens (email, kind);

-- +goose Down
DROP TABLE account_tokens;
DROP TABLE accounts;
