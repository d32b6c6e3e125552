package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/netguard"
	"tally/personal"
	"tally/webhooks"
)

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

// env is a real event store, database and command handler, with one
// tenant.
type env struct {
	t      *testing.T
	events *eventstore.Store
	store  *webhooks.Store
	cmds   *commands.Handler
	tenant string
	log    *slog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	events, _ := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	store, err := webhooks.Open(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	return &env{t: t, events: events, store: store, cmds: commands.New(events, blobs, log, commands.WithPeople(personal.New(pool))),
		tenant: "t" + strings.ReplaceAll(uuid.NewString()[:8], "-", ""), log: log}
}

// fastSender retries within milliseconds, so tests do not wait out real
// backoffs.
func fastSender() webhooks.SenderConfig {
	return webhooks.SenderConfig{Timeout: 2 * time.Second, RetryPeriod: time.Minute, AllowPrivate: true,
		FirstBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond, PollInterval: 20 * time.Millisecond}
}

// run starts a dispatcher (with the given durable name) and a sender until
// the test ends.
func (e *env) run(durable string, cfg webhooks.SenderConfig) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sender := webhooks.NewSender(e.store, cfg, e.log)
	d := &webhooks.Dispatcher{Events: e.events, Store: e.store, Log: e.log, Durable: durable, OnDelivery: sender.Wake}
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.Run(ctx) })
	wg.Go(func() { _ = sender.Run(ctx) })
	e.t.Cleanup(func() { cancel(); wg.Wait() })
}

// upload appends DocumentUploaded and ExtractionStarted for a new
// document and returns its id.
func (e *env) upload() string {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.cmds.UploadInvoice(ctx, commands.UploadInvoice{Meta: commands.Meta{Tenant: e.tenant},
		Source: domain.SourceUpload, Filename: "a.pdf", Content: []byte(pdf), User: domain.User{Email: "ann@example.com"}})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: commands.Meta{Tenant: e.tenant},
		DocumentID: res.DocumentID, Attempt: 1}); err != nil {
		e.t.Fatal(err)
	}
	return res.DocumentID
}

// complete makes a document COMPLETED (ReceiptExtracted).
func (e *env) complete(total string) string {
	e.t.Helper()
	id := e.upload()
	if _, err := e.cmds.RecordExtraction(context.Background(), commands.RecordExtraction{Meta: commands.Meta{Tenant: e.tenant},
		DocumentID: id, Attempt: 1, Fields: domain.Fields{Vendor: "Corner Shop", Total: total, Currency: "EUR"}}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) register(url string, events ...string) (webhooks.Endpoint, string) {
	e.t.Helper()
	ep, secret, err := e.store.Create(context.Background(), e.tenant, webhooks.EndpointSpec{URL: url, Events: events})
	if err != nil {
		e.t.Fatal(err)
	}
	return ep, secret
}

func (e *env) deliveries(ep webhooks.Endpoint) []webhooks.Delivery {
	e.t.Helper()
	ds, err := e.store.Deliveries(context.Background(), ep.ID, 0, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func eventually(t *testing.T, what string, within time.Duration, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if check() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", within, what)
}

// request is what a receiver saw.
type request struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a real HTTP server answering with status(n) to its n-th
// request (from 1).
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, request{header: req.Header.Clone(), body: body, at: time.Now()})
		n := len(r.reqs)
		r.mu.Unlock()
		w.WriteHeader(status(n))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// TestFailingThreeTimesThenSucceeding is the promise of webhooks: a
// receiver that fails three times then succeeds gets exactly one
// successful delivery and four recorded attempts, each signed, all with
// the same id and body.
func TestFailingThreeTimesThenSucceeding(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(n int) int {
		if n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	ep, secret := e.register(rcv.URL+"/hooks", webhooks.EventCompleted)
	e.run("", fastSender())
	docID := e.complete("12.50")

	eventually(t, "the delivery to succeed", 20*time.Second, func() bool {
		ds := e.deliveries(ep)
		return len(ds) == 1 && ds[0].State == webhooks.StateSucceeded
	})
	time.Sleep(300 * time.Millisecond) // room for a wrong extra attempt to show
	reqs := rcv.requests()
	if len(reqs) != 4 {
		t.Fatalf("receiver got %d requests, want 4", len(reqs))
	}
	history, err := e.cmds.Documents().History(context.Background(), e.tenant, docID)
	if err != nil {
		t.Fatal(err)
	}
	event := history[len(history)-1]
	for i, r := range reqs {
		if got := r.header.Get("webhook-id"); got != event.ID {
			t.Errorf("request %d: webhook-id %q, want the event id %q", i+1, got, event.ID)
		}
		if string(r.body) != string(reqs[0].body) {
			t.Errorf("request %d: body differs from the first", i+1)
		}
		if r.header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: content type %q", i+1, r.header.Get("Content-Type"))
		}
		if err := webhooks.Verify(secret, r.header.Get("webhook-id"), r.header.Get("webhook-timestamp"),
			r.header.Get("webhook-signature"), r.body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("request %d: signature: %v", i+1, err)
		}
		if i > 0 && !r.at.After(reqs[i-1].at.Add(9*time.Millisecond)) {
			t.Errorf("request %d came %s after the previous one: no backoff", i+1, r.at.Sub(reqs[i-1].at))
		}
	}
	var p webhooks.Payload
	if err := json.Unmarshal(reqs[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != webhooks.EventCompleted || p.Data.DocumentID != docID || p.Data.EventID != event.ID ||
		p.Data.Sequence != event.Sequence || p.Data.Tenant != e.tenant || p.Data.Status != domain.StatusCompleted ||
		p.Data.Fields == nil || p.Data.Fields.Total != "12.50" || !p.Timestamp.Equal(event.OccurredAt) {
		t.Fatalf("payload %s", reqs[0].body)
	}
	if strings.Contains(string(reqs[0].body), "ann@example.com") {
		t.Fatal("the payload carries the user's e-mail address")
	}

	d := e.deliveries(ep)[0]
	if d.Attempts != 4 || len(d.Log) != 4 || d.EventID != event.ID || d.DocumentID != docID ||
		d.LastStatus == nil || *d.LastStatus != 204 || d.SettledAt == nil || d.NextAttemptAt != nil {
		t.Fatalf("delivery %+v", d)
	}
	for i, a := range d.Log {
		want := 500
		if i == 3 {
			want = 204
		}
		if a.StatusCode == nil || *a.StatusCode != want {
			t.Errorf("attempt %d: status %v, want %d", i+1, a.StatusCode, want)
		}
		if (want == 500) != (a.Error == "HTTP 500 Internal Server Error") {
			t.Errorf("attempt %d: error %q", i+1, a.Error)
		}
		if i > 0 && a.At.Before(d.Log[i-1].At) {
			t.Errorf("attempts out of order: %v", d.Log)
		}
	}
}

// TestReplayAddsNoDelivery: the same events seen again (a restarted
// dispatcher, a second consumer reading the stream from the start, a
// handler called twice) add no delivery and send nothing.
func TestReplayAddsNoDelivery(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return 200 })
	ep, _ := e.register(rcv.URL, webhooks.EventCompleted, webhooks.EventFailed)
	e.complete("1.00")
	e.complete("2.00")

	ctx, cancel := context.WithCancel(context.Background())
	d := &webhooks.Dispatcher{Events: e.events, Store: e.store, Log: e.log}
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	eventually(t, "two deliveries", 10*time.Second, func() bool { return len(e.deliveries(ep)) == 2 })
	cancel()
	<-done

	// The stream read again from its first event, by a fresh consumer.
	reader, err := e.events.Subscribe(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	last, _ := e.events.LastSequence(context.Background())
	var seen uint64
	for seen < last {
		batch, err := reader.Next(context.Background(), 100, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range batch {
			seen = ev.Sequence
			n, err := d.Handle(context.Background(), ev)
			if err != nil || n != 0 {
				t.Fatalf("handling %s again added %d deliveries (%v)", ev.Type, n, err)
			}
		}
	}
	// The same durable dispatcher restarted, and a second one with its own
	// consumer from the beginning, with a sender this time.
	e.run("", fastSender())
	e.run("webhooks-replay", fastSender())
	eventually(t, "both delivered", 10*time.Second, func() bool {
		ds := e.deliveries(ep)
		return len(ds) == 2 && ds[0].State == webhooks.StateSucceeded && ds[1].State == webhooks.StateSucceeded
	})
	time.Sleep(500 * time.Millisecond)
	if n := len(rcv.requests()); n != 2 {
		t.Fatalf("receiver got %d requests, want 2", n)
	}
	ids := map[string]bool{}
	for _, r := range rcv.requests() {
		ids[r.header.Get("webhook-id")] = true
	}
	if len(ids) != 2 {
		t.Fatalf("webhook ids %v", ids)
	}
}

// TestRetryPeriodOver: a receiver that never succeeds gets retries until
// the retry period is over; the delivery then fails for good, every
// attempt recorded, and nothing more is sent.
func TestRetryPeriodOver(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	ep, _ := e.register(rcv.URL, webhooks.EventCompleted)
	cfg := fastSender()
	cfg.RetryPeriod = 400 * time.Millisecond
	cfg.FirstBackoff, cfg.MaxBackoff = 40*time.Millisecond, 100*time.Millisecond
	e.run("", cfg)
	e.complete("3.00")

	eventually(t, "the delivery to fail for good", 10*time.Second, func() bool {
		ds := e.deliveries(ep)
		return len(ds) == 1 && ds[0].State == webhooks.StateFailed
	})
	d := e.deliveries(ep)[0]
	n := len(rcv.requests())
	if d.Attempts < 2 || len(d.Log) != d.Attempts || n != d.Attempts {
		t.Fatalf("attempts %d, logged %d, received %d", d.Attempts, len(d.Log), n)
	}
	if d.LastStatus == nil || *d.LastStatus != 503 || d.LastError != "HTTP 503 Service Unavailable" || d.SettledAt == nil {
		t.Fatalf("delivery %+v", d)
	}
	if last := d.Log[len(d.Log)-1].At; last.Sub(d.CreatedAt) > cfg.RetryPeriod+time.Second {
		t.Fatalf("last attempt %s after the delivery was made, period %s", last.Sub(d.CreatedAt), cfg.RetryPeriod)
	}
	time.Sleep(400 * time.Millisecond)
	if got := len(rcv.requests()); got != n {
		t.Fatalf("%d more requests after failing for good", got-n)
	}
}

// TestDeadEndpointDoesNotDelayOthers: an endpoint that never answers holds
// at most PerEndpoint senders for Timeout each; a healthy endpoint of the
// same tenant gets all its deliveries meanwhile, long before the dead
// one's first timeout.
func TestDeadEndpointDoesNotDelayOthers(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })
	healthy := newReceiver(t, func(int) int { return 200 })
	dead, _ := e.register(hanging.URL, webhooks.EventCompleted)
	alive, _ := e.register(healthy.URL, webhooks.EventCompleted)
	cfg := fastSender()
	cfg.Timeout, cfg.Concurrency, cfg.PerEndpoint = 3*time.Second, 4, 2
	e.run("", cfg)

	const docs = 8
	start := time.Now()
	for i := range docs {
		e.complete(fmt.Sprintf("%d.00", i+1))
	}
	eventually(t, "every delivery to the healthy endpoint, recorded", 10*time.Second, func() bool {
		ds := e.deliveries(alive)
		for _, d := range ds {
			if d.State != webhooks.StateSucceeded {
				return false
			}
		}
		return len(ds) == docs
	})
	took := time.Since(start)
	if took >= cfg.Timeout {
		t.Fatalf("the healthy endpoint waited %s, as long as the dead one's timeout %s", took, cfg.Timeout)
	}
	t.Logf("%d deliveries to the healthy endpoint in %s beside a dead one", docs, took)
	if n := len(healthy.requests()); n != docs {
		t.Fatalf("the healthy endpoint got %d requests, want %d", n, docs)
	}
	for _, d := range e.deliveries(alive) {
		if d.Attempts != 1 {
			t.Fatalf("healthy delivery %+v", d)
		}
	}
	eventually(t, "the dead endpoint's first timeouts to be recorded", 10*time.Second, func() bool {
		for _, d := range e.deliveries(dead) {
			if len(d.Log) > 0 {
				return d.Log[0].StatusCode == nil && d.Log[0].Error == netguard.Reason && d.State == webhooks.StatePending
			}
		}
		return false
	})
}

// TestEventTypesAndSubscriptions: failures and revisions become their own
// event types; an endpoint gets only what it subscribed to, only events
// after its registration, and nothing once deleted.
func TestEventTypesAndSubscriptions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := e.complete("9.99") // before any endpoint exists
	all := newReceiver(t, func(int) int { return 200 })
	onlyFailed := newReceiver(t, func(int) int { return 200 })
	allEp, _ := e.register(all.URL, webhooks.EventCompleted, webhooks.EventFailed, webhooks.EventRevised)
	e.register(onlyFailed.URL, webhooks.EventFailed)
	e.run("", fastSender())

	failedID := e.upload()
	if _, err := e.cmds.FailExtraction(ctx, commands.FailExtraction{Meta: commands.Meta{Tenant: e.tenant},
		DocumentID: failedID, Attempt: 1, Reason: "not an invoice"}); err != nil {
		t.Fatal(err)
	}
	revisedID := e.complete("5.00")
	if _, err := e.cmds.RequestReprocess(ctx, commands.RequestReprocess{Meta: commands.Meta{Tenant: e.tenant}, DocumentID: revisedID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cmds.StartExtraction(ctx, commands.StartExtraction{Meta: commands.Meta{Tenant: e.tenant}, DocumentID: revisedID, Attempt: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cmds.RecordExtraction(ctx, commands.RecordExtraction{Meta: commands.Meta{Tenant: e.tenant},
		DocumentID: revisedID, Attempt: 2, Fields: domain.Fields{Vendor: "Corner Shop", Total: "5.50", Currency: "EUR"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three deliveries to the first endpoint, one to the second", 10*time.Second, func() bool {
		return len(all.requests()) == 3 && len(onlyFailed.requests()) == 1
	})
	got := map[string]webhooks.Payload{}
	for _, r := range all.requests() {
		var p webhooks.Payload
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		got[p.Type] = p
		if p.Data.DocumentID == before {
			t.Fatal("an endpoint got an event from before its registration")
		}
	}
	if f := got[webhooks.EventFailed]; f.Data.DocumentID != failedID || f.Data.Status != domain.StatusFailed || f.Data.Reason != "not an invoice" {
		t.Fatalf("failed: %+v", f)
	}
	r := got[webhooks.EventRevised]
	if r.Data.DocumentID != revisedID || r.Data.Attempt != 2 || r.Data.Fields.Total != "5.50" ||
		r.Data.Changes["total"] != (domain.FieldChange{From: "5.00", To: "5.50"}) {
		t.Fatalf("revised: %+v", r)
	}
	if c := got[webhooks.EventCompleted]; c.Data.DocumentID != revisedID || c.Data.Attempt != 1 {
		t.Fatalf("completed: %+v", c)
	}

	// Another tenant's document reaches nobody here.
	other := *e
	other.tenant = "other" + e.tenant
	other.complete("1.00")
	if err := e.store.Delete(ctx, e.tenant, allEp.ID); err != nil {
		t.Fatal(err)
	}
	e.complete("7.00")
	time.Sleep(500 * time.Millisecond)
	if n := len(all.requests()); n != 3 {
		t.Fatalf("%d requests to the endpoint, want still 3", n)
	}
}

func TestValidate(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		spec webhooks.EndpointSpec
		want string
	}{
		{webhooks.EndpointSpec{Events: []string{"document.completed"}}, "url is required"},
		{webhooks.EndpointSpec{URL: "ftp://x/y", Events: []string{"document.completed"}}, `url must be an absolute http:// or https:// URL (got scheme "ftp")`},
		{webhooks.EndpointSpec{URL: "/hooks", Events: []string{"document.completed"}}, "absolute"},
		{webhooks.EndpointSpec{URL: "https://", Events: []string{"document.completed"}}, "url has no host"},
		{webhooks.EndpointSpec{URL: "https://u:p@h.example/", Events: []string{"document.completed"}}, "must not carry credentials"},
		{webhooks.EndpointSpec{URL: "https://h.example/#x", Events: []string{"document.completed"}}, "fragment"},
		{webhooks.EndpointSpec{URL: "https://h.example/", Events: nil}, "events must name at least one of document.completed, document.failed, document.revised"},
		{webhooks.EndpointSpec{URL: "https://h.example/", Events: []string{"document.deleted"}}, `event "document.deleted" is not one of`},
		{webhooks.EndpointSpec{URL: "https://h.example/", Events: []string{"document.failed"}, Format: "xml"}, `format "xml" is not one of event`},
		{webhooks.EndpointSpec{URL: "https://h.example/" + strings.Repeat("a", 2000), Events: []string{"document.failed"}}, "longer than 2000"},
	}
	for _, tc := range tests {
		_, _, err := e.store.Create(context.Background(), e.tenant, tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.spec, err, tc.want)
		}
	}
	spec, err := e.store.Validate(webhooks.EndpointSpec{URL: " https://h.example/in?x=1 ",
		Events: []string{"document.revised", "document.completed", "document.revised"}})
	if err != nil || spec.URL != "https://h.example/in?x=1" || spec.Format != "event" ||
		strings.Join(spec.Events, ",") != "document.completed,document.revised" {
		t.Fatalf("normalised %+v %v", spec, err)
	}
}

// TestUpsert: an endpoint Tally manages by name is made once, then updated
// in place with its id and secret kept.
func TestUpsert(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, secret, err := e.store.Upsert(ctx, e.tenant, "results", webhooks.EndpointSpec{URL: "https://a.example/", Events: []string{"document.completed"}})
	if err != nil || secret == "" {
		t.Fatalf("%v %q", err, secret)
	}
	second, secret2, err := e.store.Upsert(ctx, e.tenant, "results", webhooks.EndpointSpec{URL: "https://b.example/", Events: []string{"document.failed"}})
	if err != nil || secret2 != "" || second.ID != first.ID || second.URL != "https://b.example/" || second.Name != "results" {
		t.Fatalf("%+v %q %v", second, secret2, err)
	}
	eps, _ := e.store.List(ctx, e.tenant)
	if len(eps) != 1 || eps[0].URL != "https://b.example/" || eps[0].Events[0] != "document.failed" {
		t.Fatalf("%+v", eps)
	}
}

// TestPrivateAddressesRefused: by default a delivery does not reach a
// loopback address (the test receiver's), whatever name the URL uses; the
// attempt says why.
func TestPrivateAddressesRefused(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return 200 })
	byName := strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1)
	ep1, _ := e.register(rcv.URL, webhooks.EventCompleted)
	ep2, _ := e.register(byName, webhooks.EventCompleted)
	cfg := fastSender()
	cfg.AllowPrivate = false
	e.run("", cfg)
	e.complete("4.00")
	for _, ep := range []webhooks.Endpoint{ep1, ep2} {
		eventually(t, "a refused attempt", 10*time.Second, func() bool {
			ds := e.deliveries(ep)
			return len(ds) == 1 && len(ds[0].Log) > 0
		})
		a := e.deliveries(ep)[0].Log[0]
		if a.StatusCode != nil || a.Error != netguard.Reason {
			t.Fatalf("attempt %+v", a)
		}
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}

// TestConnectionErrorsAreNotEchoed: a closed port, a server that speaks
// no TLS and one that never answers all read the same to the tenant;
// the dial and TLS errors used to be recorded as they came, which made
// the attempts log a port scanner.
func TestConnectionErrorsAreNotEchoed(t *testing.T) {
	e := newEnv(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/hook"
	closed.Close()
	plain := newReceiver(t, func(int) int { return 200 })
	notTLS := strings.Replace(plain.URL, "http://", "https://", 1)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	var eps []webhooks.Endpoint
	for _, u := range []string{closedURL, notTLS, "http://" + silent.Addr().String() + "/"} {
		ep, _ := e.register(u, webhooks.EventCompleted)
		eps = append(eps, ep)
	}
	cfg := fastSender()
	cfg.Timeout = time.Second
	e.run("", cfg)
	e.complete("4.00")
	for _, ep := range eps {
		eventually(t, "a failed attempt", 10*time.Second, func() bool {
			ds := e.deliveries(ep)
			return len(ds) == 1 && len(ds[0].Log) > 0
		})
		d := e.deliveries(ep)[0]
		if a := d.Log[0]; a.StatusCode != nil || a.Error != netguard.Reason || d.LastError != netguard.Reason {
			t.Fatalf("%s: attempt %+v, last error %q", ep.URL, a, d.LastError)
		}
	}
}

// TestDeleteCancelsPending: deleting an endpoint cancels what it had not
// received yet; the deliveries stay readable.
func TestDeleteCancelsPending(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ep, _ := e.register("https://books.example/in", webhooks.EventCompleted)
	d, err := e.store.SendTest(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Delete(ctx, e.tenant, ep.ID); err != nil {
		t.Fatal(err)
	}
	ds := e.deliveries(ep)
	if len(ds) != 1 || ds[0].ID != d.ID || ds[0].State != webhooks.StateCancelled || ds[0].LastError != "endpoint deleted" {
		t.Fatalf("%+v", ds)
	}
	if _, err := e.store.Get(ctx, e.tenant, ep.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := e.store.Delete(ctx, e.tenant, ep.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestEndpointLimit(t *testing.T) {
	e := newEnv(t)
	for range webhooks.MaxEndpoints {
		e.register("https://books.example/in", webhooks.EventCompleted)
	}
	_, _, err := e.store.Create(context.Background(), e.tenant, webhooks.EndpointSpec{URL: "https://x.example/", Events: []string{webhooks.EventFailed}})
	if !errors.Is(err, webhooks.ErrInvalid) || !strings.Contains(err.Error(), "at most 25 endpoints") {
		t.Fatalf("%v", err)
	}
}
