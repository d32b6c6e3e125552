package ereceipts

import (
	"context"
	"testing"

	"tally/migrations/pgtest"
)

func TestJobIDsArePerTenantPermutations(t *testing.T) {
	_, pool := pgtest.New(t)
	s := NewStore(pool)
	ctx := context.Background()
	seen := map[uint64]bool{}
	for _, seq := range []uint64{1, 2, 3, 1000, 1 << 40, jobIDZero - 1} {
		a, err := s.JobID(ctx, "a", seq)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.JobID(ctx, "b", seq)
		if err != nil {
			t.Fatal(err)
		}
		if a == seq || a == b || a == 0 || a > jobIDZero || seen[a] {
			t.Fatalf("position %d: numbers %d (a) and %d (b)", seq, a, b)
		}
		seen[a] = true
		if back, err := s.JobSequence(ctx, "a", a); err != nil || back != seq {
			t.Fatalf("number %d back to %d, %v, want %d", a, back, err, seq)
		}
		if back, _ := s.JobSequence(ctx, "b", a); back == seq {
			t.Fatalf("tenant b's number %d names a's position %d", a, seq)
		}
	}
	// The same key in another process: the same numbers.
	again, err := NewStore(pool).JobID(ctx, "a", 1000)
	if first, _ := s.JobID(ctx, "a", 1000); err != nil || again != first {
		t.Fatalf("another store numbers position 1000 as %d (%v), not %d", again, err, first)
	}
	for _, bad := range []uint64{0, jobIDZero + 1} {
		if _, err := s.JobSequence(ctx, "a", bad); err == nil {
			t.Fatalf("number %d accepted", bad)
		}
	}
}
