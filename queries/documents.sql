-- name: InsertDocument :exec
INSERT INTO documents (tenant, id, status, source, filename, content_type, size_bytes, sha256, blob_key,
                       user_name, user_email, attempt, created_at, updated_at, last_sequence, user_id)
VALUES (sqlc.arg(tenant), sqlc.arg(id), sqlc.arg(status), sqlc.arg(source), sqlc.arg(filename), sqlc.arg(content_type),
        sqlc.arg(size_bytes), sqlc.arg(sha256), sqlc.arg(blob_key), sqlc.arg(user_name), sqlc.arg(user_email),
        sqlc.arg(attempt), sqlc.arg(created_at), sqlc.arg(created_at), sqlc.arg(last_sequence), sqlc.arg(user_id))
ON CONFLICT (tenant, id) DO NOTHING;

-- The Mark statements set the status domain.StatusAfter gives the event.

-- name: MarkDocumentRequested :exec
UPDATE documents SET status = sqlc.arg(status), attempt = sqlc.arg(attempt), failure_reason = NULL,
       updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt < sqlc.arg(attempt);

-- name: MarkDocumentStarted :exec
UPDATE documents SET status = sqlc.arg(status), updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt = sqlc.arg(attempt) AND status = 'PENDING';

-- name: MarkDocumentExtracted :exec
-- fields are the effective values (machine_fields with corrections over
-- them); vendor, date, currency and total are taken from them.
UPDATE documents SET status = sqlc.arg(status), fields = sqlc.arg(fields), machine_fields = sqlc.arg(machine_fields),
       vendor = sqlc.narg(vendor),
       document_date = sqlc.narg(document_date), currency = sqlc.narg(currency),
       total = sqlc.narg(total)::text::numeric, failure_reason = NULL,
       updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt = sqlc.arg(attempt);

-- name: MarkDocumentFailed :exec
UPDATE documents SET status = sqlc.arg(status), failure_reason = sqlc.arg(reason),
       updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt = sqlc.arg(attempt);

-- name: GetDocument :one
SELECT tenant, id, status, source, filename, content_type, size_bytes, sha256, blob_key, user_name, user_email,
       attempt, fields, failure_reason, created_at, updated_at, last_sequence,
       machine_fields, corrections, deleted_at, purge_after, purged_at, user_id, duplicate_of, duplicate_reason, email
FROM documents WHERE tenant = $1 AND id = $2;

-- name: GetDocumentValues :one
SELECT machine_fields, corrections FROM documents WHERE tenant = $1 AND id = $2;

-- name: CorrectDocument :exec
UPDATE documents SET fields = sqlc.arg(fields), corrections = sqlc.arg(corrections), vendor = sqlc.narg(vendor),
       document_date = sqlc.narg(document_date), currency = sqlc.narg(currency),
       total = sqlc.narg(total)::text::numeric, updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: MarkDocumentDeleted :exec
UPDATE documents SET deleted_at = sqlc.arg(deleted_at), purge_after = sqlc.arg(purge_after),
       updated_at = sqlc.arg(deleted_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: MarkDocumentRestored :exec
UPDATE documents SET deleted_at = NULL, purge_after = NULL, updated_at = sqlc.arg(updated_at),
       last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: MarkDocumentPurged :exec
UPDATE documents SET purged_at = sqlc.arg(purged_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: DocumentsToPurge :many
-- Deleted documents whose grace period is over and whose file remains.
SELECT tenant, id FROM documents
WHERE deleted_at IS NOT NULL AND purged_at IS NULL AND purge_after <= sqlc.arg(now)
ORDER BY purge_after LIMIT 500;

-- name: ListDocuments :many
-- Keyset pagination on (created_at, id), newest first; deleted documents
-- are left out.
SELECT tenant, id, status, source, filename, content_type, size_bytes, sha256, blob_key, user_name, user_email,
       attempt, fields, failure_reason, created_at, updated_at, last_sequence,
       machine_fields, corrections, deleted_at, purge_after, purged_at, user_id, duplicate_of, duplicate_reason, email
FROM documents
WHERE tenant = sqlc.arg(tenant) AND deleted_at IS NULL
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(user_email)::text IS NULL OR user_email = sqlc.narg(user_email))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to))
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: GetDocumentsByIDs :many
-- The documents a search found, to answer with their whole read model
-- row; the caller puts them back in the search's order.
SELECT tenant, id, status, source, filename, content_type, size_bytes, sha256, blob_key, user_name, user_email,
       attempt, fields, failure_reason, created_at, updated_at, last_sequence,
       machine_fields, corrections, deleted_at, purge_after, purged_at, user_id, duplicate_of, duplicate_reason, email
FROM documents
WHERE tenant = sqlc.arg(tenant) AND id = ANY(sqlc.arg(ids)::uuid[]);

-- name: TruncateDocuments :exec
TRUNCATE documents;

-- name: SelectForReprocess :many
-- Documents a reprocess request selects; deleted ones never.
SELECT id, status, fields, machine_fields
FROM documents
WHERE tenant = sqlc.arg(tenant) AND deleted_at IS NULL
  AND (sqlc.narg(ids)::uuid[] IS NULL OR id = ANY(sqlc.narg(ids)::uuid[]))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to))
  AND (sqlc.narg(vendor)::text IS NULL OR vendor ILIKE sqlc.narg(vendor))
  AND (NOT sqlc.arg(failed_only)::boolean OR status = 'FAILED')
ORDER BY created_at, id
LIMIT sqlc.arg(row_limit);

-- name: SetDocumentEmail :exec
UPDATE documents SET email = sqlc.narg(email), job = sqlc.narg(job)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: MarkDocumentDuplicate :exec
UPDATE documents SET duplicate_of = sqlc.arg(duplicate_of), duplicate_reason = sqlc.arg(duplicate_reason),
       updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);
