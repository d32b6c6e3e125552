-- name: LockTemplateBundles :exec
-- Serialises activations (update-cron runs, rollbacks) across processes for
-- the rest of the transaction.
SELECT pg_advisory_xact_lock(7301551420615436833);

-- name: GetTemplateBundle :one
SELECT version, bundle, checksum, templates, source, created_at, activated_at, active
FROM template_bundles WHERE version = $1;

-- name: ActiveTemplateBundle :one
SELECT version, bundle, checksum, templates FROM template_bundles WHERE active;

-- name: ActiveTemplateVersion :one
-- What workers poll: cheap, and the checksum catches a changed row.
SELECT version, checksum FROM template_bundles WHERE active;

-- name: InsertTemplateBundle :exec
INSERT INTO template_bundles (version, bundle, checksum, templates, source)
VALUES ($1, $2, $3, $4, $5);

-- name: DeactivateTemplateBundles :exec
UPDATE template_bundles SET active = false WHERE active;

-- name: ActivateTemplateBundle :execrows
UPDATE template_bundles SET active = true, activated_at = sqlc.arg(activated_at)
WHERE version = sqlc.arg(version);

-- name: PreviousTemplateBundle :one
-- The bundle that was active before the current one: the most recently
-- activated of the others.
SELECT version FROM template_bundles
WHERE NOT active AND activated_at IS NOT NULL
ORDER BY activated_at DESC, version DESC
LIMIT 1;

-- name: ListTemplateBundles :many
SELECT version, checksum, templates, source, created_at, activated_at, active
FROM template_bundles ORDER BY created_at, version;
