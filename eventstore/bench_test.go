package eventstore_test

import (
	"context"
	"encoding/json"
	"flag"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
)

// Every benchmark here runs its operations from -bench-concurrency
// goroutines, 16 by default (b.RunParallel with b.SetParallelism, see
// setConcurrency), so that synchronous publish round-trips overlap as they
// do under load from many HTTP requests. The raw publish baselines use the
// same concurrency, the same stream and a payload of the same size, so the
// ratios between benchmarks of one run compare like with like.
var benchConcurrency = flag.Int("bench-concurrency", 16, "goroutines per eventstore benchmark (rounded up to a multiple of GOMAXPROCS)")

// benchTimeout bounds one run of a benchmark function.
const benchTimeout = 2 * time.Minute

const benchTenant = "bench"

// setConcurrency makes RunParallel start -bench-concurrency goroutines
// (rounded up to a multiple of GOMAXPROCS) and returns how many it starts.
func setConcurrency(b *testing.B) int {
	procs := runtime.GOMAXPROCS(0)
	p := max(1, (*benchConcurrency+procs-1)/procs)
	b.SetParallelism(p)
	return p * procs
}

// benchStore starts an embedded server (fsyncing every write when
// syncAlways) with Tally's stream on it.
func benchStore(b *testing.B, syncAlways bool) (*eventstore.Store, *nats.Conn) {
	b.Helper()
	if !syncAlways {
		return eventstoretest.Start(b)
	}
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: b.TempDir(), SyncAlways: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	nc, err := srv.Connect("bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	store, err := eventstore.Open(context.Background(), nc, eventstore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return store, nc
}

// benchCtx is cancelled after benchTimeout; every operation fails from then
// on, so a stuck benchmark ends instead of hanging.
func benchCtx(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	b.Cleanup(cancel)
	return ctx
}

// benchUploaded is a DocumentUploaded envelope for a new document, shaped as
// commands.Handler builds it (UUIDv7 ids, command id, realistic payload).
func benchUploaded(b *testing.B, doc string) domain.Envelope {
	now := time.Now().UTC()
	e, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), benchTenant, doc, domain.TypeDocumentUploaded, now,
		domain.DocumentUploaded{
			Source: domain.SourceUpload, Filename: "invoice-2026-03.pdf", ContentType: "application/pdf", Size: 48213,
			SHA256:  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			BlobKey: benchTenant + "/" + now.Format("2006/01") + "/" + doc + ".pdf",
			User:    &domain.User{Name: "Ann Example", Email: "ann@example.com"}, UploadedAt: now, Attempt: 1,
		})
	if err != nil {
		b.Error(err)
	}
	e.CommandID = "upload:" + doc
	e.CausationID = e.CommandID
	return e
}

func benchStarted(b *testing.B, doc string, attempt int) domain.Envelope {
	e, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), benchTenant, doc, domain.TypeExtractionStarted,
		time.Now(), domain.ExtractionStarted{Attempt: attempt, Worker: "bench-worker-1"})
	if err != nil {
		b.Error(err)
	}
	e.CommandID = uuid.NewString()
	e.CausationID = e.CommandID
	return e
}

func benchDoc() string { return uuid.Must(uuid.NewV7()).String() }

func benchReport(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "events/s")
}

// benchRawPublish publishes a pre-encoded DocumentUploaded envelope of the same
// size as Append's to a fresh subject of the same stream, with no headers:
// no message id (no dedup check), no expected sequence. Unlike Append it
// does not build and encode an envelope per operation.
func benchRawPublish(b *testing.B, syncAlways bool) {
	_, nc := benchStore(b, syncAlways)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	payload, err := json.Marshal(benchUploaded(b, benchDoc()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := benchCtx(b)
	setConcurrency(b)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			subject := "tally.events." + benchTenant + ".document." + benchDoc()
			if _, err := js.Publish(ctx, subject, payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
	benchReport(b, 1)
}

// BenchmarkRawPublish is the baseline for BenchmarkAppend.
func BenchmarkRawPublish(b *testing.B) { benchRawPublish(b, false) }

// BenchmarkRawPublishSyncAlways is the baseline for BenchmarkAppendSyncAlways.
func BenchmarkRawPublishSyncAlways(b *testing.B) { benchRawPublish(b, true) }

// benchAppendNew appends one DocumentUploaded to a new aggregate per operation,
// as an upload does.
func benchAppendNew(b *testing.B, syncAlways bool) {
	store, _ := benchStore(b, syncAlways)
	ctx := benchCtx(b)
	payload, err := json.Marshal(benchUploaded(b, benchDoc()))
	if err != nil {
		b.Fatal(err)
	}
	setConcurrency(b)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := store.Append(ctx, benchUploaded(b, benchDoc()), 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
	benchReport(b, 1)
}

func BenchmarkAppend(b *testing.B) { benchAppendNew(b, false) }

func BenchmarkAppendSyncAlways(b *testing.B) { benchAppendNew(b, true) }

// BenchmarkAppendExisting appends to aggregates that already have a
// history, with the right expected sequence: each goroutine owns one
// aggregate and tracks its last sequence.
func BenchmarkAppendExisting(b *testing.B) {
	store, _ := benchStore(b, false)
	ctx := benchCtx(b)
	goroutines := setConcurrency(b)
	type owned struct {
		doc     string
		last    uint64
		attempt int
	}
	// Before the timer: one aggregate per goroutine with an upload and
	// four more events.
	pool := make(chan *owned, goroutines)
	for range goroutines {
		o := &owned{doc: benchDoc(), attempt: 1}
		seq, err := store.Append(ctx, benchUploaded(b, o.doc), 0)
		if err != nil {
			b.Fatal(err)
		}
		o.last = seq
		for range 4 {
			if o.last, err = store.Append(ctx, benchStarted(b, o.doc, o.attempt), o.last); err != nil {
				b.Fatal(err)
			}
			o.attempt++
		}
		pool <- o
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		o := <-pool
		for pb.Next() {
			seq, err := store.Append(ctx, benchStarted(b, o.doc, o.attempt), o.last)
			if err != nil {
				b.Error(err)
				return
			}
			o.last = seq
			o.attempt++
		}
	})
	benchReport(b, 1)
}

// BenchmarkAppendBatch2 appends an atomic batch of two uploads of two new
// aggregates per operation.
func BenchmarkAppendBatch2(b *testing.B) {
	store, _ := benchStore(b, false)
	ctx := benchCtx(b)
	setConcurrency(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			batch := []eventstore.Pending{
				{Event: benchUploaded(b, benchDoc()), Expected: 0},
				{Event: benchUploaded(b, benchDoc()), Expected: 0},
			}
			if _, err := store.AppendBatch(ctx, batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	benchReport(b, 2)
}
