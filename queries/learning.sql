-- name: UpsertLearnedIssuer :exec
INSERT INTO learned_issuers (tenant, key, priority, lesson, document_id, event_id, seq)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tenant, key) DO UPDATE
SET priority = EXCLUDED.priority, lesson = EXCLUDED.lesson, document_id = EXCLUDED.document_id,
    event_id = EXCLUDED.event_id, seq = EXCLUDED.seq;

-- name: DeleteLearnedFromDocument :exec
DELETE FROM learned_issuers WHERE tenant = $1 AND document_id = $2;

-- The strongest lesson among a document's fingerprint keys: lowest
-- priority first, the latest correction among equals.
-- name: LookupLearnedIssuer :one
SELECT key, lesson, document_id, event_id FROM learned_issuers
WHERE tenant = $1 AND key = ANY(@keys::text[])
ORDER BY priority, seq DESC
LIMIT 1;

-- name: TruncateLearnedIssuers :exec
TRUNCATE learned_issuers;
