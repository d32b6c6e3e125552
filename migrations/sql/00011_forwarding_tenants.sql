-- The forwarding mailbox becomes per tenant: each tenant forwards to its own
-- address (the inbox's local part plus a secret token), a sender's forwards
-- count only after the sender confirmed the address by a signed link mailed
-- to it, and the same address may be a sender of several tenants, so that
-- registering it tells nobody whether another tenant holds it.
-- +goose Up
CREATE TABLE forwarding_addresses (
    tenant       TEXT PRIMARY KEY,
    -- The +token of the tenant's address: unguessable, so mail reaches a
    -- tenant only when the sender was told its address.
    token        TEXT NOT NULL UNIQUE,
    -- Forwards count only when their From: domain passes DKIM, unless the
    -- operator turned that off for this tenant (a mail server that does
    -- not sign).
    require_dkim BOOLEAN NOT NULL DEFAULT true,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE forwarding_senders DROP CONSTRAINT forwarding_senders_pkey;
DROP INDEX forwarding_senders_tenant;
ALTER TABLE forwarding_senders
    -- Names the sender in its confirmation link, which carries no address.
    ADD COLUMN id UUID NOT NULL DEFAULT gen_random_uuid(),
    -- NULL until the link mailed to the address was followed; senders
    -- registered before confirmation existed must confirm too.
    ADD COLUMN confirmed_at TIMESTAMPTZ,
    -- When the last confirmation link was mailed, so that registering an
    -- address again and again cannot flood its owner.
    ADD COLUMN confirm_sent_at TIMESTAMPTZ,
    ADD PRIMARY KEY (tenant, email);
CREATE UNIQUE INDEX forwarding_senders_id ON forwarding_senders (id);

-- +goose Down
DROP INDEX forwarding_senders_id;
ALTER TABLE forwarding_senders DROP CONSTRAINT forwarding_senders_pkey;
DELETE FROM forwarding_senders a USING forwarding_senders b
    WHERE a.email = b.email AND (a.created_at, a.tenant) > (b.created_at, b.tenant);
ALTER TABLE forwarding_senders DROP COLUMN id, DROP COLUMN confirmed_at, DROP COLUMN confirm_sent_at,
    ADD PRIMARY KEY (email);
CREATE INDEX forwarding_senders_tenant ON forwarding_senders (tenant, email);
DROP TABLE forwarding_addresses;
