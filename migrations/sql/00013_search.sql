-- search: the documents read model for finding documents again, a
-- projection of the stream like the others (rebuilt by replay). Full text
-- over vendor, file name, invoice number and line item descriptions, with
-- the filters the web app and GET /v1/documents offer. It holds the
-- user's pseudonymous id only, never a name or an address.
-- +goose Up
CREATE TABLE search_documents (
    tenant         TEXT NOT NULL,
    id             UUID NOT NULL,
    user_id        TEXT NOT NULL,
    status         TEXT NOT NULL,
    source         TEXT NOT NULL,
    filename       TEXT NOT NULL,
    attempt        INT NOT NULL,
    machine        JSONB,
    corrections    JSONB,
    vendor         TEXT,
    invoice_number TEXT,
    document_date  DATE,
    currency       TEXT,
    total          NUMERIC,
    deleted        BOOLEAN NOT NULL DEFAULT false,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    search_text    TEXT NOT NULL,
    -- 'simple': no stemming, so vendor names, numbers and words of any
    -- language match as written.
    tsv            TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX search_documents_tsv ON search_documents USING GIN (tsv);
CREATE INDEX search_documents_by_created ON search_documents (tenant, created_at DESC, id DESC);
-- The sort keys of package search, NULLs mapped to the low end.
CREATE INDEX search_documents_by_date ON search_documents (tenant, COALESCE(document_date, DATE '0001-01-01'), id);
CREATE INDEX search_documents_by_total ON search_documents (tenant, COALESCE(total, -1e15), id);
CREATE INDEX search_documents_by_vendor ON search_documents (tenant, COALESCE(lower(vendor), ''), id);

-- +goose Down
DROP TABLE search_documents;
