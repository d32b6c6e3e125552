-- Webhooks: the endpoints tenants register, one delivery per (endpoint,
-- event), and every attempt at it. Unlike the read models these are not
-- rebuilt from the stream: they are settings and an audit trail.
-- +goose Up
CREATE TABLE webhook_endpoints (
    id            UUID PRIMARY KEY,
    tenant        TEXT NOT NULL,
    -- name is set for endpoints Tally manages itself (e.g. the e-receipt
    -- results endpoint), so they can be updated in place; '' otherwise.
    name          TEXT NOT NULL DEFAULT '',
    url           TEXT NOT NULL,
    -- The signing secret, sealed (AES-GCM) with a deployment key and the
    -- endpoint id as associated data.
    secret_sealed BYTEA NOT NULL,
    events        TEXT[] NOT NULL,
    format        TEXT NOT NULL DEFAULT 'event',
    description   TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Deleted endpoints stay, so their deliveries remain readable by an
    -- operator; they get no new deliveries.
    deleted_at    TIMESTAMPTZ
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX webhook_endpoints_name ON webhook_endpoints (tenant, name)
    WHERE name <> '' AND deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id     UUID NOT NULL REFERENCES webhook_endpoints (id),
    tenant          TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    -- event_type is the webhook's type (document.completed...), not the
    -- stream event's.
    event_type      TEXT NOT NULL,
    document_id     TEXT NOT NULL,
    stream_sequence BIGINT NOT NULL,
    -- The rendered body, so that every retry sends the same bytes.
    body            BYTEA NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'succeeded', 'failed', 'cancelled')),
    attempts        INT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A sender holds a delivery while it sends it; a crashed sender's
    -- lease runs out and the delivery becomes due again.
    leased_until    TIMESTAMPTZ,
    lease_id        UUID,
    last_status     INT,
    last_error      TEXT NOT NULL DEFAULT '',
    settled_at      TIMESTAMPTZ,
    -- One delivery per event and endpoint: a replayed or redelivered event
    -- adds nothing.
    UNIQUE (endpoint_id, event_id)
);
-- A claim probes each endpoint's due deliveries, and counts those in flight.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (endpoint_id)
    WHERE state = 'pending' AND leased_until IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id DESC);

CREATE TABLE webhook_attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  BIGINT NOT NULL REFERENCES webhook_deliveries (id),
    attempted_at TIMESTAMPTZ NOT NULL,
    -- NULL when no response came (timeout, refused connection).
    status_code  INT,
    error        TEXT NOT NULL DEFAULT '',
    duration_ms  INT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
