-- name: InsertAPIKey :exec
INSERT INTO api_keys (id, tenant, key_hash, key_prefix, expires_at) VALUES ($1, $2, $3, $4, $5);

-- name: TenantForKey :one
-- A revoked or expired key is no key. The database decides "expired", so
-- every API process agrees whatever its clock; for the same reason a cache
-- gets the time the key has left (expires_in, seconds; infinite for a key
-- without an expiry) rather than the time it ends.
SELECT id, tenant, (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')::boolean AS stale,
       COALESCE(EXTRACT(EPOCH FROM expires_at - now()), 'Infinity')::float8 AS expires_in
FROM api_keys
WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now());

-- name: TouchAPIKey :exec
-- At most once a minute per key, whichever API processes see it.
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: ListAPIKeys :many
-- Every key, revoked and expired ones too; never the key itself.
SELECT id, tenant, key_prefix, created_at, expires_at, last_used_at, revoked_at FROM api_keys
WHERE sqlc.arg(tenant)::text = '' OR tenant = sqlc.arg(tenant)::text
ORDER BY tenant, created_at, id;

-- name: GetAPIKey :one
SELECT id, tenant, key_prefix, created_at, expires_at, last_used_at, revoked_at FROM api_keys WHERE id = $1;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL;

-- name: ExpireAPIKey :execrows
-- Ends a key after a grace period (a rotation's old key), never later
-- than it already ends.
UPDATE api_keys SET expires_at = sqlc.arg(expires_at)
WHERE id = sqlc.arg(id) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > sqlc.arg(expires_at));
