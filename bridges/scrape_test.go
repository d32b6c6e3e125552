package bridges_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"tally/blob"
	"tally/bridges"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/metrics"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/queue"
	"tally/queue/queuetest"
)

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

// The bridge turns an upload into a job on the scrape queue, and a retry
// with a backoff into a job on the delay queue that expires when the
// backoff is over; events that ask for no extraction make no job.
// newCommands runs commands on a stream, a database and a blob directory
// of the test's own.
func newCommands(t *testing.T) (*eventstore.Store, *commands.Handler) {
	t.Helper()
	events, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return events, commands.New(events, blobs, slog.New(slog.DiscardHandler), commands.WithPeople(personal.New(pool)))
}

// startScrape runs a bridge until the test ends or stop is called.
func startScrape(t *testing.T, events *eventstore.Store, cmds *commands.Handler, topo queue.Topology) (m *metrics.Metrics, stop func()) {
	log := slog.New(slog.DiscardHandler)
	m = metrics.New()
	b := &bridges.Scrape{Events: events, Docs: cmds.Documents(), Metrics: m, Log: log,
		Session: &queue.Session{URL: queuetest.URL(), Topology: topo, Log: log}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return m, stop
}

func TestScrapeRelaysExtractionRequests(t *testing.T) {
	ctx := context.Background()
	events, cmds := newCommands(t)
	topo := queuetest.Topology(t)
	ch := queuetest.Channel(t)
	// Declared before the bridge runs: a get from a queue the bridge has
	// not declared yet would fail with 404 and close the channel.
	if err := topo.Declare(ch); err != nil {
		t.Fatal(err)
	}
	m, _ := startScrape(t, events, cmds, topo)

	meta := commands.Meta{Tenant: "acme", CorrelationID: "req-1"}
	up, err := cmds.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Filename: "a.pdf", Content: []byte(pdf),
		User: domain.User{Email: "ann@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cmds.Documents().Load(ctx, "acme", up.DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := queuetest.Get(t, ch, topo.Queue, 20*time.Second)
	if !ok {
		t.Fatal("no job for the upload")
	}
	job, err := queue.Decode(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := queue.Job{ID: queue.JobID(up.DocumentID, 1), Tenant: "acme", DocumentID: up.DocumentID, Attempt: 1,
		BlobKey: doc.BlobKey, ContentType: doc.ContentType, CorrelationID: "req-1"}
	job.RequestedAt = time.Time{}
	if job != want || d.MessageId != want.ID || d.CorrelationId != "req-1" || d.DeliveryMode != 2 {
		t.Fatalf("job %+v (message id %q, mode %d), want %+v", job, d.MessageId, d.DeliveryMode, want)
	}
	_ = d.Ack(false)

	// Attempt 1 fails for a reason that may pass; attempt 2 may start in
	// an hour.
	if _, err := cmds.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: up.DocumentID, Attempt: 1, Worker: "w"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cmds.RetryExtraction(ctx, commands.RetryExtraction{Meta: meta, DocumentID: up.DocumentID, Attempt: 1,
		LastError: "timeout", NotBefore: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	d, ok = queuetest.Get(t, ch, topo.Delay(), 20*time.Second)
	if !ok {
		t.Fatal("no delayed job for the retry")
	}
	job, err = queue.Decode(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if job.ID != queue.JobID(up.DocumentID, 2) || job.Attempt != 2 || job.BlobKey != doc.BlobKey {
		t.Fatalf("retry job %+v", job)
	}
	ms, err := strconv.Atoi(d.Expiration)
	if err != nil || ms < int((59*time.Minute).Milliseconds()) || ms > int(time.Hour.Milliseconds()) {
		t.Fatalf("retry job expires in %q ms, want about an hour", d.Expiration)
	}
	_ = d.Ack(false)
	// The bridge counts a job after its broker confirm, which can arrive
	// after the job is already readable.
	waitCounted(t, m.Relayed, 2)
	// ExtractionStarted and the rest ask for nothing.
	if n, err := queue.QueueDepth(ch, topo.Queue); err != nil || n != 0 {
		t.Fatalf("scrape queue holds %d jobs (%v), want none", n, err)
	}
}

// A bridge that starts again relays nothing twice: each event was
// acknowledged after its job was confirmed.
func TestScrapeRestartRelaysNothingTwice(t *testing.T) {
	ctx := context.Background()
	events, cmds := newCommands(t)
	topo := queuetest.Topology(t)
	ch := queuetest.Channel(t)
	// Declared first: a passive look at a queue that does not exist yet
	// would close the channel.
	if err := topo.Declare(ch); err != nil {
		t.Fatal(err)
	}
	run := func() *metrics.Metrics {
		m, stop := startScrape(t, events, cmds, topo)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if n, err := queue.QueueDepth(ch, topo.Queue); err == nil && n == 3 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Give a relay of anything left a moment before stopping.
		time.Sleep(300 * time.Millisecond)
		stop()
		return m
	}
	for i := range 3 {
		if _, err := cmds.UploadInvoice(ctx, commands.UploadInvoice{Meta: commands.Meta{Tenant: "acme"},
			Content: []byte(pdf + strconv.Itoa(i)), User: domain.User{Email: "ann@example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := counted(run().Relayed); got != 3 {
		t.Fatalf("first run relayed %v, want 3", got)
	}
	if got := counted(run().Relayed); got != 0 {
		t.Fatalf("second run relayed %v again, want 0", got)
	}
	if n, err := queue.QueueDepth(ch, topo.Queue); err != nil || n != 3 {
		t.Fatalf("scrape queue holds %d jobs (%v), want 3", n, err)
	}
}

// waitCounted waits up to 10 s for a counter to reach want.
func waitCounted(t *testing.T, c prometheus.Counter, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for counted(c) < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := counted(c); got != want {
		t.Fatalf("relayed %v jobs, want %v", got, want)
	}
}

// counted reads a counter's value.
func counted(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
