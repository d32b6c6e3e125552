package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
)

func event(t testing.TB, doc, typ, commandID string, payload any) domain.Envelope {
	t.Helper()
	e, err := domain.NewEnvelope(uuid.NewString(), "acme", doc, typ, time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	e.CommandID = commandID
	return e
}

func TestAppendChecksExpectedSequence(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	ctx := context.Background()
	doc := uuid.NewString()
	seq, err := store.Append(ctx, event(t, doc, domain.TypeDocumentUploaded, "c1", domain.DocumentUploaded{Filename: "a.pdf"}), 0)
	if err != nil {
		t.Fatal(err)
	}
	// A second "new aggregate" append under another command conflicts.
	_, err = store.Append(ctx, event(t, doc, domain.TypeDocumentUploaded, "c2", domain.DocumentUploaded{}), 0)
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("append at stale sequence: got %v, want ErrConflict", err)
	}
	seq2, err := store.Append(ctx, event(t, doc, domain.TypeExtractionStarted, "c3", domain.ExtractionStarted{Attempt: 1}), seq)
	if err != nil {
		t.Fatal(err)
	}
	if seq2 <= seq {
		t.Fatalf("sequence went from %d to %d", seq, seq2)
	}
	history, err := store.Load(ctx, "acme", doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 2 || history[0].Type != domain.TypeDocumentUploaded || history[1].Sequence != seq2 {
		t.Fatalf("history = %+v", history)
	}
}

func TestRetriedCommandAppendsOnce(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	ctx := context.Background()
	doc := uuid.NewString()
	first := event(t, doc, domain.TypeDocumentUploaded, "cmd-1", domain.DocumentUploaded{})
	seq1, err := store.Append(ctx, first, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The retry builds a new envelope (new event id) for the same command.
	// The server checks the expectation before the message id, so the
	// retry is refused as a conflict; commands then re-read and find
	// their command id in the history.
	retry := event(t, doc, domain.TypeDocumentUploaded, "cmd-1", domain.DocumentUploaded{})
	if _, err := store.Append(ctx, retry, 0); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("retry: got %v, want ErrConflict", err)
	}
	// A retry that read the aggregate before the lost ack but whose
	// expectation still holds (a batch, say) is caught by the message id.
	again := event(t, doc, domain.TypeExtractionRequested, "cmd-2", domain.ExtractionRequested{Attempt: 2})
	seq2, err := store.Append(ctx, again, seq1)
	if err != nil {
		t.Fatal(err)
	}
	again.ID = uuid.NewString()
	dup, err := store.Append(ctx, again, seq1)
	if err != nil && !errors.Is(err, eventstore.ErrConflict) {
		t.Fatal(err)
	}
	if err == nil && dup != seq2 {
		t.Fatalf("duplicate appended at %d, first at %d", dup, seq2)
	}
	history, _ := store.Load(ctx, "acme", doc)
	if len(history) != 2 {
		t.Fatalf("history has %d events, want 2", len(history))
	}
}

func TestLoadUnknownAggregateIsEmpty(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	history, err := store.Load(context.Background(), "acme", uuid.NewString())
	if err != nil || len(history) != 0 {
		t.Fatalf("got %v, %v", history, err)
	}
}

func TestLoadLast(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	ctx := context.Background()
	doc := uuid.NewString()
	if _, found, err := store.LoadLast(ctx, "acme", domain.AggregateDocument, doc); found || err != nil {
		t.Fatalf("an empty aggregate: found %v, %v", found, err)
	}
	first, err := store.Append(ctx, event(t, doc, domain.TypeDocumentUploaded, "", domain.DocumentUploaded{}), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Another aggregate's event in between changes nothing.
	if _, err := store.Append(ctx, event(t, uuid.NewString(), domain.TypeDocumentUploaded, "", domain.DocumentUploaded{}), 0); err != nil {
		t.Fatal(err)
	}
	second, err := store.Append(ctx, event(t, doc, domain.TypeExtractionRequested, "", domain.ExtractionRequested{Attempt: 2}), first)
	if err != nil {
		t.Fatal(err)
	}
	e, found, err := store.LoadLast(ctx, "acme", domain.AggregateDocument, doc)
	if err != nil || !found || e.Sequence != second || e.Type != domain.TypeExtractionRequested || e.AggregateID != doc {
		t.Fatalf("last event: %+v found %v, %v; want sequence %d", e, found, err, second)
	}
}

func TestAppendBatchIsAtomic(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	ctx := context.Background()
	a, b := uuid.NewString(), uuid.NewString()
	seqA, err := store.Append(ctx, event(t, a, domain.TypeDocumentUploaded, "", domain.DocumentUploaded{}), 0)
	if err != nil {
		t.Fatal(err)
	}
	// b's expectation is wrong, so neither event may land.
	_, err = store.AppendBatch(ctx, []eventstore.Pending{
		{Event: event(t, a, domain.TypeExtractionRequested, "", domain.ExtractionRequested{Attempt: 2}), Expected: seqA},
		{Event: event(t, b, domain.TypeExtractionRequested, "", domain.ExtractionRequested{Attempt: 2}), Expected: 99},
	})
	if err == nil {
		t.Fatal("batch with a stale expectation was accepted")
	}
	if h, _ := store.Load(ctx, "acme", a); len(h) != 1 {
		t.Fatalf("failed batch left %d events on a, want 1", len(h))
	}
	seqs, err := store.AppendBatch(ctx, []eventstore.Pending{
		{Event: event(t, a, domain.TypeExtractionRequested, "", domain.ExtractionRequested{Attempt: 2}), Expected: seqA},
		{Event: event(t, b, domain.TypeDocumentUploaded, "", domain.DocumentUploaded{}), Expected: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	ha, _ := store.Load(ctx, "acme", a)
	hb, _ := store.Load(ctx, "acme", b)
	if len(ha) != 2 || len(hb) != 1 || ha[1].Sequence != seqs[0] || hb[0].Sequence != seqs[1] {
		t.Fatalf("batch: seqs %v, a %d events, b %d events", seqs, len(ha), len(hb))
	}
}

func TestStreamRefusesDeleteAndPurge(t *testing.T) {
	store, nc := eventstoretest.Start(t)
	ctx := context.Background()
	seq, err := store.Append(ctx, event(t, uuid.NewString(), domain.TypeDocumentUploaded, "", domain.DocumentUploaded{}), 0)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, "TALLY_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(ctx, seq); err == nil {
		t.Fatal("event deleted")
	}
	if err := s.Purge(ctx); err == nil {
		t.Fatal("stream purged")
	}
}

func TestSubscribeFromSequence(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var seqs []uint64
	for i := 0; i < 50; i++ {
		seq, err := store.Append(ctx, event(t, uuid.NewString(), domain.TypeDocumentUploaded, "", domain.DocumentUploaded{}), 0)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	r, err := store.Subscribe(ctx, seqs[20])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []uint64
	for len(got) < 30 {
		batch, err := r.Next(ctx, 7, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) > 7 {
			t.Fatalf("batch of %d over max 7", len(batch))
		}
		for _, e := range batch {
			got = append(got, e.Sequence)
		}
	}
	for i, s := range got {
		if s != seqs[20+i] {
			t.Fatalf("event %d has sequence %d, want %d", i, s, seqs[20+i])
		}
	}
}

func TestConcurrentWritersOneWins(t *testing.T) {
	store, _ := eventstoretest.Start(t)
	ctx := context.Background()
	doc := uuid.NewString()
	seq, _ := store.Append(ctx, event(t, doc, domain.TypeDocumentUploaded, "", domain.DocumentUploaded{}), 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := store.Append(ctx, event(t, doc, domain.TypeExtractionStarted, fmt.Sprint("w", i), domain.ExtractionStarted{Attempt: 1}), seq)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, eventstore.ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 9 {
		t.Fatalf("wins %d conflicts %d, want 1 and 9", wins, conflicts)
	}
}
