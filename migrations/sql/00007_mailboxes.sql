-- Linked mailboxes and forwarding senders: settings and scrape bookkeeping,
-- not history. The documents a scrape makes are events like any upload.
-- +goose Up
CREATE TABLE mailbox_links (
    id                UUID PRIMARY KEY,
    tenant            TEXT NOT NULL,
    -- The Tally user the receipts belong to.
    user_email        TEXT NOT NULL,
    user_name         TEXT NOT NULL DEFAULT '',
    host              TEXT NOT NULL,
    port              INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    tls_mode          TEXT NOT NULL CHECK (tls_mode IN ('imaps', 'starttls', 'plain')),
    username          TEXT NOT NULL,
    -- The app password sealed with the deployment key mailbox-password-key,
    -- bound to tenant and link id; never stored or returned in the clear.
    password_sealed   BYTEA NOT NULL,
    folder            TEXT NOT NULL DEFAULT 'INBOX',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When the scheduler last queued a scrape; a link gets no second job
    -- while one is pending.
    queued_at         TIMESTAMPTZ,
    last_scrape_at    TIMESTAMPTZ,
    last_scrape_error TEXT NOT NULL DEFAULT '',
    -- New messages submitted by the last scrape, and by all of them.
    last_scrape_new   INTEGER NOT NULL DEFAULT 0,
    messages_found    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mailbox_links_tenant ON mailbox_links (tenant, created_at, id);

-- mailbox_seen remembers every message a scrape dealt with, so each becomes
-- a document once. link_id is a mailbox_links id, or the forwarding
-- mailbox's own id (which has no row there). message_key is the SHA-256 of
-- the Message-ID (or of the envelope when there is none), which still
-- recognises a message after the server changed UIDVALIDITY.
CREATE TABLE mailbox_seen (
    link_id      UUID NOT NULL,
    uid_validity BIGINT NOT NULL,
    uid          BIGINT NOT NULL,
    message_key  TEXT NOT NULL,
    -- submitted, too_large, rejected, unknown_forwarder, unparsable
    outcome      TEXT NOT NULL,
    document_id  UUID,
    seen_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (link_id, uid_validity, uid)
);
CREATE INDEX mailbox_seen_key ON mailbox_seen (link_id, message_key);

-- forwarding_senders matches the From: of a message forwarded to the
-- forwarding mailbox to a tenant's user. One tenant per address.
CREATE TABLE forwarding_senders (
    email      TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    user_name  TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX forwarding_senders_tenant ON forwarding_senders (tenant, email);

-- +goose Down
DROP TABLE forwarding_senders;
DROP TABLE mailbox_seen;
DROP TABLE mailbox_links;
