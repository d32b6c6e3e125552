-- Statements of the search projector (projections/search.go). Reads for
-- people are in package search.

-- name: InsertSearchDocument :exec
INSERT INTO search_documents (tenant, id, user_id, status, source, filename, attempt, created_at, updated_at, search_text)
VALUES (sqlc.arg(tenant), sqlc.arg(id), sqlc.arg(user_id), 'PENDING', sqlc.arg(source), sqlc.arg(filename),
        sqlc.arg(attempt), sqlc.arg(created_at), sqlc.arg(created_at), sqlc.arg(search_text))
ON CONFLICT (tenant, id) DO NOTHING;

-- name: SetSearchRequested :exec
UPDATE search_documents SET status = 'PENDING', needs_review = false, attempt = sqlc.arg(attempt), updated_at = sqlc.arg(updated_at)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt < sqlc.arg(attempt);

-- name: SetSearchStarted :exec
UPDATE search_documents SET status = 'PROCESSING', updated_at = sqlc.arg(updated_at)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt = sqlc.arg(attempt) AND status = 'PENDING';

-- name: SetSearchFailed :exec
UPDATE search_documents SET status = 'FAILED', needs_review = false, updated_at = sqlc.arg(updated_at)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt = sqlc.arg(attempt);

-- name: GetSearchDocument :one
SELECT filename, attempt, status, machine, corrections FROM search_documents WHERE tenant = $1 AND id = $2;

-- name: SetSearchValues :exec
-- The effective values (machine's with the user's corrections over them)
-- and the text they are found by; body, the extracted text, only changes
-- with a result (NULL keeps it).
UPDATE search_documents SET
    status = COALESCE(sqlc.narg(status), status), machine = sqlc.arg(machine), corrections = sqlc.arg(corrections),
    vendor = sqlc.narg(vendor), invoice_number = sqlc.narg(invoice_number), document_date = sqlc.narg(document_date),
    currency = sqlc.narg(currency), total = sqlc.narg(total)::text::numeric,
    needs_review = sqlc.arg(needs_review), search_text = sqlc.arg(search_text), body = COALESCE(sqlc.narg(body), body),
    updated_at = sqlc.arg(updated_at)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: SearchDocumentsOfUsers :many
-- The documents of erased users, whose text the projector writes again
-- without the file name.
SELECT id, machine, corrections FROM search_documents
WHERE tenant = sqlc.arg(tenant) AND user_id = ANY(sqlc.arg(user_ids)::text[]);

-- name: SetSearchText :exec
UPDATE search_documents SET filename = '', search_text = sqlc.arg(search_text), updated_at = sqlc.arg(updated_at)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: SetSearchDeleted :exec
UPDATE search_documents SET deleted = sqlc.arg(deleted), updated_at = sqlc.arg(updated_at)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: TruncateSearch :exec
TRUNCATE search_documents;
