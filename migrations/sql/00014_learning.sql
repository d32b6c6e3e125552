-- learning: what a tenant's corrections taught about each issuer, a
-- projection of DocumentCorrected events like the other read models
-- (rebuilt by replay). One row per fingerprint key of the corrected
-- document; the latest correction of a key wins. Rows are the tenant's
-- own and never read for another tenant; purging the corrected document
-- removes what was learnt from it.
-- +goose Up
CREATE TABLE learned_issuers (
    tenant      TEXT NOT NULL,
    key         TEXT NOT NULL,
    priority    INT NOT NULL,
    lesson      JSONB NOT NULL,
    document_id UUID NOT NULL,
    event_id    TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE INDEX learned_issuers_by_document ON learned_issuers (tenant, document_id);

-- +goose Down
DROP TABLE learned_issuers;
