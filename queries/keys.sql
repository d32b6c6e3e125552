-- Stored data keys, for wrapping them under the master key (package seal):
-- at start those stored before master keys existed, on `tally keys rotate`
-- every one not wrapped by the current master key.

-- name: ListSecretValues :many
SELECT name, value FROM public.secrets ORDER BY name;

-- name: SwapSecretValue :execrows
-- Compare-and-set: a process wrapping the same key at the same time
-- changes nothing the second time.
UPDATE public.secrets SET value = sqlc.arg(new_value) WHERE name = sqlc.arg(name) AND value = sqlc.arg(old_value);

-- name: ListStoredUserKeys :many
-- only_clear: just the keys stored before master keys (32 bytes, in the
-- clear), which every start looks for.
SELECT tenant, user_id, key FROM public.user_keys
WHERE key IS NOT NULL AND (NOT sqlc.arg(only_clear)::boolean OR length(key) = 32)
ORDER BY tenant, user_id;

-- name: SwapUserKey :execrows
-- Compare-and-set, as SwapSecretValue; an erased key (NULL) is never
-- brought back.
UPDATE public.user_keys SET key = sqlc.arg(new_key)
WHERE tenant = sqlc.arg(tenant) AND user_id = sqlc.arg(user_id) AND key = sqlc.arg(old_key);
