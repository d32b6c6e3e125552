-- name: InsertWebhookEndpoint :one
INSERT INTO webhook_endpoints (id, tenant, name, url, secret_sealed, events, format, description)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING created_at, updated_at;

-- name: NamedWebhookEndpointForUpdate :one
SELECT id, tenant, name, url, events, format, description, created_at, updated_at
FROM webhook_endpoints
WHERE tenant = $1 AND name = $2 AND deleted_at IS NULL
FOR UPDATE;

-- name: UpdateWebhookEndpoint :one
UPDATE webhook_endpoints SET url = $2, events = $3, format = $4, description = $5, updated_at = now()
WHERE id = $1
RETURNING updated_at;

-- name: GetWebhookEndpoint :one
SELECT id, tenant, name, url, events, format, description, created_at, updated_at
FROM webhook_endpoints
WHERE tenant = $1 AND id = $2 AND deleted_at IS NULL;

-- name: ListWebhookEndpoints :many
SELECT id, tenant, name, url, events, format, description, created_at, updated_at
FROM webhook_endpoints
WHERE tenant = $1 AND deleted_at IS NULL
ORDER BY created_at, id;

-- name: DeleteWebhookEndpoint :execrows
UPDATE webhook_endpoints SET deleted_at = now(), updated_at = now()
WHERE tenant = $1 AND id = $2 AND deleted_at IS NULL;

-- name: CancelWebhookDeliveries :exec
-- Pending deliveries of a deleted endpoint end; those in flight finish
-- their attempt, and the sender then finds the endpoint gone.
UPDATE webhook_deliveries SET state = 'cancelled', settled_at = now(), last_error = 'endpoint deleted'
WHERE endpoint_id = $1 AND state = 'pending';

-- name: WebhookEndpointsForEvent :many
-- An endpoint receives the events that happen after it was registered, so
-- a dispatcher catching up on old history sends none of it to a new one.
SELECT id, format, secret_sealed
FROM webhook_endpoints
WHERE tenant = sqlc.arg(tenant) AND deleted_at IS NULL
  AND sqlc.arg(event_type)::text = ANY (events)
  AND created_at <= sqlc.arg(occurred_at)
ORDER BY id;

-- name: InsertWebhookDelivery :execrows
INSERT INTO webhook_deliveries (endpoint_id, tenant, event_id, event_type, document_id, stream_sequence, body)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (endpoint_id, event_id) DO NOTHING;

-- name: ClaimWebhookDeliveries :many
-- Takes up to max_claims due deliveries, at most per_endpoint in flight per
-- endpoint counting those other senders hold, so that one slow endpoint
-- can never take every sender. Each endpoint is probed on its own index
-- range, so a dead endpoint's backlog costs a claim nothing. SKIP LOCKED
-- lets several processes claim at once without waiting on each other; the
-- lease keeps a claimed delivery from being sent twice at the same time
-- and frees it if its sender dies.
WITH candidates AS (
    SELECT d.id, d.next_attempt_at
    FROM webhook_endpoints e
    CROSS JOIN LATERAL (
        SELECT count(*) AS n
        FROM webhook_deliveries b
        WHERE b.endpoint_id = e.id AND b.state = 'pending'
          AND b.leased_until IS NOT NULL AND b.leased_until > now()
    ) busy
    CROSS JOIN LATERAL (
        -- A constant LIMIT, then the busy ones subtracted by rank: a LIMIT
        -- computed from busy.n makes the planner guess millions of rows
        -- and compile the query (JIT) on every claim.
        SELECT l.id, l.next_attempt_at, row_number() OVER (ORDER BY l.next_attempt_at, l.id) AS rn
        FROM (
            SELECT w.id, w.next_attempt_at
            FROM webhook_deliveries w
            WHERE w.endpoint_id = e.id AND w.state = 'pending' AND w.next_attempt_at <= now()
              AND (w.leased_until IS NULL OR w.leased_until <= now())
            ORDER BY w.next_attempt_at, w.id
            LIMIT sqlc.arg(per_endpoint)::bigint
        ) l
    ) d
    WHERE d.rn + busy.n <= sqlc.arg(per_endpoint)::bigint
), picked AS (
    SELECT w.id
    FROM webhook_deliveries w
    WHERE w.id IN (SELECT c.id FROM candidates c ORDER BY c.next_attempt_at LIMIT sqlc.arg(max_claims)::bigint)
      AND w.state = 'pending' AND (w.leased_until IS NULL OR w.leased_until <= now())
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_deliveries d
SET leased_until = now() + make_interval(secs => sqlc.arg(lease_seconds)::float8), lease_id = sqlc.arg(lease_id)
FROM picked, webhook_endpoints e
WHERE d.id = picked.id AND e.id = d.endpoint_id
RETURNING d.id, d.endpoint_id, d.tenant, d.event_id, d.body, d.attempts, d.created_at,
          now()::timestamptz AS claimed_at, e.url, e.secret_sealed, e.deleted_at;

-- name: InsertWebhookAttempt :exec
INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, error, duration_ms)
VALUES ($1, now() - make_interval(secs => sqlc.arg(duration_ms)::int / 1000.0), $2, $3, sqlc.arg(duration_ms)::int);

-- name: FinishWebhookDelivery :execrows
-- Settles or reschedules a delivery after an attempt, if the caller still
-- holds its lease.
UPDATE webhook_deliveries
SET state = sqlc.arg(state), attempts = attempts + 1,
    next_attempt_at = now() + make_interval(secs => sqlc.arg(retry_in_seconds)::float8),
    last_status = sqlc.arg(last_status), last_error = sqlc.arg(last_error),
    settled_at = CASE WHEN sqlc.arg(state) = 'pending' THEN NULL ELSE now() END,
    leased_until = NULL, lease_id = NULL
WHERE id = sqlc.arg(id) AND lease_id = sqlc.arg(lease_id);

-- name: ListWebhookDeliveries :many
-- Newest first; before_id 0 means from the newest.
SELECT id, endpoint_id, event_id, event_type, document_id, stream_sequence, state, attempts,
       created_at, next_attempt_at, last_status, last_error, settled_at
FROM webhook_deliveries
WHERE endpoint_id = sqlc.arg(endpoint_id) AND (sqlc.arg(before_id)::bigint = 0 OR id < sqlc.arg(before_id)::bigint)
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);

-- name: ListWebhookAttempts :many
SELECT delivery_id, attempted_at, status_code, error, duration_ms
FROM webhook_attempts
WHERE delivery_id = ANY (sqlc.arg(delivery_ids)::bigint[])
ORDER BY delivery_id, id;

-- name: InsertWebhookTestDelivery :one
INSERT INTO webhook_deliveries (endpoint_id, tenant, event_id, event_type, document_id, stream_sequence, body)
VALUES ($1, $2, $3, $4, '', 0, $5)
RETURNING id;

-- name: RecentWebhookTests :one
-- How many test deliveries tenant queued within the last @span_seconds, and
-- in how many seconds the oldest of them leaves that window.
SELECT count(*)::int AS queued,
       COALESCE(min(EXTRACT(EPOCH FROM created_at - now())) + @span_seconds::float8, 0)::float8 AS frees_in
FROM webhook_deliveries
WHERE tenant = $1 AND event_type = 'webhook.test' AND created_at > now() - make_interval(secs => @span_seconds::float8);

-- name: LockWebhookTests :exec
-- Serialises SendTest per tenant for the rest of the transaction.
SELECT pg_advisory_xact_lock(hashtextextended('webhook-test:' || @tenant::text, 0));

-- name: CountWebhookEndpoints :one
SELECT count(*) FROM webhook_endpoints WHERE tenant = $1 AND deleted_at IS NULL;

-- name: RotateWebhookSecret :execrows
UPDATE webhook_endpoints SET secret_sealed = sqlc.arg(secret_sealed), updated_at = now()
WHERE tenant = sqlc.arg(tenant) AND id = sqlc.arg(id) AND deleted_at IS NULL;
