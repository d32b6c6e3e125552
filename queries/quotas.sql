-- name: TenantDocumentsSince :one
-- Documents a tenant added since a time (the start of the UTC day), for
-- TENANT_DOCUMENTS_PER_DAY; documents_by_created serves it.
SELECT count(*)::bigint FROM documents
WHERE tenant = sqlc.arg(tenant) AND created_at >= sqlc.arg(since)::timestamptz;

-- name: TenantStoredBytes :one
-- Bytes of the files a tenant still stores (purged ones are gone), for
-- TENANT_STORAGE_MB.
SELECT coalesce(sum(size_bytes), 0)::bigint FROM documents
WHERE tenant = sqlc.arg(tenant) AND purged_at IS NULL;
