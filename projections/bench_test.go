package projections_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/projections"
)

// benchDocs documents, each uploaded, started and extracted: 3 events
// apiece, 6000 events in the stream.
const (
	benchDocs         = 2000
	benchEventsPerDoc = 3
	benchTimeout      = 2 * time.Minute
)

// benchHistory appends every document's upload, start and extraction
// straight to the store (no blob writes, no history reads) from 16
// goroutines, with envelopes shaped as commands.Handler builds them. It
// returns the stream's last sequence.
func benchHistory(b *testing.B, store *eventstore.Store, docs int) uint64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	work := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if err := benchDocument(ctx, store, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range docs {
		select {
		case work <- i:
		case err = <-errs:
			break feed
		}
	}
	close(work)
	if err != nil {
		cancel()
	}
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	if err != nil {
		b.Fatal(err)
	}
	last, err := store.LastSequence(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if want := uint64(docs * benchEventsPerDoc); last != want {
		b.Fatalf("stream holds %d events, want %d", last, want)
	}
	return last
}

func benchDocument(ctx context.Context, store *eventstore.Store, i int) error {
	tenant := []string{"acme", "globex"}[i%2]
	doc := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC()
	fields := domain.Fields{Vendor: "Vendor " + fmt.Sprint(i%17), Currency: []string{"EUR", "USD", ""}[i%3],
		Total: fmt.Sprintf("%d.%02d", (i*37)%500, i%100)}
	if i%4 != 0 {
		fields.Date = fmt.Sprintf("2026-%02d-%02d", 1+i%12, 1+i%28)
	}
	steps := []struct {
		typ     string
		payload any
	}{
		{domain.TypeDocumentUploaded, domain.DocumentUploaded{
			Source: domain.SourceUpload, Filename: "f.pdf", ContentType: "application/pdf", Size: int64(len(pdf)),
			SHA256:  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			BlobKey: tenant + "/" + now.Format("2006/01") + "/" + doc + ".pdf",
			// Sealed users whose keys this database lacks: each upload costs
			// the key read a real one does, and opens blank.
			UserID: benchUserIDs[i%3], UserSealed: "AAAA", UploadedAt: now, Attempt: 1}},
		{domain.TypeExtractionStarted, domain.ExtractionStarted{Attempt: 1}},
		{domain.TypeReceiptExtracted, domain.ReceiptExtracted{Attempt: 1, Fields: fields}},
	}
	var last uint64
	for _, s := range steps {
		e, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), tenant, doc, s.typ, now, s.payload)
		if err != nil {
			return err
		}
		e.CommandID = uuid.NewString()
		e.CausationID = e.CommandID
		if last, err = store.Append(ctx, e, last); err != nil {
			return err
		}
	}
	return nil
}

// benchProject measures catching up the given projectors, from an empty
// read model in a fresh database each iteration, on a stream of
// benchDocs documents written before the timer. One operation is one full
// catch-up: every runner (default BatchSize and Linger, as `tally
// projector` runs them, all at once) from runner start until every
// Position() reaches the stream's last sequence.
//
// Metrics:
//   - events/s: projector applications per second, stream events ×
//     projectors / seconds (3 projectors apply each event once each);
//   - stream-events/s: stream events consumed per second by the set of
//     projectors as a whole (each one reads the whole stream), the rate at
//     which a rebuild of all the read models gets through the stream;
//   - ns/event: the inverse of stream-events/s.
//
// benchUserIDs are the pseudonyms of the benchmark's users.
var benchUserIDs = []string{"0192f000-0000-7000-8000-000000000001", "0192f000-0000-7000-8000-000000000002",
	"0192f000-0000-7000-8000-000000000003"}

func benchProject(b *testing.B, newProjectors func() []projections.Projector) {
	store, _ := eventstoretest.Start(b)
	last := benchHistory(b, store, benchDocs)
	n := len(newProjectors())
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		_, pool := pgtest.New(b)
		var rs []*projections.Runner
		for _, p := range newProjectors() {
			rs = append(rs, projections.NewRunner(pool, store, p, quiet))
		}
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, len(rs))
		var wg sync.WaitGroup
		b.StartTimer()

		for _, r := range rs {
			wg.Go(func() {
				if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
					errs <- err
				}
			})
		}
		err := waitCaughtUp(rs, last, errs)

		b.StopTimer()
		cancel()
		wg.Wait()
		pool.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(uint64(b.N)*last*uint64(n))/secs, "events/s")
	b.ReportMetric(float64(uint64(b.N)*last)/secs, "stream-events/s")
	b.ReportMetric(secs*1e9/float64(uint64(b.N)*last), "ns/event")
}

// waitCaughtUp polls the runners every millisecond until all have applied
// the stream up to last, one of them fails, or benchTimeout passes.
func waitCaughtUp(rs []*projections.Runner, last uint64, errs <-chan error) error {
	deadline := time.After(benchTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		done := true
		for _, r := range rs {
			done = done && r.Position() >= last
		}
		if done {
			return nil
		}
		select {
		case err := <-errs:
			return err
		case <-deadline:
			return fmt.Errorf("projectors did not reach sequence %d within %s", last, benchTimeout)
		case <-tick.C:
		}
	}
}

// BenchmarkProjectAll catches up the three projectors at once.
func BenchmarkProjectAll(b *testing.B) {
	benchProject(b, projections.All)
}

// BenchmarkProjectDocumentsOnly catches up the documents projector alone.
func BenchmarkProjectDocumentsOnly(b *testing.B) {
	benchProject(b, func() []projections.Projector { return []projections.Projector{projections.Documents{}} })
}
