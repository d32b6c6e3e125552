-- name: InsertMonthlyDocument :exec
INSERT INTO monthly_documents (tenant, id, user_id, user_email, uploaded_at, attempt)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (tenant, id) DO NOTHING;

-- name: GetMonthlyDocument :one
SELECT tenant, id, user_id, user_email, uploaded_at, attempt, month, currency, COALESCE(amount, 0)::text AS amount, (amount IS NOT NULL)::boolean AS counted,
       machine, corrections, deleted, duplicate
FROM monthly_documents WHERE tenant = $1 AND id = $2;

-- name: SetMonthlyAttempt :exec
UPDATE monthly_documents SET attempt = sqlc.arg(attempt)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND attempt < sqlc.arg(attempt);

-- name: SetMonthlyContribution :exec
UPDATE monthly_documents SET month = sqlc.narg(month), currency = sqlc.narg(currency),
       amount = sqlc.narg(amount)::text::numeric
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: SetMonthlyValues :exec
UPDATE monthly_documents SET machine = sqlc.arg(machine), corrections = sqlc.arg(corrections), deleted = sqlc.arg(deleted)
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);

-- name: AddMonthlyTotal :exec
-- delta_documents is +1 or -1; a row that reaches zero documents is removed
-- by DeleteEmptyMonthlyTotal. Rows are keyed by the pseudonymous user id;
-- user_email is the opened address, for display and lookups, kept as the
-- row was made (an erased user's is blanked by BlankMonthlyTotalUsers).
INSERT INTO monthly_totals (tenant, user_id, user_email, month, currency, total, documents)
VALUES (sqlc.arg(tenant), sqlc.arg(user_id), sqlc.arg(user_email), sqlc.arg(month), sqlc.arg(currency),
        sqlc.arg(amount)::text::numeric, sqlc.arg(delta_documents)::bigint)
ON CONFLICT (tenant, user_id, month, currency) DO UPDATE
SET total = monthly_totals.total + EXCLUDED.total, documents = monthly_totals.documents + EXCLUDED.documents;

-- name: DeleteEmptyMonthlyTotal :exec
-- The one row a negative delta can have brought to zero documents, found
-- by its key so the statement touches one row.
DELETE FROM monthly_totals
WHERE tenant = sqlc.arg(tenant) AND user_id = sqlc.arg(user_id) AND month = sqlc.arg(month)
  AND currency = sqlc.arg(currency) AND documents = 0;

-- name: ListMonthlyTotals :many
SELECT user_id, user_email, month, currency, total::text AS total, documents
FROM monthly_totals
WHERE tenant = sqlc.arg(tenant)
  AND (sqlc.narg(user_email)::text IS NULL OR user_email = sqlc.narg(user_email))
  AND (sqlc.narg(month)::text IS NULL OR month = sqlc.narg(month))
ORDER BY month DESC, user_email, user_id, currency;

-- name: TruncateMonthlyTotals :exec
TRUNCATE monthly_totals, monthly_documents;

-- name: SetMonthlyDuplicate :exec
UPDATE monthly_documents SET duplicate = true WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id);
