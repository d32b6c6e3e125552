-- Read models: caches of the event stream, rebuilt by replay at any time.
-- +goose Up

-- Each projector's position in the stream, written in the same transaction
-- as its rows. stream_identity names the stream incarnation the position
-- belongs to: a new stream (a wiped data directory) means a rebuild.
CREATE TABLE projector_checkpoints (
    projector       TEXT PRIMARY KEY,
    stream_identity TEXT NOT NULL,
    last_sequence   BIGINT NOT NULL CHECK (last_sequence >= 0),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- documents: one row per document, its status and extracted fields.
CREATE TABLE documents (
    tenant         TEXT NOT NULL,
    id             UUID NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED')),
    source         TEXT NOT NULL,
    filename       TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL,
    sha256         TEXT NOT NULL,
    blob_key       TEXT NOT NULL,
    user_name      TEXT NOT NULL,
    user_email     TEXT NOT NULL,
    attempt        INT NOT NULL,
    fields         JSONB,
    vendor         TEXT,
    document_date  DATE,
    currency       TEXT,
    total          NUMERIC,
    failure_reason TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    last_sequence  BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX documents_by_created ON documents (tenant, created_at DESC, id DESC);
CREATE INDEX documents_by_email ON documents (tenant, user_email, created_at DESC, id DESC);
CREATE INDEX documents_by_status ON documents (tenant, status, created_at DESC, id DESC);

-- status_counts: documents per tenant and status. document_statuses is the
-- projector's memory of each document's current status, so a transition
-- moves exactly one count.
CREATE TABLE status_counts (
    tenant TEXT NOT NULL,
    status TEXT NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (tenant, status)
);
CREATE TABLE document_statuses (
    tenant TEXT NOT NULL,
    id     UUID NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- monthly_totals: spending per tenant, user, month (YYYY-MM of the
-- document's own date, else of its upload) and currency.
-- monthly_documents remembers what each document contributes, so a new
-- extraction result replaces the old contribution instead of adding to it.
CREATE TABLE monthly_totals (
    tenant     TEXT NOT NULL,
    user_email TEXT NOT NULL,
    month      TEXT NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    currency   TEXT NOT NULL,
    total      NUMERIC NOT NULL,
    documents  BIGINT NOT NULL,
    PRIMARY KEY (tenant, user_email, month, currency)
);
CREATE TABLE monthly_documents (
    tenant      TEXT NOT NULL,
    id          UUID NOT NULL,
    user_email  TEXT NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL,
    attempt     INT NOT NULL,
    month       TEXT,
    currency    TEXT,
    amount      NUMERIC,
    PRIMARY KEY (tenant, id)
);

-- +goose Down
DROP TABLE monthly_documents;
DROP TABLE monthly_totals;
DROP TABLE document_statuses;
DROP TABLE status_counts;
DROP TABLE documents;
DROP TABLE projector_checkpoints;
