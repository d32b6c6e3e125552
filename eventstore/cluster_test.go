package eventstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
)

// openCluster opens the store with three replicas on a three-node cluster.
func openCluster(t *testing.T, c *eventstoretest.Cluster, cfg eventstore.Config) *eventstore.Store {
	t.Helper()
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg.Replicas = 3
	store, err := eventstore.Open(context.Background(), nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// TestAppendsRideThroughLeaderLoss kills the stream leader while four
// writers append: no append fails, none lands twice, every document has
// exactly the events its writer appended.
func TestAppendsRideThroughLeaderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped in -short mode")
	}
	c := eventstoretest.StartCluster(t, 3)
	var mu sync.Mutex
	var retried []time.Duration
	store := openCluster(t, c, eventstore.Config{OnRetried: func(_ int, took time.Duration) {
		mu.Lock()
		retried = append(retried, took)
		mu.Unlock()
	}})
	ctx := context.Background()

	const writers, perWriter = 4, 60
	var wg sync.WaitGroup
	var failed []error
	var latencies []time.Duration
	docs := make([][]string, writers)
	killAt := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if w == 0 && i == perWriter/3 {
					close(killAt)
				}
				doc := uuid.NewString()
				start := time.Now()
				seq, err := store.Append(ctx, event(t, doc, domain.TypeDocumentUploaded, "up-"+doc, domain.DocumentUploaded{Filename: "a.pdf"}), 0)
				if err == nil {
					_, err = store.Append(ctx, event(t, doc, domain.TypeExtractionStarted, "start-"+doc, domain.ExtractionStarted{Attempt: 1}), seq)
				}
				took := time.Since(start)
				mu.Lock()
				latencies = append(latencies, took)
				if err != nil {
					failed = append(failed, err)
				}
				mu.Unlock()
				docs[w] = append(docs[w], doc)
			}
		})
	}
	<-killAt
	leader := c.StreamLeader("TALLY_EVENTS")
	c.Stop(leader)
	t.Logf("stopped the stream leader %s", c.Name(leader))
	wg.Wait()

	if len(failed) > 0 {
		t.Fatalf("%d appends failed across the leader change, first: %v", len(failed), failed[0])
	}
	last, err := store.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(2 * writers * perWriter); last != want {
		t.Fatalf("stream holds %d events, want %d (none lost, none twice)", last, want)
	}
	for _, ds := range docs {
		for _, doc := range ds {
			history, err := store.Load(ctx, "acme", doc)
			if err != nil {
				t.Fatal(err)
			}
			if len(history) != 2 || history[0].Type != domain.TypeDocumentUploaded || history[1].Type != domain.TypeExtractionStarted {
				t.Fatalf("doc %s has history %+v", doc, history)
			}
		}
	}
	slices.Sort(latencies)
	t.Logf("%d appends of 2 events, %d retried through the election (longest %s); latency p50 %s p99 %s max %s",
		len(latencies), len(retried), slices.Max(append(retried, 0)), latencies[len(latencies)/2],
		latencies[len(latencies)*99/100], latencies[len(latencies)-1])

	// The stopped node comes back and catches up.
	c.Start(leader)
	waitCaughtUp(t, c, leader, last)
}

// TestWipedNodeCatchesUp restarts one node with an empty data directory:
// the cluster copies the stream back to it while appends go on.
func TestWipedNodeCatchesUp(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped in -short mode")
	}
	c := eventstoretest.StartCluster(t, 3)
	store := openCluster(t, c, eventstore.Config{})
	ctx := context.Background()
	appendDocs := func(n int) {
		for range n {
			doc := uuid.NewString()
			if _, err := store.Append(ctx, event(t, doc, domain.TypeDocumentUploaded, "up-"+doc, domain.DocumentUploaded{}), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendDocs(100)
	// A follower, so that the wipe also shows a replica rebuilt from the
	// others, not only a new leader elected.
	victim := (c.StreamLeader("TALLY_EVENTS") + 1) % 3
	c.Stop(victim)
	c.Wipe(victim)
	appendDocs(50)
	c.Start(victim)
	appendDocs(50)
	last, err := store.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last != 200 {
		t.Fatalf("stream at %d, want 200", last)
	}
	waitCaughtUp(t, c, victim, last)
}

func waitCaughtUp(t *testing.T, c *eventstoretest.Cluster, node int, last uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var msgs, seq uint64
	for time.Now().Before(deadline) {
		var ok bool
		if msgs, seq, ok = c.LocalState(node, "TALLY_EVENTS"); ok && msgs == last && seq == last {
			t.Logf("node %s holds all %d events", c.Name(node), last)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("node %s holds %d events up to %d, want %d", c.Name(node), msgs, seq, last)
}
