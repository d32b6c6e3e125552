-- Corrections and deletions. The read models gain the machine's and the
-- user's values and a deleted mark; they are caches of the stream, so they
-- are emptied here and rebuilt by the projectors from sequence 0.
-- +goose Up
ALTER TABLE documents
    ADD COLUMN machine_fields JSONB,
    ADD COLUMN corrections JSONB,
    ADD COLUMN deleted_at TIMESTAMPTZ,
    ADD COLUMN purge_after TIMESTAMPTZ,
    ADD COLUMN purged_at TIMESTAMPTZ;
ALTER TABLE document_statuses ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE monthly_documents
    ADD COLUMN machine JSONB,
    ADD COLUMN corrections JSONB,
    ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT false;
TRUNCATE documents, status_counts, document_statuses, monthly_totals, monthly_documents;
DELETE FROM projector_checkpoints WHERE projector IN ('documents', 'status_counts', 'monthly_totals');

-- +goose Down
ALTER TABLE monthly_documents DROP COLUMN deleted, DROP COLUMN corrections, DROP COLUMN machine;
ALTER TABLE document_statuses DROP COLUMN deleted;
ALTER TABLE documents DROP COLUMN purged_at, DROP COLUMN purge_after, DROP COLUMN deleted_at,
    DROP COLUMN corrections, DROP COLUMN machine_fields;
