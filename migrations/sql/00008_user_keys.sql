-- Erasure of personal data. Events are immutable, so a user's name and
-- e-mail travel in them sealed with a key of that user's own, kept here
-- and nowhere else: destroying the key erases the data from every copy of
-- the stream at once. Read models are keyed by the pseudonymous user_id
-- and hold the opened name and e-mail only for display and lookups.
-- +goose Up
CREATE TABLE user_keys (
    tenant     TEXT NOT NULL,
    -- The pseudonym events carry (random, or derived for users known only
    -- from schema-1 events, see personal.LegacyID).
    user_id    UUID NOT NULL,
    -- HMAC-SHA256 of the normalised address under the deployment key
    -- "user-email-hash", so an address finds its user without being stored.
    email_hash BYTEA NOT NULL,
    -- NULL once erased: a tombstone that keeps old data unreadable and
    -- tells readers of schema-1 events (plain user) to blank that address.
    key        BYTEA,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    erased_at  TIMESTAMPTZ,
    PRIMARY KEY (tenant, user_id),
    CHECK ((key IS NULL) = (erased_at IS NOT NULL))
);
-- One live key per address and tenant; an upload after an erasure makes a
-- new one (a new user_id).
CREATE UNIQUE INDEX user_keys_live ON user_keys (tenant, email_hash) WHERE erased_at IS NULL;
CREATE INDEX user_keys_by_hash ON user_keys (tenant, email_hash);

-- Read models gain the pseudonymous id; monthly totals are keyed by it, so
-- blanking an erased user's address leaves every amount where it was.
-- They are caches of the stream: emptied here and rebuilt from sequence 0.
ALTER TABLE documents ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
CREATE INDEX documents_by_user ON documents (tenant, user_id);
ALTER TABLE monthly_totals ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE monthly_totals DROP CONSTRAINT monthly_totals_pkey;
ALTER TABLE monthly_totals ADD PRIMARY KEY (tenant, user_id, month, currency);
ALTER TABLE monthly_documents ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
TRUNCATE documents, status_counts, document_statuses, monthly_totals, monthly_documents;
DELETE FROM projector_checkpoints WHERE projector IN ('documents', 'status_counts', 'monthly_totals');

-- +goose Down
TRUNCATE documents, status_counts, document_statuses, monthly_totals, monthly_documents;
DELETE FROM projector_checkpoints WHERE projector IN ('documents', 'status_counts', 'monthly_totals');
ALTER TABLE monthly_documents DROP COLUMN user_id;
ALTER TABLE monthly_totals DROP CONSTRAINT monthly_totals_pkey;
ALTER TABLE monthly_totals ADD PRIMARY KEY (tenant, user_email, month, currency);
ALTER TABLE monthly_totals DROP COLUMN user_id;
DROP INDEX documents_by_user;
ALTER TABLE documents DROP COLUMN user_id;
DROP TABLE user_keys;
