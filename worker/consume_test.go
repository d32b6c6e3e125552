package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore/eventstoretest"
	"tally/extract"
	"tally/metrics"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/queue"
	"tally/queue/queuetest"
	"tally/worker"
)

const receipt = "From: Corner Shop <shop@example.com>\r\n" +
	"To: Ann <ann@example.com>\r\n" +
	"Subject: Your receipt\r\n" +
	"Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <r1@example.com>\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Corner Shop\r\nReceipt 1042\r\nDate: 2026-11-03\r\nCoffee 3.50\r\nTotal: EUR 12.50\r\n"

// env is a worker consuming a scrape queue of its own, on the real broker,
// stream and blob directory.
type env struct {
	t       *testing.T
	cmds    *commands.Handler
	blobs   blob.Store
	topo    queue.Topology
	ch      *amqp.Channel
	cfg     worker.Config
	metrics *metrics.Metrics
	stopFn  func()
}

func newEnv(t *testing.T, cfg worker.Config) *env {
	t.Helper()
	events, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	e := &env{t: t, cmds: commands.New(events, blobs, log, commands.WithPeople(personal.New(pool))), blobs: blobs,
		topo: queuetest.Topology(t), ch: queuetest.Channel(t), cfg: cfg, metrics: metrics.New()}
	if err := e.topo.Declare(e.ch); err != nil {
		t.Fatal(err)
	}
	if err := e.ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	w := worker.New(cfg, e.cmds, blobs, extract.New(extract.Limits{}), e.metrics, log)
	s := &queue.Session{URL: queuetest.URL(), Topology: e.topo, Log: log, Prefetch: 2}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, func(ctx context.Context, ch *amqp.Channel) error { return w.Consume(ctx, ch, e.topo, 2) })
	}()
	e.stopFn = func() { cancel(); <-done }
	t.Cleanup(e.stop)
	return e
}

func (e *env) stop() {
	if e.stopFn != nil {
		e.stopFn()
		e.stopFn = nil
	}
}

// submit stores the receipt and returns its document.
func (e *env) submit() *domain.Document {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.cmds.SubmitEmailReceipt(ctx, commands.SubmitEmailReceipt{Meta: commands.Meta{Tenant: "acme"}, Raw: []byte(receipt)})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.load(res.DocumentID)
}

func (e *env) load(id string) *domain.Document {
	e.t.Helper()
	d, err := e.cmds.Documents().Load(context.Background(), "acme", id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// lose deletes the document's file, so fetching it fails.
func (e *env) lose(d *domain.Document) {
	e.t.Helper()
	if err := e.blobs.Delete(context.Background(), d.BlobKey); err != nil {
		e.t.Fatal(err)
	}
}

// publish puts jobs on the scrape queue as the bridge does.
func (e *env) publish(jobs ...queue.Job) {
	e.t.Helper()
	var msgs []amqp.Publishing
	for _, j := range jobs {
		body, _ := json.Marshal(j)
		msgs = append(msgs, amqp.Publishing{MessageId: j.ID, DeliveryMode: amqp.Persistent, Body: body})
	}
	if err := queue.PublishConfirmed(context.Background(), e.ch, e.topo.Queue, true, msgs...); err != nil {
		e.t.Fatal(err)
	}
}

func jobFor(d *domain.Document) queue.Job {
	return queue.Job{ID: queue.JobID(d.ID, d.Attempt), Tenant: "acme", DocumentID: d.ID, Attempt: d.Attempt,
		BlobKey: d.BlobKey, ContentType: d.ContentType}
}

// until waits for the document to satisfy ok.
func (e *env) until(id, what string, ok func(*domain.Document) bool) *domain.Document {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d := e.load(id)
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("document %s never %s: status %s, attempt %d, reason %q", id, what, d.Status, d.Attempt, d.FailureReason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// drained waits until the scrape queue holds no job, ready or in hand.
func (e *env) drained() {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		q, err := e.ch.QueueDeclarePassive(e.topo.Queue, true, false, false, false, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		if q.Messages == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("scrape queue still holds %d jobs", q.Messages)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A job becomes the document's extracted fields; the same job delivered
// again (the bridge relayed it twice) records nothing more.
// TestHeartbeatWhileConsuming: the heartbeat TallyNoWorker watches goes
// on while the worker consumes the queue and stands still once it stops.
func TestHeartbeatWhileConsuming(t *testing.T) {
	e := newEnv(t, worker.Config{})
	beat := func() float64 { return testutil.ToFloat64(e.metrics.WorkerHeartbeat) }
	waitBeat := func(after float64) float64 {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if b := beat(); b > after {
				return b
			}
		}
		t.Fatalf("no heartbeat after %v while consuming", after)
		return 0
	}
	first := waitBeat(0)
	if age := time.Since(time.Unix(int64(first), 0)); age > 5*time.Second {
		t.Fatalf("heartbeat %s old", age)
	}
	waitBeat(first)
	e.stop()
	stopped := beat()
	time.Sleep(6 * time.Second)
	if beat() != stopped {
		t.Fatal("the heartbeat went on after the worker stopped consuming")
	}
}

func TestWorkerExtractsAJobOnce(t *testing.T) {
	e := newEnv(t, worker.Config{Name: "w1"})
	d := e.submit()
	e.publish(jobFor(d))
	done := e.until(d.ID, "completed", func(d *domain.Document) bool { return d.Status == domain.StatusCompleted })
	if done.Fields == nil || done.Fields.Total == "" {
		t.Fatalf("completed without a total: %+v", done.Fields)
	}
	e.publish(jobFor(d))
	e.drained()
	e.stop()
	if again := e.load(d.ID); again.Version != done.Version {
		t.Fatalf("a job delivered twice appended %d more events", again.Version-done.Version)
	}
}

// A job whose file cannot be fetched is retried after a backoff that
// follows the configured base; past the last attempt the document fails.
func TestWorkerRetriesThenFails(t *testing.T) {
	base := time.Hour
	e := newEnv(t, worker.Config{Name: "w1", MaxAttempts: 2, BackoffBase: base, BackoffMax: 4 * base})
	d := e.submit()
	job := jobFor(d)
	e.lose(d)
	before := time.Now()
	e.publish(job)
	retried := e.until(d.ID, "retried", func(d *domain.Document) bool { return d.Attempt == 2 })
	if retried.Status != domain.StatusPending {
		t.Fatalf("after a failed first attempt: status %s", retried.Status)
	}
	history, err := e.cmds.Documents().History(context.Background(), "acme", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	var req domain.ExtractionRequested
	if err := history[len(history)-1].Decode(&req); err != nil || req.NotBefore == nil {
		t.Fatalf("last event %s, %v: want an ExtractionRequested with a not-before", history[len(history)-1].Type, err)
	}
	if wait := req.NotBefore.Sub(before); wait < base/2 || wait > base*3/2+time.Minute {
		t.Fatalf("retry in %s, want within half to one and a half of %s", wait, base)
	}
	job.Attempt, job.ID = 2, queue.JobID(d.ID, 2)
	e.publish(job)
	failed := e.until(d.ID, "failed", func(d *domain.Document) bool { return d.Status == domain.StatusFailed })
	if failed.FailureReason == "" {
		t.Fatal("failed without a reason")
	}
}

// An error the configuration calls permanent fails the document at once.
func TestWorkerPermanentErrorFailsAtOnce(t *testing.T) {
	e := newEnv(t, worker.Config{Name: "w1", MaxAttempts: 5,
		IsPermanent: func(err error) bool { return errors.Is(err, blob.ErrNotFound) }})
	d := e.submit()
	e.lose(d)
	e.publish(jobFor(d))
	failed := e.until(d.ID, "failed", func(d *domain.Document) bool { return d.Status == domain.StatusFailed })
	if failed.Attempt != 1 {
		t.Fatalf("failed at attempt %d, want 1", failed.Attempt)
	}
}

// A job that names an attempt the document has moved past is skipped.
func TestWorkerSkipsAStaleAttempt(t *testing.T) {
	e := newEnv(t, worker.Config{Name: "w1"})
	d := e.submit()
	e.publish(jobFor(d))
	done := e.until(d.ID, "completed", func(d *domain.Document) bool { return d.Status == domain.StatusCompleted })
	stale := jobFor(d)
	stale.Attempt, stale.ID = 7, queue.JobID(d.ID, 7)
	e.publish(stale)
	e.drained()
	e.stop()
	if again := e.load(d.ID); again.Version != done.Version || again.Status != domain.StatusCompleted {
		t.Fatalf("stale job changed the document: version %d→%d, status %s", done.Version, again.Version, again.Status)
	}
}

// A message that is no job is dead-lettered, then dropped from the
// dead-letter queue, and touches no document.
func TestWorkerDropsAMalformedJob(t *testing.T) {
	e := newEnv(t, worker.Config{Name: "w1"})
	if err := queue.PublishConfirmed(context.Background(), e.ch, e.topo.Queue, true,
		amqp.Publishing{MessageId: "junk", Body: []byte(`{"tenant":""}`)}); err != nil {
		t.Fatal(err)
	}
	e.drained()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := queue.QueueDepth(e.ch, e.topo.Dead())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead-letter queue still holds %d", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
