-- name: InsertAccount :exec
INSERT INTO accounts (id, tenant, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5, $6);

-- name: GetAccountByEmail :one
SELECT id, tenant, email, name, role, password_hash, created_at, password_changed_at
FROM accounts WHERE email = $1;

-- name: GetAccount :one
SELECT id, tenant, email, name, role, password_hash, created_at, password_changed_at
FROM accounts WHERE id = $1;

-- name: ListAccounts :many
SELECT id, tenant, email, name, role, password_hash, created_at, password_changed_at
FROM accounts WHERE tenant = $1 ORDER BY email;

-- name: CountAdmins :one
SELECT count(*) FROM accounts WHERE tenant = $1 AND role = 'admin';

-- name: CountAccounts :one
SELECT count(*) FROM accounts WHERE tenant = $1;

-- name: SetAccountRole :execrows
UPDATE accounts SET role = sqlc.arg(role) WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: SetAccountPassword :execrows
UPDATE accounts SET password_hash = sqlc.arg(password_hash), password_changed_at = now() WHERE id = sqlc.arg(id);

-- name: DeleteAccount :execrows
DELETE FROM accounts WHERE tenant = $1 AND id = $2;

-- name: LockAdmins :exec
-- Serialises changes that could leave a tenant without an admin.
SELECT pg_advisory_xact_lock(hashtext('tally-accounts:' || sqlc.arg(tenant)::text));

-- name: InsertAccountToken :exec
INSERT INTO account_tokens (token_hash, kind, tenant, email, role, expires_at) VALUES ($1, $2, $3, $4, $5, $6);

-- name: UseAccountToken :one
-- Marks a live token used and returns it; no row when it is unknown,
-- used or expired.
UPDATE account_tokens SET used_at = now()
WHERE token_hash = sqlc.arg(token_hash) AND kind = sqlc.arg(kind) AND used_at IS NULL AND expires_at > now()
RETURNING tenant, email, role;

-- name: PeekAccountToken :one
SELECT tenant, email, role, expires_at FROM account_tokens
WHERE token_hash = sqlc.arg(token_hash) AND kind = sqlc.arg(kind) AND used_at IS NULL AND expires_at > now();

-- name: ListPendingInvitations :many
SELECT email, role, created_at, expires_at FROM account_tokens
WHERE tenant = $1 AND kind = 'invite' AND used_at IS NULL AND expires_at > now()
ORDER BY created_at DESC;
