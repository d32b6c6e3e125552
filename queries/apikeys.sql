-- name: InsertAPIKey :exec
INSERT INTO api_keys (id, tenant, key_hash, key_prefix) VALUES ($1, $2, $3, $4);

-- name: TenantForKey :one
SELECT tenant FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL;
