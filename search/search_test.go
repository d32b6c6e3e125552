package search_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tally/blob"
	"tally/commands"
	"tally/domain"
	"tally/eventstore"
	"tally/eventstore/eventstoretest"
	"tally/migrations/pgtest"
	"tally/personal"
	"tally/projections"
	"tally/search"
)

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

// project runs the search projector until it has applied the whole stream.
func project(t *testing.T, pool *pgxpool.Pool, store *eventstore.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := projections.NewRunner(pool, store, projections.Search{}, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { r.RunForever(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	last, err := store.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for r.Position() < last {
		if time.Now().After(deadline) {
			t.Fatalf("search projector at %d of %d", r.Position(), last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type fixture struct {
	h      *commands.Handler
	keys   *personal.Keys
	ids    map[string]string
	pool   *pgxpool.Pool
	search *search.Searcher
}

func setup(t *testing.T) fixture {
	t.Helper()
	_, pool := pgtest.New(t)
	store, _ := eventstoretest.Start(t)
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keys := personal.New(pool)
	h := commands.New(store, blobs, slog.New(slog.DiscardHandler), commands.WithPeople(keys))
	f := fixture{h: h, keys: keys, ids: map[string]string{}, pool: pool, search: search.New(pool)}
	ctx := context.Background()
	docs := []struct {
		name, user string
		fields     domain.Fields
		correct    *domain.Fields
		del        bool
		text       string // the extracted text the result carries
	}{
		{"acme-invoice.pdf", "ann@example.com", domain.Fields{Vendor: "ACME Tools GmbH", InvoiceNumber: "INV-2026-001", Date: "2026-10-05",
			Currency: "EUR", Total: "119.00", LineItems: []domain.LineItem{{Description: "Cordless drill"}}}, nil, false, ""},
		{"coffee.pdf", "ann@example.com", domain.Fields{Vendor: "Bean There", Date: "2026-11-02", Currency: "EUR", Total: "4.50"},
			&domain.Fields{Total: "5.50"}, false, "Bean There Roasters\nFlat white, oat milk   4.50\nServed by Kim"},
		// A NUL byte in the text, which PostgreSQL's text refuses.
		{"hotel.pdf", "bob@example.com", domain.Fields{Vendor: "=HYPERLINK(\"http://evil\")", Date: "2026-11-20", Currency: "USD", Total: "310.00"}, nil, false, "Grand\x00Hotel minibar"},
		{"old.pdf", "bob@example.com", domain.Fields{Vendor: "ACME Tools GmbH", Date: "2025-01-10", Currency: "EUR", Total: "20.00"}, nil, true, ""},
		{"pending.pdf", "bob@example.com", domain.Fields{}, nil, false, ""},
	}
	ok := func(_ commands.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, d := range docs {
		meta := commands.Meta{Tenant: "acme"}
		res, err := h.UploadInvoice(ctx, commands.UploadInvoice{Meta: meta, Source: domain.SourceUpload, Filename: d.name,
			Content: []byte(pdf + strings.Repeat(" ", i)), User: domain.User{Name: "U", Email: d.user}})
		if err != nil {
			t.Fatal(err)
		}
		f.ids[d.name] = res.DocumentID
		if d.fields.IsZero() {
			continue
		}
		ok(h.StartExtraction(ctx, commands.StartExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1}))
		ok(h.RecordExtraction(ctx, commands.RecordExtraction{Meta: meta, DocumentID: res.DocumentID, Attempt: 1, Fields: d.fields, Text: d.text}))
		if d.correct != nil {
			ok(h.CorrectDocument(ctx, commands.CorrectDocument{Meta: meta, DocumentID: res.DocumentID, Fields: *d.correct}))
		}
		if d.del {
			ok(h.DeleteDocument(ctx, commands.DeleteDocument{Meta: meta, DocumentID: res.DocumentID, Grace: time.Hour}))
		}
	}
	// Another tenant's document with the same words is never found.
	_, err = h.UploadInvoice(ctx, commands.UploadInvoice{Meta: commands.Meta{Tenant: "globex"}, Source: domain.SourceUpload,
		Filename: "acme-invoice.pdf", Content: []byte(pdf), User: domain.User{Email: "eve@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	project(t, pool, store)
	return f
}

func names(f fixture, hits []search.Hit) []string {
	byID := map[string]string{}
	for n, id := range f.ids {
		byID[id] = n
	}
	var out []string
	for _, h := range hits {
		out = append(out, byID[h.ID])
	}
	return out
}

func TestFind(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	ann, err := f.keys.UserIDs(ctx, "acme", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	cases := []struct {
		name   string
		filter search.Filter
		want   string
	}{
		{"everything, newest first", search.Filter{}, "pending.pdf hotel.pdf coffee.pdf acme-invoice.pdf"},
		{"word prefix of a vendor", search.Filter{Text: "acm"}, "acme-invoice.pdf"},
		{"invoice number", search.Filter{Text: "INV-2026-001"}, "acme-invoice.pdf"},
		{"line item", search.Filter{Text: "drill"}, "acme-invoice.pdf"},
		// Words of the extracted text alone, kept through the later
		// correction of the total.
		{"extracted text only", search.Filter{Text: "oat milk"}, "coffee.pdf"},
		{"extracted text, a word's beginning", search.Filter{Text: "roast"}, "coffee.pdf"},
		{"extracted text with a NUL byte", search.Filter{Text: "minibar"}, "hotel.pdf"},
		{"file name part", search.Filter{Text: "hotel"}, "hotel.pdf"},
		{"all words needed", search.Filter{Text: "acme coffee"}, ""},
		{"vendor filter", search.Filter{Vendor: "bean"}, "coffee.pdf"},
		{"corrected total counts", search.Filter{MinTotal: "5.00", MaxTotal: "6"}, "coffee.pdf"},
		{"date range", search.Filter{DateFrom: day("2026-11-01"), DateTo: day("2026-11-30")}, "hotel.pdf coffee.pdf"},
		{"currency", search.Filter{Currency: "usd"}, "hotel.pdf"},
		{"status", search.Filter{Status: "PENDING"}, "pending.pdf"},
		{"one user", search.Filter{UserIDs: ann}, "coffee.pdf acme-invoice.pdf"},
		{"deleted only", search.Filter{Deleted: true}, "old.pdf"},
		{"by total ascending", search.Filter{Sort: search.SortTotal, Ascending: true}, "pending.pdf coffee.pdf acme-invoice.pdf hotel.pdf"},
		{"by date", search.Filter{Sort: search.SortDate}, "hotel.pdf coffee.pdf acme-invoice.pdf pending.pdf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.filter.Tenant = "acme"
			hits, next, err := f.search.Find(ctx, c.filter, "", 50)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(names(f, hits), " "); got != c.want || next != "" {
				t.Errorf("got %q (next %q), want %q", got, next, c.want)
			}
		})
	}

	// Paging with the cursor walks every match once, in order.
	for _, sort := range []string{search.SortCreated, search.SortTotal, search.SortVendor, search.SortDate} {
		var all []string
		cursor := ""
		for range 10 {
			hits, next, err := f.search.Find(ctx, search.Filter{Tenant: "acme", Sort: sort}, cursor, 1)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, names(f, hits)...)
			if cursor = next; cursor == "" {
				break
			}
		}
		if len(all) != 4 || len(uniq(all)) != 4 {
			t.Errorf("paging by %s: %v", sort, all)
		}
	}

	for _, bad := range []search.Filter{{MinTotal: "1e9"}, {Currency: "EURO"}, {Status: "DONE"}, {Sort: "name; DROP TABLE"}} {
		bad.Tenant = "acme"
		if _, _, err := f.search.Find(ctx, bad, "", 10); !errors.Is(err, search.ErrInvalidFilter) {
			t.Errorf("filter %+v: %v, want ErrInvalidFilter", bad, err)
		}
	}
	if _, _, err := f.search.Find(ctx, search.Filter{Tenant: "acme"}, "bm90IGEgY3Vyc29y", 10); !errors.Is(err, search.ErrInvalidFilter) {
		t.Errorf("forged cursor: %v", err)
	}
}

func uniq(s []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

func TestExport(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	var buf bytes.Buffer
	if err := f.search.Export(ctx, &buf, search.Filter{Tenant: "acme", Sort: search.SortTotal}, search.FormatCSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "id" {
		t.Fatalf("CSV rows = %v", rows)
	}
	if got := rows[1][4]; got != `'=HYPERLINK("http://evil")` {
		t.Errorf("formula cell exported as %q", got)
	}
	buf.Reset()
	if err := f.search.Export(ctx, &buf, search.Filter{Tenant: "acme", Text: "acme"}, search.FormatJSON); err != nil {
		t.Fatal(err)
	}
	var hits []search.Hit
	if err := json.Unmarshal(buf.Bytes(), &hits); err != nil || len(hits) != 1 || hits[0].Total != "119.00" {
		t.Fatalf("JSON export = %s (%v)", buf.String(), err)
	}
	if err := f.search.Export(ctx, &buf, search.Filter{Tenant: "acme"}, "xml"); !errors.Is(err, search.ErrInvalidFilter) {
		t.Errorf("xml export: %v", err)
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{"=1+2": "'=1+2", "+1": "'+1", "-12.50": "-12.50", "-1+2": "'-1+2", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "ACME": "ACME", "": ""} {
		if got := search.SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextQuery(t *testing.T) {
	for in, want := range map[string]string{"ACME tools": "acme:* & tools:*", "it's & | !": "it:* & s:*", "   ": "",
		"INV-2026/001": "inv:* & 2026:* & 001:*"} {
		if got := search.TextQuery(in); got != want {
			t.Errorf("TextQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzTextQuery(f *testing.F) {
	f.Add("ACME & tools | !(x)")
	f.Fuzz(func(t *testing.T, s string) {
		q := search.TextQuery(s)
		for _, term := range strings.Split(q, " & ") {
			if q != "" && (!strings.HasSuffix(term, ":*") || strings.ContainsAny(strings.TrimSuffix(term, ":*"), "&|!():*' ")) {
				t.Fatalf("TextQuery(%q) = %q: term %q is not a plain prefix", s, q, term)
			}
		}
	})
}
