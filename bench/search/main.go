// Command search measures how fast the search read model answers at a
// given size: it makes a fresh database on the PostgreSQL server named by
// -db, loads -docs documents of one tenant into search_documents with
// COPY (vendors, invoice numbers, line items, dates, amounts, currencies
// and statuses drawn from a seeded generator), and then times the queries
// the web app and GET /v1/documents send, through package search, one at a
// time: -rounds of each kind, first page (50 rows). It prints p50, p99 and
// the maximum per kind and over all, then streams every document as CSV
// (the export) and reports its time and the largest Go heap seen while it
// ran. The database is dropped at the end unless -keep.
//
//	go run ./bench/search [-docs 100000] [-rounds 200] [-db postgres://postgres@127.0.0.1:5432/postgres]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"tally/bench/internal/scratchdb"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/migrations"
	"tally/search"
)

const (
	maxDocs = 5_000_000
	tenant  = "bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "search:", err)
		os.Exit(1)
	}
}

func run() error {
	docs := flag.Int("docs", 100_000, "documents to load")
	rounds := flag.Int("rounds", 200, "queries of each kind")
	db := flag.String("db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"PostgreSQL server (any database on it); a fresh database is made beside it")
	keep := flag.Bool("keep", false, "keep the database")
	seed := flag.Uint64("seed", 1, "seed of the documents and the queries")
	flag.Parse()
	if *docs < 1 || *docs > maxDocs {
		return fmt.Errorf("-docs must be 1..%d", maxDocs)
	}
	if *rounds < 1 || *rounds > 100_000 {
		return errors.New("-rounds must be 1..100000")
	}
	base, err := url.Parse(*db)
	if err != nil {
		return fmt.Errorf("-db: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	name := fmt.Sprintf("tally_bench_search_%d", time.Now().UnixNano())
	dsn, drop, err := scratchdb.Create(ctx, base, name)
	if err != nil {
		return err
	}
	if *keep {
		fmt.Printf("database %s kept\n", name)
	} else {
		defer drop()
	}
	if _, err := migrations.Apply(ctx, dsn); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()

	g := newGenerator(*seed)
	started := time.Now()
	if err := load(ctx, pool, g, *docs); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE search_documents"); err != nil {
		return err
	}
	fmt.Printf("loaded %d documents in %.1fs (COPY, then VACUUM ANALYZE)\n", *docs, time.Since(started).Seconds())

	// The reference: one row by its primary key, the cheapest query
	// there is, measured in the same run (the machine is shared, so its
	// figures say how loaded it was).
	var ids []uuid.UUID
	rows, err := pool.Query(ctx, "SELECT id FROM search_documents TABLESAMPLE SYSTEM (1) LIMIT 1000")
	if err == nil {
		ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	}
	if err != nil || len(ids) == 0 {
		return fmt.Errorf("sample ids: %v", err)
	}
	fmt.Printf("%-34s %8s %8s %8s %8s\n", "query (first page of 50)", "p50 ms", "p99 ms", "max ms", "hits")
	var ref []time.Duration
	for i := range *rounds {
		var id uuid.UUID
		t0 := time.Now()
		if err := pool.QueryRow(ctx, "SELECT id FROM search_documents WHERE tenant = $1 AND id = $2", tenant,
			ids[i%len(ids)]).Scan(&id); err != nil {
			return fmt.Errorf("reference query: %w", err)
		}
		ref = append(ref, time.Since(t0))
	}
	fmt.Printf("%-34s %8.2f %8.2f %8.2f\n", "reference: one row by primary key", ms(pct(ref, 50)), ms(pct(ref, 99)), ms(pct(ref, 100)))

	s := search.New(pool)
	var all []time.Duration
	for _, k := range kinds(g) {
		var took []time.Duration
		hits := 0
		for range *rounds {
			f := k.filter()
			f.Tenant = tenant
			t0 := time.Now()
			page, _, err := s.Find(ctx, f, "", 50)
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			took, hits = append(took, d), hits+len(page)
		}
		all = append(all, took...)
		fmt.Printf("%-34s %8.2f %8.2f %8.2f %8.1f\n", k.name, ms(pct(took, 50)), ms(pct(took, 99)), ms(pct(took, 100)),
			float64(hits)/float64(*rounds))
	}
	fmt.Printf("%-34s %8.2f %8.2f %8.2f\n", "all kinds", ms(pct(all, 50)), ms(pct(all, 99)), ms(pct(all, 100)))

	// The export: every document as CSV, the heap sampled meanwhile.
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cw := &countingWriter{}
	t0 := time.Now()
	err = s.Export(ctx, cw, search.Filter{Tenant: tenant}, search.FormatCSV)
	close(done)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Printf("export: %d documents as CSV (%.1f MB) in %.2fs; Go heap in use %.1f MB before, at most %.1f MB during\n",
		*docs, float64(cw.n)/1e6, time.Since(t0).Seconds(), float64(before.HeapInuse)/1e6, float64(peak.Load())/1e6)
	return nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(min(i, len(s))-1, 0)]
}

// kind is one sort of query, with random parameters each time.
type kind struct {
	name   string
	filter func() search.Filter
}

func kinds(g *generator) []kind {
	r := g.queries
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	return []kind{
		{"newest first, no filter", func() search.Filter { return search.Filter{} }},
		{"text: one vendor word", func() search.Filter { return search.Filter{Text: g.pick(r, vendorWords)} }},
		{"text: vendor word + item word", func() search.Filter {
			return search.Filter{Text: g.pick(r, vendorWords) + " " + g.pick(r, itemWords)}
		}},
		{"text: rare word (few hits)", func() search.Filter { return search.Filter{Text: g.rareWord(r)} }},
		{"text: invoice number", func() search.Filter { return search.Filter{Text: g.invoiceNumber(r)} }},
		{"text: prefix of 3 letters", func() search.Filter { return search.Filter{Text: g.pick(r, itemWords)[:3]} }},
		{"vendor contains", func() search.Filter { return search.Filter{Vendor: g.pick(r, vendorWords)} }},
		{"date range (a month) by date", func() search.Filter {
			m := 1 + r.IntN(12)
			return search.Filter{DateFrom: day(2026, m, 1), DateTo: day(2026, m, 28), Sort: search.SortDate}
		}},
		{"total range, largest first", func() search.Filter {
			lo := r.IntN(900)
			return search.Filter{MinTotal: fmt.Sprint(lo), MaxTotal: fmt.Sprint(lo + 50), Sort: search.SortTotal}
		}},
		{"currency + status", func() search.Filter {
			return search.Filter{Currency: g.pick(r, []string{"USD", "GBP", "CHF"}), Status: "COMPLETED"}
		}},
		{"needs review", func() search.Filter { return search.Filter{NeedsReview: new(true)} }},
		{"text + date range + sort by total", func() search.Filter {
			m := 1 + r.IntN(12)
			return search.Filter{Text: g.pick(r, itemWords), DateFrom: day(2026, m, 1), DateTo: day(2026, m, 28), Sort: search.SortTotal}
		}},
		{"one user's, by vendor", func() search.Filter {
			return search.Filter{UserIDs: []string{g.users[r.IntN(len(g.users))]}, Sort: search.SortVendor, Ascending: true}
		}},
	}
}

var vendorWords = []string{"acme", "office", "supplies", "bean", "there", "coffee", "hotel", "grand", "central", "rail",
	"taxi", "city", "cloud", "hosting", "books", "market", "fresh", "garden", "tools", "electric", "print", "paper",
	"pharmacy", "bakery", "kitchen", "fuel", "station", "parking", "airline", "express"}

var itemWords = []string{"paper", "toner", "cartridge", "coffee", "sandwich", "ticket", "night", "room", "breakfast",
	"license", "subscription", "drill", "cable", "adapter", "monitor", "keyboard", "chair", "desk", "lamp", "battery",
	"fuel", "parking", "taxi", "lunch", "dinner", "water", "shipping", "service", "support", "repair"}

// generator draws the documents and the queries' parameters.
type generator struct {
	docs, queries *rand.Rand
	users         []string
	vendors       []string
	n             int
}

func newGenerator(seed uint64) *generator {
	g := &generator{docs: rand.New(rand.NewPCG(seed, 1)), queries: rand.New(rand.NewPCG(seed, 2))}
	for range 50 {
		g.users = append(g.users, uuid.NewString())
	}
	// 2,000 vendors of two or three words.
	for i := range 2000 {
		v := g.pick(g.docs, vendorWords) + " " + g.pick(g.docs, vendorWords)
		if i%3 == 0 {
			v += " " + g.pick(g.docs, []string{"gmbh", "ltd", "inc", "sarl", "bv"})
		}
		g.vendors = append(g.vendors, strings.ToUpper(v[:1])+v[1:])
	}
	return g
}

func (g *generator) pick(r *rand.Rand, from []string) string { return from[r.IntN(len(from))] }

// rareWord is one of the words only one document in about a thousand has.
func (g *generator) rareWord(r *rand.Rand) string {
	return fmt.Sprintf("ref%05d", r.IntN(max(g.n/1000, 1)))
}

func (g *generator) invoiceNumber(r *rand.Rand) string {
	return fmt.Sprintf("INV-2026-%06d", r.IntN(max(g.n, 1)))
}

// bodyWords are what every receipt prints besides its vendor and items,
// so each is in most documents' extracted text.
var bodyWords = []string{"receipt", "thank", "you", "visit", "again", "vat", "included", "card", "payment", "cashier",
	"terminal", "change", "opening", "hours", "customer", "copy", "street", "road", "tel", "www"}

// receiptText is a completed document's extracted text as a small receipt
// prints it: a few hundred bytes to a few KiB.
func receiptText(r *rand.Rand, vendor, number string, items []string, total, currency string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%d %s %s\nInvoice %s\n", vendor, 1+r.IntN(200), strings.ToUpper(vendorWords[r.IntN(len(vendorWords))][:1])+
		vendorWords[r.IntN(len(vendorWords))][1:], bodyWords[16+r.IntN(2)], number)
	for _, it := range items {
		fmt.Fprintf(&b, "%d x %s   %d.%02d\n", 1+r.IntN(3), it, r.IntN(100), r.IntN(100))
	}
	fmt.Fprintf(&b, "Total %s %s\n", currency, total)
	for range 10 + r.IntN(60) {
		b.WriteString(bodyWords[r.IntN(len(bodyWords))])
		b.WriteByte(' ')
	}
	return b.String()
}

// load COPYs n documents into search_documents.
func load(ctx context.Context, pool *pgxpool.Pool, g *generator, n int) error {
	g.n = n
	r := g.docs
	statuses := []string{"COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED",
		"COMPLETED", "FAILED", "PENDING"}
	currencies := []string{"EUR", "EUR", "EUR", "EUR", "USD", "USD", "GBP", "CHF"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		id := uuid.New()
		vendor := g.vendors[r.IntN(len(g.vendors))]
		number := fmt.Sprintf("INV-2026-%06d", i)
		filename := fmt.Sprintf("scan_%06d.pdf", i)
		items := []string{}
		for range 1 + r.IntN(4) {
			items = append(items, g.pick(r, itemWords)+" "+g.pick(r, itemWords))
		}
		if i%1000 == 0 {
			items = append(items, fmt.Sprintf("ref%05d", i/1000))
		}
		text := strings.Join(append([]string{filename, strings.ReplaceAll(filename, "_", " "), vendor, number,
			strings.ReplaceAll(number, "-", " ")}, items...), " ")
		status := statuses[r.IntN(len(statuses))]
		created := start.Add(time.Duration(r.Int64N(int64(330 * 24 * time.Hour))))
		var vendorV, numberV, currencyV, totalV, dateV any
		review, body := false, ""
		if status == "COMPLETED" {
			vendorV, numberV = vendor, number
			currencyV = currencies[r.IntN(len(currencies))]
			totalV = fmt.Sprintf("%d.%02d", r.IntN(1000), r.IntN(100))
			dateV = created.Add(-time.Duration(r.IntN(10*24)) * time.Hour).Truncate(24 * time.Hour)
			review = r.IntN(20) == 0
			body = receiptText(r, vendor, number, items, totalV.(string), currencyV.(string))
		}
		i++
		return []any{tenant, id, g.users[r.IntN(len(g.users))], status, "upload", filename, int32(1), vendorV, numberV,
			dateV, currencyV, totalV, r.IntN(50) == 0, created, created, text, review, body}, nil
	})
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"search_documents"}, []string{"tenant", "id", "user_id", "status", "source",
		"filename", "attempt", "vendor", "invoice_number", "document_date", "currency", "total", "deleted", "created_at",
		"updated_at", "search_text", "needs_review", "body"}, src)
	if err != nil {
		return fmt.Errorf("copy documents: %w", err)
	}
	return nil
}
