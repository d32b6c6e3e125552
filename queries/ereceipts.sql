-- name: GetEReceiptConfig :one
SELECT tenant, results_endpoint, day_cutoff, date_cutoff, use_aggregation, return_eml, updated_at
FROM ereceipt_config WHERE tenant = $1;

-- name: PutEReceiptConfig :exec
INSERT INTO ereceipt_config (tenant, results_endpoint, day_cutoff, date_cutoff, use_aggregation, return_eml, updated_at)
VALUES (sqlc.arg(tenant), sqlc.arg(results_endpoint), sqlc.narg(day_cutoff), sqlc.narg(date_cutoff),
        sqlc.arg(use_aggregation), sqlc.arg(return_eml), now())
ON CONFLICT (tenant) DO UPDATE SET results_endpoint = EXCLUDED.results_endpoint, day_cutoff = EXCLUDED.day_cutoff,
    date_cutoff = EXCLUDED.date_cutoff, use_aggregation = EXCLUDED.use_aggregation, return_eml = EXCLUDED.return_eml,
    updated_at = now();

-- name: ListEReceiptRetailers :many
SELECT email, day_cutoff, date_cutoff FROM ereceipt_retailers WHERE tenant = $1 ORDER BY email;

-- name: PutEReceiptRetailer :exec
INSERT INTO ereceipt_retailers (tenant, email, day_cutoff, date_cutoff)
VALUES (sqlc.arg(tenant), sqlc.arg(email), sqlc.narg(day_cutoff), sqlc.narg(date_cutoff))
ON CONFLICT (tenant, email) DO UPDATE SET day_cutoff = EXCLUDED.day_cutoff, date_cutoff = EXCLUDED.date_cutoff;

-- name: DeleteEReceiptRetailers :execrows
DELETE FROM ereceipt_retailers WHERE tenant = sqlc.arg(tenant) AND email = ANY(sqlc.arg(emails)::text[]);

-- name: DeleteAllEReceiptRetailers :exec
DELETE FROM ereceipt_retailers WHERE tenant = $1;
