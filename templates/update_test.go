package templates_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"tally/blob"
	"tally/domain"
	"tally/eventstore/eventstoretest"
	"tally/extract"
	"tally/migrations/pgtest"
	"tally/templates"
)

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeS3 serves a real S3-protocol server in-process and returns a blob
// store on a new bucket (to upload with) and its config.
func fakeS3(t *testing.T, bucket string) (*blob.S3, blob.S3Config) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	cfg := blob.S3Config{Bucket: bucket, Region: "us-east-1", Endpoint: srv.URL,
		AccessKeyID: "test-access-key", SecretAccessKey: "test-secret-key"}
	up, err := blob.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.EnsureBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	return up, cfg
}

// testSigner signs the bundles the tests publish; testVerifier trusts it.
var (
	testSigner   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	testVerifier = templates.Verifier{Keys: []ed25519.PublicKey{testSigner.Public().(ed25519.PublicKey)}}
)

// upload publishes a bundle with its signature beside it.
func upload(t *testing.T, s *blob.S3, key string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), "application/json"); err != nil {
		t.Fatal(err)
	}
	sig := templates.Sign(testSigner, data)
	if err := s.Put(t.Context(), key+templates.SignatureSuffix, bytes.NewReader(sig), int64(len(sig)), "text/plain"); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invoice returns examples/invoice.pdf, or its text when pdftotext is
// missing.
func invoice(t *testing.T) ([]byte, string) {
	if _, err := exec.LookPath("pdftotext"); err == nil {
		b, err := os.ReadFile("../examples/invoice.pdf")
		if err != nil {
			t.Fatal(err)
		}
		return b, "application/pdf"
	}
	parsed, err := templates.Parse(testdata(t, "bundle-2026.11.2.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range parsed.Samples {
		if s.Template == "acme-invoices" {
			return []byte(s.Text), "text/plain"
		}
	}
	t.Fatal("no ACME sample")
	return nil, ""
}

// TestTemplateUpdateCronHotSwap is the whole path: bundles published to S3,
// the update run, a worker's engine that was running all along, refusals,
// rollbacks and the events.
func TestTemplateUpdateCronHotSwap(t *testing.T) {
	ctx := t.Context()
	_, pool := pgtest.New(t)
	events, _ := eventstoretest.Start(t)
	up, s3cfg := fakeS3(t, "tally-templates")
	src, err := templates.NewS3Source(ctx, s3cfg, "bundles")
	if err != nil {
		t.Fatal(err)
	}
	store := templates.NewStore(pool, events)
	u := &templates.Updater{Store: store, Source: src, Signatures: testVerifier}

	// A worker: the engine consults the live bundle, refreshed every 50ms.
	live := templates.NewLive(pool, nil)
	liveCtx, stopLive := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { live.Run(liveCtx, 50*time.Millisecond) })
	t.Cleanup(func() { stopLive(); wg.Wait() })
	engine := extract.New(extract.Limits{}).WithTemplates(live)
	doc, contentType := invoice(t)
	extractDoc := func() domain.Fields {
		t.Helper()
		f, err := engine.Extract(ctx, doc, contentType)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}

	// Documents are matched all the while bundles switch (run with -race).
	stopMatching := make(chan struct{})
	var matchers sync.WaitGroup
	for range 2 {
		matchers.Go(func() {
			for {
				select {
				case <-stopMatching:
					return
				case <-time.After(time.Millisecond):
					live.Match("ACME Office Supplies Ltd\nINVOICE No. X\nTotal EUR 1.00\n")
				}
			}
		})
	}
	defer func() { close(stopMatching); matchers.Wait() }()

	// Nothing published yet.
	if res, err := u.RunOnce(ctx); err != nil || res.Outcome != templates.OutcomeNone {
		t.Fatalf("empty bucket: %+v %v", res, err)
	}
	if f := extractDoc(); f.TemplateVersion != "" {
		t.Fatalf("template used without a bundle: %+v", f)
	}

	// 2026.11.1 knows Globex only: the ACME invoice is read by the rules.
	upload(t, up, "bundles/2026.11.1.json", testdata(t, "bundle-2026.11.1.json"))
	res, err := u.RunOnce(ctx)
	if err != nil || res.Outcome != templates.OutcomeActivated || res.Activation.Version != "2026.11.1" {
		t.Fatalf("first update: %+v %v", res, err)
	}
	waitFor(t, "live bundle 2026.11.1", func() bool { return live.Version() == "2026.11.1" })
	if f := extractDoc(); f.TemplateVersion != "" {
		t.Fatalf("2026.11.1 has no ACME template, but %q was used", f.TemplateVersion)
	}

	// 2026.11.2 adds the ACME template; the running engine uses it without a
	// restart.
	upload(t, up, "bundles/2026.11.2.json", testdata(t, "bundle-2026.11.2.json"))
	res, err = u.RunOnce(ctx)
	if err != nil || res.Outcome != templates.OutcomeActivated || res.Activation.PreviousVersion != "2026.11.1" {
		t.Fatalf("second update: %+v %v", res, err)
	}
	if res.Source != "s3://tally-templates/bundles/2026.11.2.json" {
		t.Errorf("source %q", res.Source)
	}
	waitFor(t, "live bundle 2026.11.2", func() bool { return live.Version() == "2026.11.2" })
	f := extractDoc()
	if f.TemplateVersion != "2026.11.2/acme-invoices" || f.Vendor != "ACME Office Supplies Ltd" ||
		f.VendorAddress != "12 High Street, Springfield" || f.InvoiceNumber != "INV-2026-0042" ||
		f.Date != "2026-11-03" || f.Currency != "EUR" || f.Subtotal != "65.50" || f.Tax != "13.10" || f.Total != "78.60" {
		t.Fatalf("template fields not used: %+v", f)
	}

	// The same newest bundle again: nothing to do.
	if res, err := u.RunOnce(ctx); err != nil || res.Outcome != templates.OutcomeUnchanged {
		t.Fatalf("rerun: %+v %v", res, err)
	}

	// 2026.11.10 (newer than .2 by number) is broken: refused with the
	// reasons, and 2026.11.2 stays active in the database and in the worker.
	upload(t, up, "bundles/2026.11.10.json", testdata(t, "bundle-2026.11.10-broken.json"))
	_, err = u.RunOnce(ctx)
	var refused *templates.RefusedError
	if !errors.As(err, &refused) || refused.Version != "2026.11.10" {
		t.Fatalf("broken bundle: %v", err)
	}
	for _, want := range []string{"active bundle stays", `field "total": regex`, "RE2", `sample "globex-g-7781": field "tax"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal does not mention %q: %v", want, err)
		}
	}
	if set, err := store.Active(ctx); err != nil || set.Version() != "2026.11.2" {
		t.Fatalf("active after refusal: %v %v", set.Version(), err)
	}
	time.Sleep(150 * time.Millisecond) // a few polls
	if live.Version() != "2026.11.2" || extractDoc().TemplateVersion != "2026.11.2/acme-invoices" {
		t.Fatalf("worker moved off 2026.11.2 after a refusal: %q", live.Version())
	}

	// Rollback goes to the bundle active before, and the worker follows.
	act, err := store.Rollback(ctx, "")
	if err != nil || act.Version != "2026.11.1" || act.PreviousVersion != "2026.11.2" || act.Reason != templates.ReasonRollback {
		t.Fatalf("rollback: %+v %v", act, err)
	}
	waitFor(t, "live bundle 2026.11.1 after rollback", func() bool { return live.Version() == "2026.11.1" })
	if f := extractDoc(); f.TemplateVersion != "" {
		t.Fatalf("rolled back, but %q was used", f.TemplateVersion)
	}
	// The next update run does not undo the rollback: the newest bundle is
	// still the broken one, and 2026.11.2 is stored already.
	if _, err := u.RunOnce(ctx); !errors.As(err, &refused) {
		t.Fatalf("update after rollback: %v", err)
	}
	if set, _ := store.Active(ctx); set.Version() != "2026.11.1" {
		t.Fatalf("active after update run: %s", set.Version())
	}
	if _, err := store.Rollback(ctx, "2026.11.1"); err == nil || !strings.Contains(err.Error(), "already the active one") {
		t.Fatalf("rollback to the active bundle: %v", err)
	}
	if _, err := store.Rollback(ctx, "2025.1"); !errors.Is(err, templates.ErrNothingToRollBack) {
		t.Fatalf("rollback to an unknown version: %v", err)
	}
	if act, err := store.Rollback(ctx, "2026.11.2"); err != nil || act.Version != "2026.11.2" {
		t.Fatalf("rollback --to 2026.11.2: %+v %v", act, err)
	}
	waitFor(t, "live bundle 2026.11.2 again", func() bool { return live.Version() == "2026.11.2" })

	// A different file under a stored version is refused.
	changed := bytes.Replace(testdata(t, "bundle-2026.11.1.json"), []byte(`"name": "globex-g-7781"`), []byte(`"name": "globex"`), 1)
	if _, err := store.Install(ctx, changed, "test"); !errors.Is(err, templates.ErrVersionTaken) {
		t.Fatalf("changed bundle under a stored version: %v", err)
	}

	// Every activation is in the stream, in order.
	history, err := store.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ version, previous, reason string }{
		{"2026.11.1", "", templates.ReasonUpdate},
		{"2026.11.2", "2026.11.1", templates.ReasonUpdate},
		{"2026.11.1", "2026.11.2", templates.ReasonRollback},
		{"2026.11.2", "2026.11.1", templates.ReasonRollback},
	}
	if len(history) != len(want) {
		t.Fatalf("history has %d activations, want %d: %+v", len(history), len(want), history)
	}
	for i, w := range want {
		h := history[i]
		if h.Version != w.version || h.PreviousVersion != w.previous || h.Reason != w.reason || len(h.Checksum) != 64 || h.Templates == 0 {
			t.Errorf("activation %d: %+v, want %+v", i, h, w)
		}
	}
	if history[1].Checksum != templates.Checksum(testdata(t, "bundle-2026.11.2.json")) || history[1].Templates != 2 {
		t.Errorf("activation of 2026.11.2: %+v", history[1])
	}
	evs, err := events.LoadAggregate(ctx, templates.SystemTenant, templates.AggregateTemplates, templates.AggregateID)
	if err != nil || len(evs) != 4 || evs[0].Type != templates.TypeTemplatesActivated || evs[0].AggregateType != "templates" {
		t.Fatalf("raw events: %v %+v", err, evs)
	}

	// The database keeps one active bundle whatever is attempted.
	_, err = pool.Exec(ctx, "UPDATE template_bundles SET active = true")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("two active bundles: %v", err)
	}
	rows, err := store.List(ctx)
	if err != nil || len(rows) != 2 {
		t.Fatalf("list: %v %+v", err, rows)
	}
	var active int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM template_bundles WHERE active").Scan(&active); err != nil || active != 1 {
		t.Fatalf("active rows: %d %v", active, err)
	}
}

// TestTemplateInstallConcurrent: two updaters racing on the same bundle
// activate it once.
func TestTemplateInstallConcurrent(t *testing.T) {
	ctx := t.Context()
	_, pool := pgtest.New(t)
	events, _ := eventstoretest.Start(t)
	store := templates.NewStore(pool, events)
	raw := testdata(t, "bundle-2026.11.2.json")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = store.Install(ctx, raw, "test") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, templates.ErrAlreadyStored):
			t.Errorf("install: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d installs succeeded, want 1", ok)
	}
	history, err := store.History(ctx)
	if err != nil || len(history) != 1 {
		t.Fatalf("history: %v %+v", err, history)
	}
	if _, err := store.Rollback(ctx, ""); !errors.Is(err, templates.ErrNothingToRollBack) {
		t.Fatalf("rollback with one bundle: %v", err)
	}
}
