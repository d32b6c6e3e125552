package webhooks

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

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

// TestSenderDyingMidRequest: a sender that dies after the receiver
// answered and before recording leaves the delivery leased; once the lease
// runs out another sender sends it again under the same webhook-id, which
// is how the receiver recognises the repeat, and records it once.
func TestSenderDyingMidRequest(t *testing.T) {
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store, err := Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ids []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get(HeaderID))
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	ep, secret, err := store.Create(ctx, "t", EndpointSpec{URL: rcv.URL, Events: []string{EventCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := store.SendTest(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	cfg := SenderConfig{AllowPrivate: true, PollInterval: 20 * time.Millisecond}
	dying := NewSender(store, cfg, slog.New(slog.DiscardHandler))
	claimed, err := dying.claim(ctx, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	if res := dying.post(ctx, claimed[0], secret); !res.ok() {
		t.Fatalf("post: %+v", res)
	}
	// The sender is gone; its lease runs out.
	if _, err := pool.Exec(ctx, "UPDATE webhook_deliveries SET leased_until = now() - interval '1 second' WHERE id = $1", d.ID); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = NewSender(store, cfg, slog.New(slog.DiscardHandler)).Run(runCtx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, err := store.Deliveries(ctx, ep.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && ds[0].State == StateSucceeded {
			if ds[0].Attempts != 1 || len(ds[0].Log) != 1 {
				t.Fatalf("recorded %+v", ds[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered again: %+v", ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != d.EventID || ids[1] != d.EventID {
		t.Fatalf("webhook ids %v, want %s twice", ids, d.EventID)
	}
}

// BenchmarkSend measures delivery throughput: 2,000 due deliveries spread
// over 8 endpoints of a local receiver that answers 204 at once, sent by
// one sender with default concurrency, each attempt recorded.
func BenchmarkSend(b *testing.B) {
	ctx := context.Background()
	_, pool := pgtest.New(b)
	store, err := Open(ctx, pool)
	if err != nil {
		b.Fatal(err)
	}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	b.Cleanup(rcv.Close)
	var eps []uuid.UUID
	for range 8 {
		ep, _, err := store.Create(ctx, "bench", EndpointSpec{URL: rcv.URL, Events: []string{EventCompleted}})
		if err != nil {
			b.Fatal(err)
		}
		eps = append(eps, ep.ID)
	}
	const total = 2000
	for b.Loop() {
		b.StopTimer()
		if _, err := pool.Exec(ctx, "TRUNCATE webhook_attempts, webhook_deliveries"); err != nil {
			b.Fatal(err)
		}
		for _, id := range eps {
			if _, err := pool.Exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, tenant, event_id, event_type, document_id, stream_sequence, body)
				SELECT $1, 'bench', 'e' || g, 'document.completed', 'd', g, convert_to(repeat('x', 600), 'UTF8') FROM generate_series(1, $2) g`, id, total/len(eps)); err != nil {
				b.Fatal(err)
			}
		}
		runCtx, cancel := context.WithCancel(ctx)
		s := NewSender(store, SenderConfig{AllowPrivate: true, PollInterval: 10 * time.Millisecond}, slog.New(slog.DiscardHandler))
		done := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() { defer close(done); _ = s.Run(runCtx) }()
		for {
			var left int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'").Scan(&left); err != nil {
				b.Fatal(err)
			}
			if left == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		b.ReportMetric(float64(total)/took.Seconds(), "deliveries/s")
		b.StartTimer()
	}
}
