-- search: the document's extracted text (the first 64 KiB a result event
-- carries) is found too. It is kept beside the values' text rather than
-- in it, so that a correction, which rebuilds search_text, leaves it be.
-- +goose Up
ALTER TABLE search_documents ADD COLUMN body TEXT NOT NULL DEFAULT '';
ALTER TABLE search_documents DROP COLUMN tsv;
ALTER TABLE search_documents ADD COLUMN tsv TSVECTOR
    GENERATED ALWAYS AS (to_tsvector('simple', search_text || ' ' || body)) STORED;
CREATE INDEX search_documents_tsv ON search_documents USING GIN (tsv);

-- +goose Down
ALTER TABLE search_documents DROP COLUMN tsv;
ALTER TABLE search_documents DROP COLUMN body;
ALTER TABLE search_documents ADD COLUMN tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED;
CREATE INDEX search_documents_tsv ON search_documents USING GIN (tsv);
