-- Merchant/issuer template bundles: data the extraction engine applies
-- before its own rules. Every checked bundle is kept, so a rollback is a
-- flag flip; at most one is active (the partial unique index).
-- +goose Up
CREATE TABLE template_bundles (
    version      TEXT PRIMARY KEY,
    -- The bundle as published (parsed back by every worker on a switch).
    bundle       JSONB NOT NULL,
    -- sha256 (hex) of the file exactly as it was fetched.
    checksum     TEXT NOT NULL,
    templates    INTEGER NOT NULL,
    -- Where the bundle came from: s3://bucket/key, a file path.
    source       TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The last time the bundle was made active; NULL if it never was.
    activated_at TIMESTAMPTZ,
    active       BOOLEAN NOT NULL DEFAULT false
);

CREATE UNIQUE INDEX template_bundles_one_active ON template_bundles (active) WHERE active;

-- +goose Down
DROP TABLE template_bundles;
