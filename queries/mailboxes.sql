-- name: InsertMailboxLink :exec
INSERT INTO mailbox_links (id, tenant, user_email, user_name, host, port, tls_mode, username, password_sealed, folder)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: GetMailboxLink :one
SELECT * FROM mailbox_links WHERE id = $1;

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

-- name: UpsertForwardingSender :one
-- Registers a sender for a tenant, or renames it; returns the tenant that
-- holds the address, which is another tenant's when it was taken.
INSERT INTO forwarding_senders (email, tenant, user_name) VALUES ($1, $2, $3)
ON CONFLICT (email) DO UPDATE SET user_name = EXCLUDED.user_name
    WHERE forwarding_senders.tenant = EXCLUDED.tenant
RETURNING tenant;

-- name: GetForwardingSender :one
SELECT * FROM forwarding_senders WHERE email = $1;

-- name: ListForwardingSenders :many
SELECT * FROM forwarding_senders WHERE tenant = $1 ORDER BY email;

-- name: DeleteForwardingSender :execrows
DELETE FROM forwarding_senders WHERE tenant = $1 AND email = $2;
