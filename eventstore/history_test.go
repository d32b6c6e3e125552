package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
)

// appendRounds appends rounds events to each doc, the docs' events
// interleaved in the stream, and returns each doc's sequences.
func appendRounds(t testing.TB, store *eventstore.Store, docs []string, rounds int) map[string][]uint64 {
	t.Helper()
	seqs := map[string][]uint64{}
	for r := range rounds {
		for _, doc := range docs {
			var last uint64
			if s := seqs[doc]; len(s) > 0 {
				last = s[len(s)-1]
			}
			typ := domain.TypeExtractionStarted
			if r == 0 {
				typ = domain.TypeDocumentUploaded
			}
			seq, err := store.Append(context.Background(), event(t, doc, typ, fmt.Sprintf("c%d-%s", r, doc), domain.ExtractionStarted{Attempt: r}), last)
			if err != nil {
				t.Fatal(err)
			}
			seqs[doc] = append(seqs[doc], seq)
		}
	}
	return seqs
}

func sequencesOf(history []domain.Envelope) []uint64 {
	var out []uint64
	for _, e := range history {
		out = append(out, e.Sequence)
	}
	return out
}

func loadEquals(t *testing.T, store *eventstore.Store, doc string, want []uint64) {
	t.Helper()
	history, err := store.Load(context.Background(), "acme", doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := sequencesOf(history); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("doc %s: history at %v, want %v", doc, got, want)
	}
	for i, e := range history {
		if e.AggregateID != doc || (i == 0) != (e.Type == domain.TypeDocumentUploaded) {
			t.Fatalf("doc %s: event %d is %s of %s", doc, i, e.Type, e.AggregateID)
		}
	}
}

// A history is read by following each event back to the one before it,
// and kept: a second store appending in between is seen, nothing is read
// twice, and no read scans the stream.
func TestLoadFollowsEachEventToTheOneBefore(t *testing.T) {
	store, nc := eventstoretest.Start(t)
	other, err := eventstore.Open(context.Background(), nc, eventstore.Config{HistoryCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	seqs := appendRounds(t, store, docs, 3)
	for _, doc := range docs {
		loadEquals(t, store, doc, seqs[doc])
		loadEquals(t, other, doc, seqs[doc])
	}
	// The other store (keeping nothing) appends; the first one, which
	// keeps the three histories, reads them grown.
	for _, doc := range docs[:2] {
		s := seqs[doc]
		seq, err := other.Append(context.Background(), event(t, doc, domain.TypeExtractionStarted, "more-"+doc, domain.ExtractionStarted{Attempt: 9}), s[len(s)-1])
		if err != nil {
			t.Fatal(err)
		}
		seqs[doc] = append(s, seq)
	}
	for _, doc := range docs {
		loadEquals(t, store, doc, seqs[doc])
		loadEquals(t, store, doc, seqs[doc]) // from what it kept
	}
	if n := store.Scans() + other.Scans(); n != 0 {
		t.Errorf("%d histories read by scanning the stream", n)
	}
	// What a caller does with a history does not change the kept one.
	h, _ := store.Load(context.Background(), "acme", docs[0])
	h[0].Type = "Changed"
	loadEquals(t, store, docs[0], seqs[docs[0]])
}

// Events without the sequence before them (as an archive's restore
// publishes them) are read by scanning, and kept like any other history.
func TestLoadScansEventsWithoutTheOneBefore(t *testing.T) {
	store, nc := eventstoretest.Start(t)
	doc := uuid.NewString()
	seqs := appendRounds(t, store, []string{doc, uuid.NewString()}, 2)
	want := seqs[doc]
	// One event published with no expectation, then one that names it.
	e := event(t, doc, domain.TypeExtractionStarted, "bare", domain.ExtractionStarted{Attempt: 5})
	data, _ := json.Marshal(e)
	js, _ := nc.JetStream()
	pub, err := js.PublishMsg(&nats.Msg{Subject: store.Subject("acme", domain.AggregateDocument, doc), Data: data})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, pub.Sequence)
	seq, err := store.Append(context.Background(), event(t, doc, domain.TypeExtractionStarted, "after", domain.ExtractionStarted{Attempt: 6}), pub.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, seq)
	loadEquals(t, store, doc, want)
	if n := store.Scans(); n != 1 {
		t.Errorf("%d scans, want 1 (the chain is broken once)", n)
	}
	loadEquals(t, store, doc, want) // kept
	if n := store.Scans(); n != 1 {
		t.Errorf("%d scans after reading it again, want still 1", n)
	}
}

// BenchmarkLoad reads the four-event histories of documents whose events
// are interleaved with 4,000 others' in the stream: by scanning for each
// next event on the subject (the way before events named the one before
// them, and still the way for those that do not), by following the events
// back with nothing kept, and with the histories kept.
func BenchmarkLoad(b *testing.B) {
	store, nc := benchStore(b, false)
	docs := make([]string, 1000)
	for i := range docs {
		docs[i] = uuid.NewString()
	}
	appendRounds(b, store, docs, 4)
	fresh, err := eventstore.Open(context.Background(), nc, eventstore.Config{HistoryCache: -1})
	if err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct {
		name string
		load func(ctx context.Context, doc string) ([]domain.Envelope, error)
	}{
		{"scan", func(ctx context.Context, doc string) ([]domain.Envelope, error) {
			return store.ScanHistory(ctx, "acme", doc)
		}},
		{"chain", func(ctx context.Context, doc string) ([]domain.Envelope, error) { return fresh.Load(ctx, "acme", doc) }},
		{"kept", func(ctx context.Context, doc string) ([]domain.Envelope, error) { return store.Load(ctx, "acme", doc) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			setConcurrency(b)
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h, err := bm.load(context.Background(), docs[int(n.Add(1))%len(docs)])
					if err != nil || len(h) != 4 {
						b.Errorf("%d events, %v", len(h), err)
						return
					}
				}
			})
		})
	}
}
