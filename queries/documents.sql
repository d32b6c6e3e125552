-- name: InsertDocument :exec
INSERT INTO documents (tenant, id, status, source, filename, content_type, size_bytes, sha256, blob_key,
                       user_name, user_email, attempt, created_at, updated_at, last_sequence)
VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
ON CONFLICT (tenant, id) DO NOTHING;

-- name: MarkDocumentRequested :exec
UPDATE documents SET status = 'PENDING', attempt = sqlc.arg(attempt), failure_reason = NULL,
       updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt < sqlc.arg(attempt);

-- name: MarkDocumentStarted :exec
UPDATE documents SET status = 'PROCESSING', updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt = sqlc.arg(attempt) AND status = 'PENDING';

-- name: MarkDocumentExtracted :exec
UPDATE documents SET status = 'COMPLETED', fields = sqlc.arg(fields), vendor = sqlc.narg(vendor),
       document_date = sqlc.narg(document_date), currency = sqlc.narg(currency),
       total = sqlc.narg(total)::text::numeric, failure_reason = NULL,
       updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt = sqlc.arg(attempt);

-- name: MarkDocumentFailed :exec
UPDATE documents SET status = 'FAILED', failure_reason = sqlc.arg(reason),
       updated_at = sqlc.arg(updated_at), last_sequence = sqlc.arg(last_sequence)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt = sqlc.arg(attempt);

-- name: GetDocument :one
SELECT tenant, id, status, source, filename, content_type, size_bytes, sha256, blob_key, user_name, user_email,
       attempt, fields, failure_reason, created_at, updated_at, last_sequence
FROM documents WHERE tenant = $1 AND id = $2;

-- name: ListDocuments :many
-- Keyset pagination on (created_at, id), newest first.
SELECT tenant, id, status, source, filename, content_type, size_bytes, sha256, blob_key, user_name, user_email,
       attempt, fields, failure_reason, created_at, updated_at, last_sequence
FROM documents
WHERE tenant = sqlc.arg(tenant)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(user_email)::text IS NULL OR user_email = sqlc.narg(user_email))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to))
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: TruncateDocuments :exec
TRUNCATE documents;
