package main

import (
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/projections"
)

// Only this file may import Tally's packages: they write the events and
// build Tally's own totals to compare with. The subscriber itself knows
// nothing but the stream and the event contract.

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

var quiet = slog.New(slog.DiscardHandler)

// tally writes events through Tally's commands and remembers the last
// stream sequence of each tenant's documents.
type tally struct {
	t    *testing.T
	h    *commands.Handler
	last map[string]uint64
	// pinned maps tenant/document to the total a user corrected before
	// a reprocess found another one: the user's total must still count.
	pinned map[string]string
	// did counts what the history exercised.
	did map[string]int
}

// newTally writes through Tally's commands; pool holds the user keys, so
// Tally's projector must run on the same database.
// annID is a user's pseudonym in events made by hand.
const annID = "7d0f5a52-1c2e-4b8a-9f3d-6e1a2b3c4d5e"

func newTally(t *testing.T, store *eventstore.Store, pool *pgxpool.Pool) *tally {
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &tally{t: t, h: commands.New(store, blobs, quiet, commands.WithPeople(personal.New(pool))), last: map[string]uint64{}, pinned: map[string]string{},
		did: map[string]int{}}
}

func (w *tally) ok(tenant string) func(commands.Result, error) commands.Result {
	return func(res commands.Result, err error) commands.Result {
		w.t.Helper()
		if err != nil {
			w.t.Fatal(err)
		}
		w.last[tenant] = max(w.last[tenant], res.Sequence)
		return res
	}
}

// lastDocumentSeq is the sequence of the last document event of tenant,
// or of any tenant when tenant is empty.
func (w *tally) lastDocumentSeq(tenant string) uint64 {
	if tenant != "" {
		return w.last[tenant]
	}
	var m uint64
	for _, s := range w.last {
		m = max(m, s)
	}
	return m
}

// history writes documents [from, to): uploads by several users (one
// naming no user) in two tenants; results in EUR, USD, CHF and no
// currency, with and without a date, with totals of every scale, negative
// and missing totals; failures; reprocesses and retries with a later result
// that replaces the earlier one; user corrections (of documents with and
// without a result, some followed by a reprocess that must not undo them);
// deletions, some purged, some restored and some corrected or deleted
// again after the restore; notifications and a monthly report, which the totals do not
// depend on. The choices are random but the same on every run.
func (w *tally) history(from, to int) {
	w.t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(from), uint64(to)))
	one := func(n int) bool { return rng.IntN(n) == 0 } // one time in n
	users := []domain.User{{Name: "Ann", Email: "ann@example.com"}, {Name: "Bob", Email: "bob@example.com"},
		{Email: "carol@example.com"}, {}}
	fields := func() domain.Fields {
		f := domain.Fields{Vendor: "V", Currency: []string{"EUR", "USD", ""}[rng.IntN(3)], Total: amount(rng)}
		if !one(4) {
			f.Date = fmt.Sprintf("2026-%02d-%02d", 1+rng.IntN(3), 1+rng.IntN(28))
		}
		if one(10) {
			f.Total = "" // no total found: counts nowhere
		}
		return f
	}
	// correction is what a user types in: some of the fields the totals
	// depend on, or only a vendor, which changes no total.
	correction := func() domain.Fields {
		for {
			var c domain.Fields
			if one(2) {
				c.Total = amount(rng)
			}
			if one(3) {
				c.Currency = []string{"EUR", "GBP"}[rng.IntN(2)]
			}
			if one(3) {
				c.Date = fmt.Sprintf("2026-%02d-%02d", 1+rng.IntN(3), 1+rng.IntN(28))
			}
			if one(4) {
				c.Vendor = "Corrected Vendor Ltd"
			}
			if !c.IsZero() {
				return c
			}
		}
	}
	correct := func(meta commands.Meta, id string, c domain.Fields) {
		w.ok(meta.Tenant)(w.h.CorrectDocument(ctx, commands.CorrectDocument{Meta: meta, DocumentID: id, Fields: c}))
		w.did["corrected"]++
	}
	// finish ends a document's history after its extraction events (a
	// deleted document gets no new attempt): maybe a correction, a
	// deletion, a restore, and more of the same after it.
	finish := func(meta commands.Meta, id string, keep bool) {
		if keep {
			return // a pinned document: its total stays the user's
		}
		if one(5) {
			correct(meta, id, correction())
		}
		if !one(5) {
			return
		}
		if one(2) {
			// Stays deleted, with no grace period: purged at once, or later.
			w.ok(meta.Tenant)(w.h.DeleteDocument(ctx, commands.DeleteDocument{Meta: meta, DocumentID: id, Reason: "duplicate"}))
			w.did["deleted"]++
			if one(2) {
				w.ok(meta.Tenant)(w.h.PurgeDocument(ctx, meta, id))
				w.did["purged"]++
			}
			return
		}
		w.ok(meta.Tenant)(w.h.DeleteDocument(ctx, commands.DeleteDocument{Meta: meta, DocumentID: id,
			Reason: "wrong user", Grace: time.Hour}))
		w.did["deleted"]++
		w.ok(meta.Tenant)(w.h.RestoreDocument(ctx, meta, id))
		w.did["restored"]++
		switch rng.IntN(3) {
		case 0:
			correct(meta, id, correction())
		case 1:
			w.ok(meta.Tenant)(w.h.DeleteDocument(ctx, commands.DeleteDocument{Meta: meta, DocumentID: id, Grace: time.Hour}))
			w.did["deleted"]++
		}
	}
	for i := from; i < to; i++ {
		tenant := []string{"acme", "globex"}[rng.IntN(2)]
		ok := w.ok(tenant)
		meta := commands.Meta{Tenant: tenant}
		id := ok(w.h.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Source: domain.SourceUpload,
			// Distinct files: the same bytes twice would be a duplicate.
			Filename: fmt.Sprintf("invoice-%d.pdf", i), Content: fmt.Appendf([]byte(pdf), "%% %d\n", i), User: users[rng.IntN(len(users))]})).DocumentID
		if i == from+10 {
			// Report aggregates are outside the subscriber's filter.
			if _, err := w.h.RecordMonthlyReport(ctx, commands.Meta{Tenant: tenant, CommandID: "report:" + id}, uuid.NewString(),
				domain.MonthlyReportSent{Month: "2026-01", MessageID: "report@example.com", Documents: 1,
					Totals: []domain.CurrencyTotal{{Currency: "EUR", Total: "1.00"}}}); err != nil {
				w.t.Fatal(err)
			}
		}
		if one(9) {
			// Stays PENDING; what the user types in counts all the same.
			finish(meta, id, false)
			continue
		}
		ok(w.h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 1, Worker: "w1"}))
		if one(7) {
			ok(w.h.FailExtraction(ctx, commands.FailExtraction{Meta: meta, DocumentID: id, Attempt: 1, Reason: "unreadable"}))
			if one(2) {
				finish(meta, id, false) // stays FAILED
				continue
			}
			ok(w.h.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: id}))
			ok(w.h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 2}))
			ok(w.h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 2, Fields: fields()}))
			finish(meta, id, false)
			continue
		}
		attempt := 1
		if one(8) {
			// A retry: the attempt did not finish and a new one is asked for.
			ok(w.h.RetryExtraction(ctx, commands.RetryExtraction{Meta: meta, DocumentID: id, Attempt: 1,
				LastError: "timeout", NotBefore: time.Now()}))
			attempt = 2
			ok(w.h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: 2}))
		}
		if one(10) {
			finish(meta, id, false) // stays PROCESSING
			continue
		}
		f := fields()
		res := ok(w.h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: attempt, Fields: f}))
		if one(5) {
			ok(w.h.RecordNotification(ctx, meta, id, domain.NotificationSent{SourceEventID: uuid.NewString(),
				Kind: domain.NotifyExtracted, MessageID: fmt.Sprintf("event-%d@example.com", res.Sequence)}))
		}
		pin := i%12 == 5
		if pin {
			// The user fixes the total, then a reprocess finds another one
			// (and another date): the user's total still counts.
			c := domain.Fields{Total: amount(rng)}
			correct(meta, id, c)
			w.pinned[tenant+"/"+id] = c.Total
			attempt++
			ok(w.h.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: id, Reason: "wrong total"}))
			ok(w.h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: attempt}))
			f = fields()
			for f.Total == "" || f.Total == c.Total {
				f.Total = amount(rng)
			}
			ok(w.h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: attempt, Fields: f}))
			w.did["reprocessed after a correction"]++
		} else if one(6) {
			correct(meta, id, correction()) // before any reprocess below
		}
		for one(4) {
			// Reprocessed, maybe more than once: the newest result counts.
			attempt++
			ok(w.h.RequestReprocess(ctx, commands.RequestReprocess{Meta: meta, DocumentID: id, Reason: "wrong total"}))
			ok(w.h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: id, Attempt: attempt}))
			switch rng.IntN(4) {
			case 0:
				f.Total = "" // the new result has no total: the old one no longer counts
			case 1:
				f.Currency = "CHF"
			case 2:
				f.Date = "2025-12-31"
			default:
				f = fields()
			}
			ok(w.h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: attempt, Fields: f}))
		}
		finish(meta, id, pin)
	}
}

// amount gives totals of every scale Tally accepts, some negative.
func amount(rng *rand.Rand) string {
	s := fmt.Sprintf("%d", rng.IntN(500))
	switch rng.IntN(4) {
	case 1:
		s += fmt.Sprintf(".%d", rng.IntN(10))
	case 2:
		s += fmt.Sprintf(".%02d", rng.IntN(100))
	case 3:
		s += fmt.Sprintf(".%06d", rng.IntN(1000000))
	}
	if rng.IntN(12) == 0 {
		s = "-" + s // a credit note
	}
	return s
}

// tallyTotals runs Tally's own monthly-totals projector into a fresh
// database until it has applied the stream up to last, and returns the
// table.
func tallyTotals(t *testing.T, store *eventstore.Store, pool *pgxpool.Pool, tenant string) []Row {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	last, err := store.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := projections.NewRunner(pool, store, projections.MonthlyTotals{}, quiet)
	go r.RunForever(ctx)
	deadline := time.Now().Add(60 * time.Second)
	for r.Position() < last {
		if time.Now().After(deadline) {
			t.Fatalf("Tally's projector reached %d of %d in 60s", r.Position(), last)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	rows, err := pool.Query(context.Background(),
		"SELECT tenant, user_id, month, currency, total::text, documents FROM monthly_totals WHERE $1 = '' OR tenant = $1", tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Tenant, &r.User, &r.Month, &r.Currency, &r.Total, &r.Documents); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortRows(out)
	return out
}

func sortRows(rows []Row) {
	slices.SortFunc(rows, func(a, b Row) int {
		return strings.Compare(fmt.Sprint(a.Key), fmt.Sprint(b.Key))
	})
}

// consume runs the subscriber until it has applied every event so far and
// checks that it reached want.
func consume(t *testing.T, sub *Subscriber, want uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub.StopWhenCaughtUp = true
	sub.MaxWait = 500 * time.Millisecond
	if err := sub.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the subscriber did not catch up within 60s")
	}
	if got := sub.State.LastSeq(); got != want {
		t.Fatalf("subscriber stopped at sequence %d, want %d", got, want)
	}
}

func sameTotals(t *testing.T, got, want []Row) {
	t.Helper()
	got = slices.Clone(got)
	sortRows(got)
	if !slices.Equal(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("subscriber's totals differ from Tally's monthly_totals\n--- subscriber\n%s\n--- tally\n%s", g, w)
	}
	if len(want) < 10 {
		t.Fatalf("history made only %d monthly totals: %v", len(want), want)
	}
}

func TestTotalsEqualTallysMonthlyTotals(t *testing.T) {
	store, nc := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	w := newTally(t, store, pool)
	w.history(0, 150)
	want := tallyTotals(t, store, pool, "")

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	filter := Filter("tally.events", "")
	sub := &Subscriber{JS: js, Stream: "TALLY_EVENTS", Durable: "analytics-test", Filter: filter, State: NewState(filter),
		Batch: 64, Log: quiet}
	consume(t, sub, w.lastDocumentSeq(""))
	got := sub.State.Rows("", "")
	sameTotals(t, got, want)

	var kinds []string
	for _, r := range got {
		kinds = append(kinds, r.Currency, r.User, r.Total)
	}
	named := 0
	for _, r := range got {
		if _, err := uuid.Parse(r.User); err == nil {
			named++
		}
	}
	if named == 0 {
		t.Error("the history exercised no user with an id")
	}
	for _, k := range []string{"EUR", "USD", "XXX", "CHF", "GBP", ""} {
		if !slices.Contains(kinds, k) {
			t.Errorf("the history exercised no %q", k)
		}
	}
	for _, k := range []string{"corrected", "reprocessed after a correction", "deleted", "restored", "purged"} {
		if w.did[k] < 3 {
			t.Errorf("the history %s only %d documents", k, w.did[k])
		}
	}
	// A reprocess after a correction did not undo it.
	for id, total := range w.pinned {
		if c := sub.State.docs[id].Counted; c == nil || c.Amount != total {
			t.Errorf("document %s counts %+v, want the user's total %s", id, c, total)
		}
	}
	t.Logf("history: %v", w.did)

	// A second start with an empty State (memory only) rewinds the same
	// durable consumer and rebuilds the same totals.
	again := &Subscriber{JS: js, Stream: "TALLY_EVENTS", Durable: "analytics-test", Filter: filter, State: NewState(filter),
		Log: quiet}
	consume(t, again, w.lastDocumentSeq(""))
	sameTotals(t, again.State.Rows("", ""), want)
}

func TestTenantSubscriberSurvivesRestartsAndCrashes(t *testing.T) {
	store, nc := eventstoretest.Start(t)
	_, pool := pgtest.New(t)
	w := newTally(t, store, pool)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	filter := Filter("tally.events", "acme")
	path := filepath.Join(t.TempDir(), "totals.json")
	logs := &recorder{}
	start := func() *Subscriber {
		state, err := LoadState(path, filter)
		if err != nil {
			t.Fatal(err)
		}
		return &Subscriber{JS: js, Stream: "TALLY_EVENTS", Durable: "analytics-acme", Filter: filter, State: state,
			Save: func(s *State) error { return s.Save(path) }, Batch: 16, Log: slog.New(logs)}
	}
	rewound := func(want bool) {
		t.Helper()
		if got := logs.take(); slices.Contains(got, "consumer and state disagree, rewinding the consumer") != want ||
			slices.Contains(got, "consumer reset failed, recreating the consumer") {
			t.Fatalf("want rewound %v, logged %q", want, got)
		}
	}

	w.history(0, 60)
	// The stream ends with another tenant's event, which the consumer
	// never delivers: its position is still the subscriber's.
	w.ok("globex")(w.h.UploadInvoice(context.Background(), commands.UploadInvoice{
		Meta: commands.Meta{Tenant: "globex"}, Content: []byte(pdf)}))
	consume(t, start(), w.lastDocumentSeq("acme"))
	rewound(false)
	w.history(60, 70)
	consume(t, start(), w.lastDocumentSeq("acme")) // a clean restart resumes
	rewound(false)

	// More events; a process that crashed took some deliveries and never
	// acknowledged them. The next start must rewind, not skip them.
	w.history(70, 120)
	cons, err := js.Consumer(context.Background(), "TALLY_EVENTS", "analytics-acme")
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(5, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	taken := 0
	for range batch.Messages() {
		taken++
	}
	if taken != 5 {
		t.Fatalf("the crashed process took %d deliveries, want 5", taken)
	}
	consume(t, start(), w.lastDocumentSeq("acme"))
	rewound(true)

	want := tallyTotals(t, store, pool, "acme")
	sub := start()
	sameTotals(t, sub.State.Rows("", ""), want)
	if rows := sub.State.Rows("globex", ""); len(rows) != 0 {
		t.Fatalf("the acme subscriber has globex totals: %v", rows)
	}

	// The state file is lost: the next start rebuilds from the stream.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	consume(t, start(), w.lastDocumentSeq("acme"))
	rewound(true)
	sameTotals(t, start().State.Rows("", ""), want)

	// Another filter with the same state file is refused.
	if _, err := LoadState(path, Filter("tally.events", "globex")); err == nil {
		t.Fatal("a state file built for acme was loaded for globex")
	}
}

// recorder is a slog.Handler that keeps the messages logged.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	msgs := r.msgs
	r.msgs = nil
	return msgs
}

// event builds one envelope the way Tally writes it.
func event(t *testing.T, typ, doc string, data any) []byte {
	t.Helper()
	e, err := domain.NewEnvelope(uuid.NewString(), "acme", doc, typ, time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC), data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStateRules(t *testing.T) {
	s := NewState("x")
	doc := uuid.NewString()
	apply := func(seq uint64, b []byte) bool {
		t.Helper()
		applied, err := s.Apply(seq, b)
		if err != nil {
			t.Fatal(err)
		}
		return applied
	}
	uploaded := event(t, domain.TypeDocumentUploaded, doc, domain.DocumentUploaded{
		UserID: annID, UploadedAt: time.Date(2026, 3, 31, 23, 30, 0, 0, time.FixedZone("", -2*3600)), Attempt: 1})
	apply(1, uploaded)
	apply(2, event(t, domain.TypeReceiptExtracted, doc, domain.ReceiptExtracted{Attempt: 1,
		Fields: domain.Fields{Total: "10.5"}}))
	// Uploaded at 23:30 at UTC-2 is 01:30 UTC on 1 April: no date of its
	// own, so it counts in April, in no currency.
	if got := s.Rows("", ""); len(got) != 1 || got[0].Month != "2026-04" || got[0].Currency != "XXX" || got[0].Total != "10.5" {
		t.Fatalf("after the first result: %+v", got)
	}
	// A redelivery changes nothing.
	if apply(2, event(t, domain.TypeReceiptExtracted, doc, domain.ReceiptExtracted{Attempt: 1,
		Fields: domain.Fields{Total: "99"}})) {
		t.Fatal("a redelivered sequence was applied")
	}
	apply(3, event(t, domain.TypeNotificationSent, doc, domain.NotificationSent{Kind: "extracted"}))
	apply(4, event(t, "SomethingNew", doc, map[string]any{"x": 1}))
	apply(5, event(t, domain.TypeExtractionRequested, doc, domain.ExtractionRequested{Attempt: 2, Reason: "reprocess"}))
	// A result of the replaced attempt does not count.
	apply(6, event(t, domain.TypeReceiptExtracted, doc, domain.ReceiptExtracted{Attempt: 1,
		Fields: domain.Fields{Total: "1000"}}))
	if got := s.Rows("", ""); len(got) != 1 || got[0].Total != "10.5" {
		t.Fatalf("a stale attempt counted: %+v", got)
	}
	apply(7, event(t, domain.TypeReceiptExtracted, doc, domain.ReceiptExtracted{Attempt: 2,
		Fields: domain.Fields{Date: "2026-02-14", Currency: "EUR", Total: "-3.25"}}))
	if got := s.Rows("", ""); len(got) != 1 || got[0].Month != "2026-02" || got[0].Currency != "EUR" ||
		got[0].Total != "-3.25" || got[0].Documents != 1 {
		t.Fatalf("after the second result: %+v", got)
	}
	if s.LastSeq() != 7 {
		t.Fatalf("last sequence %d, want 7", s.LastSeq())
	}

	// A newer schema version of a type the totals read stops the
	// subscriber rather than being guessed at.
	b := event(t, domain.TypeReceiptExtracted, doc, domain.ReceiptExtracted{Attempt: 2})
	b = []byte(strings.Replace(string(b), `"schema_version":1`, `"schema_version":2`, 1))
	if _, err := s.Apply(8, b); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("schema version 2 applied: %v", err)
	}
	if s.LastSeq() != 7 {
		t.Fatal("a refused event moved the position")
	}

	// The same stream keeps the state; a recreated one empties it.
	for range 2 {
		if s.Bind("TALLY_EVENTS@2026-01-01T00:00:00Z") || s.LastSeq() != 7 || len(s.Rows("", "")) != 1 {
			t.Fatal("binding a state to its stream changed it")
		}
	}

	// Save and load keep everything. (The next result empties the EUR row,
	// which goes, and starts it again: "4", as PostgreSQL would have it.)
	path := filepath.Join(t.TempDir(), "state.json")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadState(path, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded.Rows("", ""), s.Rows("", "")) || loaded.LastSeq() != 7 {
		t.Fatalf("loaded %+v at %d", loaded.Rows("", ""), loaded.LastSeq())
	}
	applied, err := loaded.Apply(9, event(t, domain.TypeReceiptExtracted, doc, domain.ReceiptExtracted{Attempt: 2,
		Fields: domain.Fields{Date: "2026-02-14", Currency: "EUR", Total: "4"}}))
	if err != nil || !applied {
		t.Fatal(applied, err)
	}
	if got := loaded.Rows("", ""); len(got) != 1 || got[0].Total != "4" {
		t.Fatalf("a loaded state did not replace the old result: %+v", got)
	}
	if !loaded.Bind("TALLY_EVENTS@2026-05-05T00:00:00Z") || loaded.LastSeq() != 0 || len(loaded.Rows("", "")) != 0 {
		t.Fatal("a state of another incarnation of the stream was kept")
	}
}

func TestCorrectionsAndDeletions(t *testing.T) {
	s := NewState("x")
	doc, other := uuid.NewString(), uuid.NewString()
	var seq uint64
	apply := func(typ, id string, data any) {
		t.Helper()
		seq++
		if _, err := s.Apply(seq, event(t, typ, id, data)); err != nil {
			t.Fatal(err)
		}
	}
	rows := func(want ...string) {
		t.Helper()
		var got []string
		for _, r := range s.Rows("", "") {
			got = append(got, fmt.Sprintf("%s %s %s (%d)", r.Month, r.Currency, r.Total, r.Documents))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("after sequence %d: %q, want %q", seq, got, want)
		}
	}
	upload := func(id string) {
		t.Helper()
		apply(domain.TypeDocumentUploaded, id, domain.DocumentUploaded{UserID: annID,
			UploadedAt: time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC), Attempt: 1})
	}
	corrected := func(id string, c domain.Fields) {
		t.Helper()
		apply(domain.TypeDocumentCorrected, id, domain.DocumentCorrected{Corrections: c})
	}

	upload(doc)
	// A correction before any result counts on its own.
	corrected(doc, domain.Fields{Total: "5"})
	rows("2026-04 XXX 5 (1)")
	// The result fills in what the user did not set.
	apply(domain.TypeReceiptExtracted, doc, domain.ReceiptExtracted{Attempt: 1,
		Fields: domain.Fields{Date: "2026-03-28", Currency: "EUR", Total: "243.80"}})
	rows("2026-03 EUR 5 (1)")
	// Corrections are cumulative: the newest replaces the earlier ones.
	corrected(doc, domain.Fields{Total: "234.80"})
	rows("2026-03 EUR 234.80 (1)")
	// A reprocess replaces the machine's values, not the user's.
	apply(domain.TypeExtractionRequested, doc, domain.ExtractionRequested{Attempt: 2, Reason: "reprocess"})
	apply("ExtractionRevised", doc, map[string]any{"attempt": 2,
		"fields": map[string]any{"date": "2026-02-28", "currency": "USD", "total": "999"}, "changes": map[string]any{}})
	rows("2026-02 USD 234.80 (1)")
	corrected(doc, domain.Fields{Currency: "EUR", Total: "234.80"})
	rows("2026-02 EUR 234.80 (1)")

	// Deleted, a document counts nowhere, even with a new result.
	apply(domain.TypeDocumentDeleted, doc, domain.DocumentDeleted{PurgeAfter: time.Now().Add(time.Hour)})
	rows()
	apply(domain.TypeExtractionRequested, doc, domain.ExtractionRequested{Attempt: 3, Reason: "reprocess"})
	apply(domain.TypeReceiptExtracted, doc, domain.ReceiptExtracted{Attempt: 3,
		Fields: domain.Fields{Date: "2026-01-10", Currency: "CHF", Total: "1"}})
	rows()
	// Restored, it counts with what it has now.
	apply(domain.TypeDocumentRestored, doc, domain.DocumentRestored{})
	rows("2026-01 EUR 234.80 (1)")
	// Events of documents never seen uploaded change nothing.
	corrected(other, domain.Fields{Total: "7"})
	apply(domain.TypeDocumentRestored, other, domain.DocumentRestored{})
	rows("2026-01 EUR 234.80 (1)")

	// Save and load keep the machine's and the user's values.
	path := filepath.Join(t.TempDir(), "state.json")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	var err error
	if s, err = LoadState(path, "x"); err != nil {
		t.Fatal(err)
	}
	corrected(doc, domain.Fields{Date: "2026-03-01", Currency: "EUR", Total: "234.80"})
	rows("2026-03 EUR 234.80 (1)")

	// Taking back and adding again restarts a total the document is
	// alone in, and with it the decimals: as in PostgreSQL, "10.50" with
	// 3.25 gone, "10.5" once the total is started again.
	upload(other)
	apply(domain.TypeReceiptExtracted, other, domain.ReceiptExtracted{Attempt: 1,
		Fields: domain.Fields{Date: "2026-03-02", Currency: "EUR", Total: "3.25"}})
	corrected(doc, domain.Fields{Date: "2026-03-01", Currency: "EUR", Total: "10.5"})
	rows("2026-03 EUR 13.75 (2)")
	apply(domain.TypeDocumentDeleted, other, domain.DocumentDeleted{PurgeAfter: time.Now().Add(time.Hour)})
	rows("2026-03 EUR 10.50 (1)")
	corrected(doc, domain.Fields{Vendor: "Hotel", Date: "2026-03-01", Currency: "EUR", Total: "10.5"})
	rows("2026-03 EUR 10.5 (1)")

	// A purged document is forgotten; it counted nowhere since its deletion.
	if _, ok := s.docs["acme/"+other]; !ok {
		t.Fatal("a deleted document was forgotten before its purge")
	}
	apply(domain.TypeDocumentPurged, other, domain.DocumentPurged{BlobKey: "acme/x.pdf"})
	if _, ok := s.docs["acme/"+other]; ok {
		t.Fatal("a purged document is still in the state")
	}
	rows("2026-03 EUR 10.5 (1)")

	// A state file of version 1 lacks the values a correction needs: the
	// totals are built again from the stream.
	if err := os.WriteFile(path, []byte(`{"version":1,"filter":"x","last_seq":9,"documents":{},"totals":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	old, err := LoadState(path, "x")
	if err != nil {
		t.Fatal(err)
	}
	if old.LastSeq() != 0 || len(old.Rows("", "")) != 0 {
		t.Fatalf("a version 1 state file was loaded at %d", old.LastSeq())
	}
}

func TestDecimal(t *testing.T) {
	for _, c := range []struct {
		terms []string
		want  string
	}{
		{[]string{"10.5", "3.25"}, "13.75"},
		{[]string{"10.5", "3.25", "-3.25"}, "10.50"},
		{[]string{"1", "2"}, "3"},
		{[]string{"0.000001", "-0.000001"}, "0.000000"},
		{[]string{"-0.5", "0.25"}, "-0.25"},
		{[]string{"007.5"}, "7.5"},
		{[]string{"999999999999999.999999", "999999999999999.999999"}, "1999999999999999.999998"},
	} {
		d := zero()
		for _, s := range c.terms {
			v, ok := parseDecimal(s)
			if !ok {
				t.Fatalf("%q not parsed", s)
			}
			d = d.add(v)
		}
		if d.String() != c.want {
			t.Errorf("sum of %v = %s, want %s", c.terms, d, c.want)
		}
	}
	for _, s := range []string{"", "1,5", "1.", ".5", "1e3", "1.1234567", "+1"} {
		if _, ok := parseDecimal(s); ok {
			t.Errorf("%q parsed as a decimal", s)
		}
	}
}

func TestHandler(t *testing.T) {
	s := NewState("x")
	doc := uuid.NewString()
	for i, b := range [][]byte{
		event(t, domain.TypeDocumentUploaded, doc, domain.DocumentUploaded{UserID: annID,
			UploadedAt: time.Now(), Attempt: 1}),
		event(t, domain.TypeReceiptExtracted, doc, domain.ReceiptExtracted{Attempt: 1,
			Fields: domain.Fields{Date: "2026-03-01", Currency: "EUR", Total: "12.00"}}),
	} {
		if _, err := s.Apply(uint64(i+1), b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(Handler(s))
	defer srv.Close()
	for query, want := range map[string]int{"": 1, "?month=2026-03": 1, "?month=2026-04": 0, "?tenant=acme": 1, "?tenant=globex": 0} {
		resp, err := srv.Client().Get(srv.URL + "/totals" + query)
		if err != nil {
			t.Fatal(err)
		}
		var rows []Row
		err = json.NewDecoder(resp.Body).Decode(&rows)
		resp.Body.Close()
		if err != nil || len(rows) != want {
			t.Fatalf("/totals%s: %v %v", query, rows, err)
		}
	}
	resp, err := srv.Client().Get(srv.URL + "/position")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pos map[string]uint64
	if err := json.NewDecoder(resp.Body).Decode(&pos); err != nil || pos["last_seq"] != 2 {
		t.Fatalf("/position: %v %v", pos, err)
	}
}

// TestRunPrintsTotals runs the program as a user would, against a server
// it reaches over TCP.
func TestRunPrintsTotals(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir(), Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect("tally")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store, err := eventstore.Open(context.Background(), nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, pool := pgtest.New(t)
	w := newTally(t, store, pool)
	ctx := context.Background()
	for _, tenant := range []string{"acme", "globex"} {
		meta := commands.Meta{Tenant: tenant}
		id := w.ok(tenant)(w.h.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Content: []byte(pdf),
			User: domain.User{Email: "ann@example.com"}})).DocumentID
		w.ok(tenant)(w.h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: id, Attempt: 1,
			Fields: domain.Fields{Date: "2026-03-02", Currency: "EUR", Total: "19.90"}}))
	}

	var out strings.Builder
	state := filepath.Join(t.TempDir(), "acme.json")
	args := []string{"-nats", srv.ClientURL(), "-durable", "acme-totals", "-tenant", "acme", "-state", state, "-once", "-print"}
	if err := run(args, &out); err != nil {
		t.Fatal(err)
	}
	var rows []Row
	if err := json.Unmarshal([]byte(out.String()), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	var annID string
	if err := pool.QueryRow(ctx, "SELECT user_id::text FROM user_keys WHERE tenant = 'acme'").Scan(&annID); err != nil {
		t.Fatal(err)
	}
	want := []Row{{Key: Key{"acme", annID, "2026-03", "EUR"}, Total: "19.90", Documents: 1}}
	if !slices.Equal(rows, want) {
		t.Fatalf("printed %+v, want %+v", rows, want)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no state file: %v", err)
	}
	if err := run([]string{"-tenant", "Acme.EU"}, &out); err == nil {
		t.Fatal("a tenant that is no subject token was accepted")
	}
}

// TestStandsAlone keeps the program an outsider's: it may use nats.go and
// the standard library, never Tally's packages (only tests may).
func TestStandsAlone(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, ".") && !strings.HasPrefix(path, "github.com/nats-io/nats.go") {
				t.Errorf("%s imports %s: only nats.go and the standard library are allowed", f, path)
			}
			if path == "tally" || strings.HasPrefix(path, "tally/") {
				t.Errorf("%s imports Tally's package %s", f, path)
			}
		}
	}
}

// TestSchemaOneUploadsAreKeyedByAddress: a document uploaded before Tally
// sealed users names its user only by address, and is kept under it.
func TestSchemaOneUploadsAreKeyedByAddress(t *testing.T) {
	s := NewState("x")
	old, sealed := uuid.NewString(), uuid.NewString()
	for i, b := range [][]byte{
		event(t, domain.TypeDocumentUploaded, old, domain.DocumentUploaded{User: &domain.User{Email: "ann@example.com"},
			UploadedAt: time.Now(), Attempt: 1}),
		event(t, domain.TypeReceiptExtracted, old, domain.ReceiptExtracted{Attempt: 1,
			Fields: domain.Fields{Date: "2026-03-01", Currency: "EUR", Total: "12.00"}}),
		event(t, domain.TypeDocumentUploaded, sealed, domain.DocumentUploaded{UserID: annID, UserSealed: "AAAA",
			UploadedAt: time.Now(), Attempt: 1}),
		event(t, domain.TypeReceiptExtracted, sealed, domain.ReceiptExtracted{Attempt: 1,
			Fields: domain.Fields{Date: "2026-03-01", Currency: "EUR", Total: "1.00"}}),
	} {
		if _, err := s.Apply(uint64(i+1), b); err != nil {
			t.Fatal(err)
		}
	}
	got := s.Rows("", "")
	if len(got) != 2 || got[0].User != annID || got[1].User != "email:ann@example.com" {
		t.Fatalf("rows: %+v", got)
	}
}
