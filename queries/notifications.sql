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

-- name: EmailConsent :one
-- What an address agreed to: no row means asked nothing yet (enabled,
-- not confirmed, no confirmation sent).
SELECT COALESCE(p.email_enabled, true)::boolean AS enabled, (p.confirmed_at IS NOT NULL)::boolean AS confirmed,
       (p.confirmation_sent_at IS NOT NULL)::boolean AS asked
FROM (SELECT sqlc.arg(tenant)::text AS tenant, sqlc.arg(user_email)::text AS user_email) k
LEFT JOIN notification_preferences p ON p.tenant = k.tenant AND p.user_email = k.user_email;

-- name: ClaimConfirmation :execrows
-- Takes the one confirmation e-mail of an address that wants e-mails and
-- has not confirmed: 1 row when this caller is to send it, 0 when it was
-- sent already, the address confirmed, or the user turned e-mails off.
INSERT INTO notification_preferences (tenant, user_email, email_enabled, updated_at, confirmation_sent_at)
VALUES ($1, $2, true, now(), now())
ON CONFLICT (tenant, user_email) DO UPDATE SET confirmation_sent_at = now(), updated_at = now()
WHERE notification_preferences.email_enabled AND notification_preferences.confirmed_at IS NULL
  AND notification_preferences.confirmation_sent_at IS NULL;

-- name: ReleaseConfirmation :exec
-- Gives the claim back after the e-mail could not be sent.
UPDATE notification_preferences SET confirmation_sent_at = NULL WHERE tenant = $1 AND user_email = $2 AND confirmed_at IS NULL;

-- name: ConfirmEmail :exec
INSERT INTO notification_preferences (tenant, user_email, email_enabled, updated_at, confirmed_at)
VALUES ($1, $2, true, now(), now())
ON CONFLICT (tenant, user_email) DO UPDATE SET email_enabled = true, confirmed_at = now(), updated_at = now();

-- name: RequestEmails :exec
-- A user asks for e-mails again: after an unsubscribe that takes a new
-- confirmation, so the consent and the sent confirmation are forgotten.
INSERT INTO notification_preferences (tenant, user_email, email_enabled, updated_at)
VALUES ($1, $2, true, now())
ON CONFLICT (tenant, user_email) DO UPDATE SET email_enabled = true, updated_at = now(),
    confirmed_at = CASE WHEN notification_preferences.email_enabled THEN notification_preferences.confirmed_at END,
    confirmation_sent_at = CASE WHEN notification_preferences.email_enabled THEN notification_preferences.confirmation_sent_at END;
