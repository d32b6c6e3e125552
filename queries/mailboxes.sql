-- name: InsertMailboxLink :exec
INSERT INTO mailbox_links (id, tenant, user_email, user_name, host, port, tls_mode, username, password_sealed, folder)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: GetMailboxLink :one
SELECT * FROM mailbox_links WHERE id = $1;

-- name: CountMailboxLinks :one
SELECT count(*) FROM mailbox_links WHERE tenant = $1;

-- name: ListMailboxLinks :many
SELECT * FROM mailbox_links WHERE tenant = $1 ORDER BY created_at, id;

-- name: DeleteMailboxLink :execrows
DELETE FROM mailbox_links WHERE tenant = $1 AND id = $2;

-- name: DeleteMailboxSeen :exec
DELETE FROM mailbox_seen WHERE link_id = $1;

-- name: DueMailboxLinks :many
-- Links without a pending scrape job: never queued, or scraped since they
-- were last queued and that before @queued_before (so that several
-- schedulers ticking out of step still queue a link once per interval),
-- or queued so long ago (@stale_before) that the job must be lost.
SELECT id, tenant FROM mailbox_links
WHERE queued_at IS NULL
   OR (last_scrape_at IS NOT NULL AND last_scrape_at >= queued_at AND queued_at < @queued_before)
   OR queued_at < @stale_before
ORDER BY id;

-- name: MarkMailboxQueued :exec
UPDATE mailbox_links SET queued_at = $2 WHERE id = $1;

-- name: RecordMailboxScrape :exec
UPDATE mailbox_links
SET last_scrape_at = @scraped_at, last_scrape_error = @error, last_scrape_new = @new::int,
    messages_found = messages_found + @new::int
WHERE id = $1;

-- name: SeenUIDs :many
SELECT uid FROM mailbox_seen WHERE link_id = $1 AND uid_validity = $2 AND uid = ANY(@uids::bigint[]);

-- name: MaxSeenUID :one
SELECT COALESCE(MAX(uid), 0)::bigint FROM mailbox_seen WHERE link_id = $1 AND uid_validity = $2;

-- name: SeenKey :one
SELECT EXISTS (SELECT 1 FROM mailbox_seen WHERE link_id = $1 AND message_key = $2)::boolean;

-- name: MarkSeen :exec
INSERT INTO mailbox_seen (link_id, uid_validity, uid, message_key, outcome, document_id)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING;

-- name: EnsureForwardingAddress :exec
INSERT INTO forwarding_addresses (tenant, token) VALUES ($1, $2) ON CONFLICT (tenant) DO NOTHING;

-- name: GetForwardingAddress :one
SELECT * FROM forwarding_addresses WHERE tenant = $1;

-- name: ForwardingAddressByToken :one
SELECT * FROM forwarding_addresses WHERE token = $1;

-- name: SetForwardingDKIM :execrows
UPDATE forwarding_addresses SET require_dkim = $2 WHERE tenant = $1;

-- name: UpsertForwardingSender :one
-- Registers a sender for a tenant, or renames it. Every tenant has its own
-- row, so registering never depends on what other tenants hold.
INSERT INTO forwarding_senders (tenant, email, user_name) VALUES ($1, $2, $3)
ON CONFLICT (tenant, email) DO UPDATE SET user_name = EXCLUDED.user_name
RETURNING *;

-- name: ClaimConfirmationMail :execrows
-- Takes the right to mail a confirmation link to an unconfirmed sender, at
-- most once per @interval.
UPDATE forwarding_senders SET confirm_sent_at = now()
WHERE id = $1 AND confirmed_at IS NULL
  AND (confirm_sent_at IS NULL OR confirm_sent_at < now() - @interval::interval);

-- name: ReleaseConfirmationMail :exec
-- A confirmation mail that could not be sent may be tried again at once.
UPDATE forwarding_senders SET confirm_sent_at = NULL WHERE id = $1 AND confirmed_at IS NULL;

-- name: GetForwardingSenderByID :one
SELECT * FROM forwarding_senders WHERE id = $1;

-- name: ConfirmForwardingSender :execrows
UPDATE forwarding_senders SET confirmed_at = COALESCE(confirmed_at, now()) WHERE id = $1;

-- name: ConfirmedForwardingSender :one
SELECT * FROM forwarding_senders WHERE tenant = $1 AND email = $2 AND confirmed_at IS NOT NULL;

-- name: ListForwardingSenders :many
SELECT * FROM forwarding_senders WHERE tenant = $1 ORDER BY email;

-- name: DeleteForwardingSender :execrows
DELETE FROM forwarding_senders WHERE tenant = $1 AND email = $2;
