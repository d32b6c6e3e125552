-- name: EmailEnabled :one
-- No row means enabled: users opt out, they do not have to opt in.
SELECT COALESCE((SELECT email_enabled FROM notification_preferences
                 WHERE tenant = $1 AND user_email = $2), true)::boolean AS enabled;

-- name: SetEmailEnabled :exec
INSERT INTO notification_preferences (tenant, user_email, email_enabled, updated_at)
VALUES ($1, $2, $3, now())
ON CONFLICT (tenant, user_email) DO UPDATE SET email_enabled = EXCLUDED.email_enabled, updated_at = now();

-- name: EnsureSecret :exec
-- Schema-qualified: projectors rebuilding into a scratch schema read keys
-- through the same queries.
INSERT INTO public.secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING;

-- name: GetSecret :one
SELECT value FROM public.secrets WHERE name = $1;

-- name: ReportRecipients :many
-- Users with spending in a month, across tenants. An erased user's rows
-- have no address left and are skipped.
SELECT DISTINCT tenant, user_id, user_email FROM monthly_totals
WHERE month = $1 AND user_id <> '' AND user_email <> '' AND documents > 0
ORDER BY tenant, user_email, user_id;

-- name: ReportDocuments :many
-- The documents counted in one user's month, from the monthly-totals
-- read model, with what the documents read model knows of them.
SELECT m.id, COALESCE(d.vendor, '') AS vendor, d.document_date, d.filename, m.currency::text AS currency,
       m.amount::text AS amount
FROM monthly_documents m
JOIN documents d ON d.tenant = m.tenant AND d.id = m.id
WHERE m.tenant = $1 AND m.user_id = $2 AND m.month = $3 AND m.amount IS NOT NULL
ORDER BY d.document_date NULLS LAST, d.created_at, m.id;
