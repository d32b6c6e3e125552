-- E-receipts: duplicates, e-mail authenticity, and the e-receipt API's
-- account configuration. The read-model columns are caches of the stream:
-- the tables are emptied and rebuilt by the projectors from sequence 0.
-- +goose Up
ALTER TABLE documents
    ADD COLUMN duplicate_of UUID,
    ADD COLUMN duplicate_reason TEXT,
    ADD COLUMN email JSONB,
    ADD COLUMN job JSONB;
ALTER TABLE monthly_documents ADD COLUMN duplicate BOOLEAN NOT NULL DEFAULT false;
TRUNCATE documents, monthly_totals, monthly_documents;
DELETE FROM projector_checkpoints WHERE projector IN ('documents', 'monthly_totals');

-- The e-receipt API's settings per tenant (POST /ereceipts/config): where
-- results go and how far back mailboxes are searched. Settings, not
-- history, like notification preferences.
CREATE TABLE ereceipt_config (
    tenant           TEXT PRIMARY KEY,
    results_endpoint TEXT NOT NULL,
    day_cutoff       INT CHECK (day_cutoff > 0),
    date_cutoff      TIMESTAMPTZ,
    use_aggregation  BOOLEAN NOT NULL DEFAULT false,
    return_eml       BOOLEAN NOT NULL DEFAULT false,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (day_cutoff IS NULL OR date_cutoff IS NULL)
);
CREATE TABLE ereceipt_retailers (
    tenant      TEXT NOT NULL,
    email       TEXT NOT NULL,
    day_cutoff  INT CHECK (day_cutoff > 0),
    date_cutoff TIMESTAMPTZ,
    PRIMARY KEY (tenant, email),
    CHECK (day_cutoff IS NULL OR date_cutoff IS NULL)
);

-- +goose Down
DROP TABLE ereceipt_retailers;
DROP TABLE ereceipt_config;
ALTER TABLE monthly_documents DROP COLUMN duplicate;
ALTER TABLE documents DROP COLUMN job, DROP COLUMN email, DROP COLUMN duplicate_reason, DROP COLUMN duplicate_of;
