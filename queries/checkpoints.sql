-- name: GetCheckpoint :one
SELECT stream_identity, last_sequence FROM projector_checkpoints WHERE projector = $1;

-- name: InitCheckpoint :exec
INSERT INTO projector_checkpoints (projector, stream_identity, last_sequence)
VALUES ($1, $2, 0)
ON CONFLICT (projector) DO NOTHING;

-- name: ResetCheckpoint :exec
UPDATE projector_checkpoints SET stream_identity = $2, last_sequence = 0, updated_at = now()
WHERE projector = $1;

-- name: AdvanceCheckpoints :execrows
-- Compare-and-set for the projectors that applied one batch in one
-- transaction: each row moves only from its own previous position, so a
-- projector that another instance moved past the lock makes the rows
-- affected fall short; the transaction is rolled back and nothing is
-- applied twice.
UPDATE projector_checkpoints c SET last_sequence = u.next_sequence, updated_at = now()
FROM (SELECT unnest(sqlc.arg(projectors)::text[]) AS projector,
             unnest(sqlc.arg(prev_sequences)::bigint[]) AS prev_sequence,
             unnest(sqlc.arg(next_sequences)::bigint[]) AS next_sequence) u
WHERE c.projector = u.projector AND c.stream_identity = sqlc.arg(stream_identity)
  AND c.last_sequence = u.prev_sequence;
