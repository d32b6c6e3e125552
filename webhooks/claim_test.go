package webhooks

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"tally/migrations/pgtest"
)

// BenchmarkClaimWithBacklog measures one claim while a dead endpoint has
// 100,000 due deliveries and a healthy one has 1,000: the cost every
// sender pays per claim in the worst case an outage leaves behind.
func BenchmarkClaimWithBacklog(b *testing.B) {
	ctx := context.Background()
	_, pool := pgtest.New(b)
	store, err := Open(ctx, pool)
	if err != nil {
		b.Fatal(err)
	}
	dead, _, err := store.Create(ctx, "bench", EndpointSpec{URL: "http://dead.example/", Events: []string{EventCompleted}})
	if err != nil {
		b.Fatal(err)
	}
	alive, _, err := store.Create(ctx, "bench", EndpointSpec{URL: "http://alive.example/", Events: []string{EventCompleted}})
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []struct {
		id uuid.UUID
		n  int
	}{{dead.ID, 100_000}, {alive.ID, 1_000}} {
		if _, err := pool.Exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, tenant, event_id, event_type, document_id, stream_sequence, body, next_attempt_at)
			SELECT $1, 'bench', 'e' || g, 'document.completed', 'd', g, '{}', now() - make_interval(secs => g) FROM generate_series(1, $2) g`, s.id, s.n); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, "ANALYZE webhook_deliveries"); err != nil {
		b.Fatal(err)
	}
	s := NewSender(store, SenderConfig{}, slog.New(slog.DiscardHandler))
	b.ResetTimer()
	for b.Loop() {
		got, err := s.claim(ctx, 8)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		// Give the claims back so every round sees the same backlog.
		if _, err := pool.Exec(ctx, "UPDATE webhook_deliveries SET leased_until = NULL, lease_id = NULL WHERE leased_until IS NOT NULL"); err != nil {
			b.Fatal(err)
		}
		if len(got) != 8 {
			b.Fatalf("claimed %d, want 8 (4 per endpoint)", len(got))
		}
		b.StartTimer()
	}
}

// TestClaimCountsDeliveriesInFlight: a second claim (another sender's)
// takes nothing from an endpoint whose PerEndpoint deliveries are in
// flight, and takes them again once their lease has run out.
func TestClaimCountsDeliveriesInFlight(t *testing.T) {
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store, err := Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	ep, _, err := store.Create(ctx, "t", EndpointSpec{URL: "http://x.example/", Events: []string{EventCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, tenant, event_id, event_type, document_id, stream_sequence, body)
		SELECT $1, 't', 'e' || g, 'document.completed', 'd', g, '{}' FROM generate_series(1, 10) g`, ep.ID); err != nil {
		t.Fatal(err)
	}
	a := NewSender(store, SenderConfig{PerEndpoint: 3}, slog.New(slog.DiscardHandler))
	b := NewSender(store, SenderConfig{PerEndpoint: 3}, slog.New(slog.DiscardHandler))
	first, err := a.claim(ctx, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first claim: %d %v", len(first), err)
	}
	second, err := b.claim(ctx, 10)
	if err != nil || len(second) != 1 {
		t.Fatalf("second claim: %d, want the 1 slot left (%v)", len(second), err)
	}
	if third, _ := b.claim(ctx, 10); len(third) != 0 {
		t.Fatalf("third claim took %d", len(third))
	}
	if _, err := pool.Exec(ctx, "UPDATE webhook_deliveries SET leased_until = now() - interval '1 second' WHERE leased_until IS NOT NULL"); err != nil {
		t.Fatal(err)
	}
	again, _ := b.claim(ctx, 10)
	if len(again) != 3 {
		t.Fatalf("after the leases ran out: %d, want 3", len(again))
	}
	seen := map[int64]bool{}
	for _, c := range append(append(first, second...), again...) {
		seen[c.ID] = true
	}
	if len(seen) != 3 {
		t.Fatalf("expired leases should be taken first (oldest due): %d distinct", len(seen))
	}
}
