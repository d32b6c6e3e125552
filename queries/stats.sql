-- name: GetDocumentStatus :one
SELECT status, deleted FROM document_statuses WHERE tenant = $1 AND id = $2;

-- name: SetDocumentDeleted :exec
UPDATE document_statuses SET deleted = $3 WHERE tenant = $1 AND id = $2;

-- name: SetDocumentStatus :exec
INSERT INTO document_statuses (tenant, id, status) VALUES ($1, $2, $3)
ON CONFLICT (tenant, id) DO UPDATE SET status = EXCLUDED.status;

-- name: AddStatusCount :exec
INSERT INTO status_counts (tenant, status, count) VALUES ($1, $2, sqlc.arg(delta)::bigint)
ON CONFLICT (tenant, status) DO UPDATE SET count = status_counts.count + EXCLUDED.count;

-- name: ListStatusCounts :many
SELECT status, count FROM status_counts WHERE tenant = $1 ORDER BY status;

-- name: TruncateStatusCounts :exec
TRUNCATE status_counts, document_statuses;
