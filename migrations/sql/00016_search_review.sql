-- search: documents whose extracted values a person should look at
-- (domain.NeedsReview), for the needs_review filter and badge. Kept by
-- the search projector; a replay computes it for every document.
-- +goose Up
ALTER TABLE search_documents ADD COLUMN needs_review BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX search_documents_needs_review ON search_documents (tenant, created_at DESC, id DESC) WHERE needs_review;

-- +goose Down
DROP INDEX search_documents_needs_review;
ALTER TABLE search_documents DROP COLUMN needs_review;
