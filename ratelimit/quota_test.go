package ratelimit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/domain"
	"tally/migrations/pgtest"
	"tally/ratelimit"
	"tally/readmodel"
)

func TestQuotas(t *testing.T) {
	_, pool := pgtest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 3, 22, 0, 0, 0, time.UTC)
	add := func(tenant string, at time.Time, size int64, purged bool) {
		t.Helper()
		var purgedAt *time.Time
		if purged {
			purgedAt = &at
		}
		_, err := pool.Exec(ctx, `INSERT INTO documents (tenant, id, status, source, filename, content_type, size_bytes, sha256,
			blob_key, user_name, user_email, attempt, created_at, updated_at, last_sequence, purged_at)
			VALUES ($1, $2, 'PENDING', 'upload', 'a.pdf', 'application/pdf', $3, '', '', '', '', 1, $4, $4, 1, $5)`,
			tenant, uuid.New(), size, at, purgedAt)
		if err != nil {
			t.Fatal(err)
		}
	}
	q := &ratelimit.Quotas{Queries: readmodel.New(pool), DocumentsPerDay: 3, StorageBytes: 10 << 20, Now: func() time.Time { return now }}
	add("acme", now.Add(-23*time.Hour), 1<<20, false) // yesterday
	add("acme", now.Add(-time.Hour), 1<<20, false)
	add("acme", now.Add(-time.Minute), 6<<20, true) // purged: counts today, stores nothing
	add("other", now, 9<<20, false)
	if err := q.Admit(ctx, "acme", 1<<20); err != nil {
		t.Fatalf("third document today: %v", err)
	}
	add("acme", now, 1<<20, false)
	err := q.Admit(ctx, "acme", 1)
	var de *domain.Error
	if !errors.Is(err, ratelimit.ErrDailyQuota) || !errors.As(err, &de) || de.RetryAfter != 2*time.Hour ||
		!strings.Contains(err.Error(), "3 documents a day") {
		t.Fatalf("fourth document today: %v", err)
	}
	// Storage: 3 MiB stored of 10.
	q.DocumentsPerDay = 0
	if err := q.Admit(ctx, "acme", 7<<20); err != nil {
		t.Fatalf("a file that fits: %v", err)
	}
	err = q.Admit(ctx, "acme", 7<<20+1)
	if !errors.Is(err, ratelimit.ErrStorageQuota) || domain.KindOf(err) != domain.KindForbidden || !strings.Contains(err.Error(), "3 of 10 MiB") {
		t.Fatalf("a file past the storage quota: %v", err)
	}
	// Without quotas nothing is asked.
	if err := (&ratelimit.Quotas{}).Admit(ctx, "acme", 1<<40); err != nil {
		t.Fatal(err)
	}
	pool.Close()
	q.DocumentsPerDay = 3
	if err := q.Admit(ctx, "acme", 1); domain.KindOf(err) != domain.KindUnavailable {
		t.Fatalf("database gone: %v", err)
	}
}
