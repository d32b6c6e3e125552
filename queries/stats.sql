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

-- name: MoveDocumentStatus :exec
-- One event's whole effect on the status counts, in one statement that
-- reads nothing back, so a projector's batch can pipeline it. With next
-- set (an event that moves the status): a document seen before, or being
-- uploaded, moves to next, and unless it is deleted one count goes from
-- its old status to next. With deleted set (a deletion or a restore): a
-- known document whose mark changes leaves its status's count or comes
-- back to it. Exactly one of next and deleted is set.
WITH prev AS (
    SELECT s.status, s.deleted FROM document_statuses s WHERE s.tenant = sqlc.arg(tenant) AND s.id = sqlc.arg(id)
), cur AS (
    SELECT status, deleted FROM prev
    UNION ALL
    SELECT '', false WHERE sqlc.arg(is_upload)::boolean AND NOT EXISTS (SELECT 1 FROM prev)
), moved AS (
    SELECT status, deleted FROM cur
    WHERE sqlc.narg(next)::text IS NOT NULL AND status <> sqlc.narg(next)::text
), flagged AS (
    SELECT status FROM cur
    WHERE sqlc.narg(deleted)::boolean IS NOT NULL AND deleted <> sqlc.narg(deleted)::boolean
), deltas AS (
    SELECT status, -1::bigint AS delta FROM moved WHERE NOT deleted AND status <> ''
    UNION ALL
    SELECT sqlc.narg(next)::text, 1::bigint FROM moved WHERE NOT deleted
    UNION ALL
    SELECT status, CASE WHEN sqlc.narg(deleted)::boolean THEN -1::bigint ELSE 1::bigint END FROM flagged
), counted AS (
    INSERT INTO status_counts (tenant, status, count)
    SELECT sqlc.arg(tenant), status, delta FROM deltas
    ON CONFLICT (tenant, status) DO UPDATE SET count = status_counts.count + EXCLUDED.count
), statused AS (
    INSERT INTO document_statuses (tenant, id, status)
    SELECT sqlc.arg(tenant), sqlc.arg(id), sqlc.narg(next)::text FROM moved
    ON CONFLICT (tenant, id) DO UPDATE SET status = EXCLUDED.status
)
UPDATE document_statuses d SET deleted = sqlc.narg(deleted)::boolean
WHERE d.tenant = sqlc.arg(tenant) AND d.id = sqlc.arg(id) AND EXISTS (SELECT 1 FROM flagged);
