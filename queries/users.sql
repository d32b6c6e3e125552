-- Per-user keys (package personal). The tables are named with their
-- schema because projectors open users inside their own transaction, and a
-- rebuild runs them with a scratch schema as search_path.

-- name: GetLiveUserKey :one
SELECT user_id, key FROM public.user_keys
WHERE tenant = $1 AND email_hash = $2 AND erased_at IS NULL;

-- name: InsertUserKey :one
-- The first writer wins: a concurrent Seal of the same address inserts
-- nothing and reads the winner's key.
INSERT INTO public.user_keys (tenant, user_id, email_hash, key)
VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant, email_hash) WHERE erased_at IS NULL DO NOTHING
RETURNING user_id, key;

-- name: OpenUserKey :one
-- FOR SHARE: an erasure (which updates the row) waits for the transaction
-- that opened with the key, and then blanks what that transaction wrote.
SELECT key FROM public.user_keys WHERE tenant = $1 AND user_id = $2 FOR SHARE;

-- name: GetUserKey :one
-- Without a lock, for readers outside a projector's transaction: a
-- locking read would write to the row (and wait for a disk flush) on
-- every open.
SELECT key FROM public.user_keys WHERE tenant = $1 AND user_id = $2;

-- name: AddressErased :one
SELECT EXISTS (SELECT 1 FROM public.user_keys
               WHERE tenant = $1 AND email_hash = $2 AND erased_at IS NOT NULL)::boolean AS erased;

-- name: EraseUserKeys :many
UPDATE public.user_keys SET key = NULL, erased_at = now()
WHERE tenant = $1 AND email_hash = $2 AND erased_at IS NULL
RETURNING user_id;

-- name: InsertUserTombstone :exec
INSERT INTO public.user_keys (tenant, user_id, email_hash, key, erased_at)
VALUES ($1, $2, $3, NULL, now())
ON CONFLICT (tenant, user_id) DO NOTHING;

-- name: UserIDsOfAddress :many
SELECT user_id FROM public.user_keys WHERE tenant = $1 AND email_hash = $2 ORDER BY created_at, user_id;

-- name: AddressInReadModels :one
-- Whether Tally shows anything of an address, for users known only from
-- schema-1 events (they have no key row).
SELECT (EXISTS (SELECT 1 FROM documents d WHERE d.tenant = $1 AND d.user_email = $2)
     OR EXISTS (SELECT 1 FROM monthly_totals m WHERE m.tenant = $1 AND m.user_email = $2)
     OR EXISTS (SELECT 1 FROM notification_preferences p WHERE p.tenant = $1 AND p.user_email = $2))::boolean AS found;

-- name: BlankDocumentUsers :execrows
-- Removes an erased user's name and address from the documents read
-- model: rows of their ids, and (for schema-1 documents) of their address.
-- The file's name, an e-mail's subject and an e-receipt job's user hash
-- and client id may name the user too (domain.Private); the sender and
-- the DKIM verdict stay.
UPDATE documents SET user_name = '', user_email = '', filename = '',
       email = email - 'subject', job = job - 'email_hash' - 'client_user_id'
WHERE tenant = sqlc.arg(tenant)
  AND (user_id = ANY(sqlc.arg(user_ids)::text[]) OR (sqlc.narg(email)::text IS NOT NULL AND user_email = sqlc.narg(email)))
  AND (user_name <> '' OR user_email <> '' OR filename <> '' OR email ? 'subject' OR job ? 'email_hash' OR job ? 'client_user_id');

-- name: BlankSearchUsers :execrows
-- Removes an erased user's file names and extracted texts (an invoice's
-- text names its buyer) from the search read model, and the text they
-- were found by, which holds the file name; the search projector writes
-- the text of the values back on UserErased (SearchDocumentsOfUsers).
UPDATE search_documents SET filename = '', search_text = '', body = ''
WHERE tenant = sqlc.arg(tenant) AND user_id = ANY(sqlc.arg(user_ids)::text[])
  AND (filename <> '' OR body <> '');

-- name: BlankMonthlyDocumentUsers :execrows
-- Before BlankMonthlyTotalUsers: it waits for a projector transaction
-- that holds a document's row, so the totals it then blanks include that
-- transaction's.
UPDATE monthly_documents SET user_email = ''
WHERE tenant = sqlc.arg(tenant)
  AND (user_id = ANY(sqlc.arg(user_ids)::text[]) OR (sqlc.narg(email)::text IS NOT NULL AND user_email = sqlc.narg(email)))
  AND user_email <> '';

-- name: BlankMonthlyTotalUsers :execrows
UPDATE monthly_totals SET user_email = ''
WHERE tenant = sqlc.arg(tenant)
  AND (user_id = ANY(sqlc.arg(user_ids)::text[]) OR (sqlc.narg(email)::text IS NOT NULL AND user_email = sqlc.narg(email)))
  AND user_email <> '';

-- name: DeleteAddressPreferences :execrows
DELETE FROM notification_preferences WHERE tenant = $1 AND user_email = $2;

-- name: DeleteAddressMailboxes :execrows
-- An erased user's linked mailboxes go with their login and what was seen
-- in them: the link names the user and holds their mailbox password.
WITH gone AS (
    DELETE FROM mailbox_links WHERE tenant = $1 AND lower(user_email) = $2 RETURNING id
)
DELETE FROM mailbox_seen WHERE link_id IN (SELECT id FROM gone);

-- name: DeleteAddressForwardingSenders :execrows
DELETE FROM forwarding_senders WHERE tenant = $1 AND lower(email) = $2;

-- name: AddressState :one
-- Whether an address has a live key, and whether it was ever erased.
SELECT COALESCE(bool_or(k.erased_at IS NULL), false)::boolean AS live,
       COALESCE(bool_or(k.erased_at IS NOT NULL), false)::boolean AS erased
FROM public.user_keys k WHERE k.tenant = $1 AND k.email_hash = $2;

-- name: ListLiveUserKeys :many
-- Every live key at once, for a rebuild that opens the users of a whole
-- stream (personal.Snapshot).
SELECT tenant, user_id, key FROM public.user_keys WHERE erased_at IS NULL;

-- name: UserDocumentFiles :many
-- The files of an erased user's documents (the upload, the .eml), which
-- the erasure deletes from the blob store.
SELECT d.blob_key FROM documents d
WHERE d.tenant = sqlc.arg(tenant) AND d.user_id = ANY(sqlc.arg(user_ids)::text[]) AND d.blob_key <> ''
ORDER BY d.blob_key;

-- name: BlankUserWebhookDeliveries :execrows
-- The stored webhook bodies about an erased user's documents are emptied;
-- one not sent yet is cancelled rather than sent empty.
UPDATE webhook_deliveries w SET body = '\x'::bytea,
       state = CASE WHEN w.state = 'pending' THEN 'cancelled' ELSE w.state END,
       settled_at = COALESCE(w.settled_at, now()), leased_until = NULL, lease_id = NULL
WHERE w.tenant = sqlc.arg(tenant) AND length(w.body) > 0
  AND w.document_id IN (SELECT d.id::text FROM documents d
                      WHERE d.tenant = sqlc.arg(tenant) AND d.user_id = ANY(sqlc.arg(user_ids)::text[]));
