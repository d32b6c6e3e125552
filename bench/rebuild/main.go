// Command rebuild measures how fast Tally rebuilds its read models from the
// event stream, next to a plain bulk insert of the same rows.
//
//	go run ./bench/rebuild [-events 1000000] [-db postgres://postgres@127.0.0.1:5432/postgres] [-keep]
//
// It writes a realistic history (uploads, extractions, failures, retries,
// reprocessing, corrections, deletions, restores, purges) through the
// event store into an embedded JetStream server in a temporary directory,
// makes a fresh database on the PostgreSQL server named by -db, and then
// (a) runs projections.Rebuild for every projector, as `tally replay
// --projection all` does, and (b) copies the rows the rebuild produced
// into fresh tables of the same shape with COPY (pgx CopyFrom). It prints
// both rates and their ratio. The database and the stream are removed at
// the end unless -keep. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"tally/bench/internal/scratchdb"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tally/domain"
	"tally/eventstore"
	"tally/migrations"
	"tally/personal"
	"tally/projections"
	"tally/seal"
)

// Bounds: the tool refuses settings beyond these.
const (
	maxEvents  = 20_000_000
	maxWorkers = 256
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rebuild:", err)
		os.Exit(1)
	}
}

type options struct {
	events  int
	db      string
	keep    bool
	workers int
	seed    uint64
	tenants int
	users   int
	maxFold uint64
}

func run() error {
	var o options
	flag.IntVar(&o.events, "events", 1_000_000, "events to write (the last document's history may be cut short to hit it exactly)")
	flag.StringVar(&o.db, "db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"PostgreSQL server (any database on it); a fresh database is made beside it")
	flag.BoolVar(&o.keep, "keep", false, "keep the database and the stream directory")
	flag.IntVar(&o.workers, "workers", 32, "concurrent appenders while writing the history")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the history")
	flag.IntVar(&o.tenants, "tenants", 10, "tenants")
	flag.IntVar(&o.users, "users", 100, "users per tenant")
	flag.Uint64Var(&o.maxFold, "max-fold-events", 0, "replay event by event when the history is longer (as tally replay --max-fold-events); 0: always fold")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile of the rebuild to this file")
	timeout := flag.Duration("timeout", 2*time.Hour, "time limit for the whole run (at most 24h)")
	flag.Parse()
	var problems []error
	if o.events < 1 || o.events > maxEvents {
		problems = append(problems, fmt.Errorf("-events must be 1..%d", maxEvents))
	}
	if *timeout <= 0 || *timeout > 24*time.Hour {
		problems = append(problems, errors.New("-timeout must be above 0 and at most 24h"))
	}
	if o.workers < 1 || o.workers > maxWorkers {
		problems = append(problems, fmt.Errorf("-workers must be 1..%d", maxWorkers))
	}
	if o.tenants < 1 || o.tenants > 1000 || o.users < 1 || o.users > 100_000 {
		problems = append(problems, errors.New("-tenants must be 1..1000 and -users 1..100000"))
	}
	base, err := url.Parse(o.db)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		problems = append(problems, fmt.Errorf("-db must be a postgres:// URL"))
	}
	if err := errors.Join(problems...); err != nil {
		flag.Usage()
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Every call below runs under this deadline.
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// The stream: an embedded server in a temporary directory. Without
	// SyncAlways the file store syncs every two minutes, which is what
	// generation wants; the rebuild only reads.
	dir, err := os.MkdirTemp("", "tally-bench-rebuild-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Printf("stream directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: dir})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, err := srv.Connect("bench-rebuild")
	if err != nil {
		return err
	}
	defer nc.Close()
	store, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		return err
	}

	// The database: a fresh one, migrated.
	name := "tally_bench_rebuild_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	dsn, drop, err := scratchdb.Create(ctx, base, name)
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Printf("database: %s\n", name)
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
	// A scratch database: its data keys are wrapped by a master key of
	// this run's own, as a Tally process wraps them with its.
	master, err := seal.NewKey()
	if err != nil {
		return err
	}
	ring, err := seal.NewRing(master)
	if err != nil {
		return err
	}
	seal.Install(ring)

	fmt.Printf("load before: %s\n", loadAverage())
	plans := plan(o)
	// Users are sealed as Tally seals them, once per user: projectors open
	// each upload's user with its key, as they do in production.
	keys := personal.New(pool)
	sealed := map[string]domain.SealedUser{}
	for i := range plans {
		k := plans[i].tenant + "/" + plans[i].user.Email
		su, ok := sealed[k]
		if !ok {
			if su, err = keys.Seal(ctx, plans[i].tenant, plans[i].user); err != nil {
				return err
			}
			sealed[k] = su
		}
		plans[i].sealed = su
	}
	started := time.Now()
	if err := write(ctx, store, plans, o.workers); err != nil {
		return err
	}
	last, err := store.LastSequence(ctx)
	if err != nil {
		return err
	}
	if last != uint64(o.events) {
		return fmt.Errorf("the stream holds %d events, want %d", last, o.events)
	}
	genSecs := time.Since(started).Seconds()
	fmt.Printf("wrote %d events for %d documents in %.1fs (%.0f events/s): %s\n",
		last, len(plans), genSecs, float64(last)/genSecs, mix(plans))

	// (a) The rebuild, as `tally replay --projection all` runs it.
	fmt.Printf("load before rebuild: %s\n", loadAverage())
	rb := &projections.Rebuild{Pool: pool, Store: store, Projectors: projections.All(), Log: log, MaxFoldEvents: o.maxFold,
		ProgressEvery: 10 * time.Second,
		OnProgress: func(p projections.Progress) {
			fmt.Fprintf(os.Stderr, "%-15s %d/%d events  %.0f events/s\n", p.Projector, p.Position, p.Target, p.PerSecond)
		}}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	// The peak RSS from here on is the rebuild's (with the embedded NATS
	// server's): writing 5 resets the process's high-water mark.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	started = time.Now()
	replayed, err := rb.Run(ctx)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	rebuildSecs := time.Since(started).Seconds()
	fmt.Printf("load after rebuild: %s\n", loadAverage())
	fmt.Printf("peak RSS during the rebuild (with the embedded NATS server): %s\n", peakRSS())
	if replayed != last {
		// A rebuild may swap a little short of the head and leave the
		// rest to the live projector; the rate counts what it replayed.
		fmt.Printf("rebuild swapped at sequence %d of %d\n", replayed, last)
	}

	// (b) The same rows by COPY into fresh tables of the same shape.
	var tables []string
	for _, p := range projections.All() {
		tables = append(tables, p.Tables()...)
	}
	copies, err := bulkCopy(ctx, pool, tables)
	if err != nil {
		return err
	}
	fmt.Printf("load after copy: %s\n", loadAverage())

	var rows int64
	var copySecs float64
	fmt.Println()
	fmt.Println("table              rows   COPY s")
	for _, c := range copies {
		fmt.Printf("%-17s %8d  %6.2f\n", c.table, c.rows, c.seconds)
		rows += c.rows
		copySecs += c.seconds
	}
	fmt.Println()
	fmt.Printf("%-32s %10s %10s %12s %14s\n", "", "seconds", "rows/s", "events/s", "vs COPY")
	fmt.Printf("%-32s %10.1f %10.0f %12.0f %13.1fx\n", "rebuild (projections.Rebuild)", rebuildSecs,
		float64(rows)/rebuildSecs, float64(replayed)/rebuildSecs, rebuildSecs/copySecs)
	fmt.Printf("%-32s %10.2f %10.0f %12.0f %13.1fx\n", "bulk insert (COPY, same rows)", copySecs,
		float64(rows)/copySecs, float64(last)/copySecs, 1.0)
	fmt.Printf("\n%d events, %d rows in %d tables; events/s for COPY is the stream's events over the COPY time\n",
		last, rows, len(copies))
	return nil
}

// tableCopy is one table's bulk insert.
type tableCopy struct {
	table   string
	rows    int64
	seconds float64
}

// bulkCopy reads each rebuilt table into memory (not timed), makes an
// empty table of the same shape, indexes included, and times CopyFrom of
// the rows into it.
func bulkCopy(ctx context.Context, pool *pgxpool.Pool, tables []string) ([]tableCopy, error) {
	if _, err := pool.Exec(ctx, "CREATE SCHEMA bulk"); err != nil {
		return nil, err
	}
	var out []tableCopy
	for _, t := range tables {
		// Generated columns (the search table's tsvector) are computed by
		// the COPY, as by the rebuild; they cannot be written.
		crows, err := pool.Query(ctx, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`, t)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", t, err)
		}
		columns, err := pgx.CollectRows(crows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", t, err)
		}
		quoted := make([]string, len(columns))
		for i, c := range columns {
			quoted[i] = pgx.Identifier{c}.Sanitize()
		}
		rows, err := pool.Query(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM public."+t)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t, err)
		}
		var values [][]any
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("read %s: %w", t, err)
			}
			values = append(values, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", t, err)
		}
		if _, err := pool.Exec(ctx, fmt.Sprintf("CREATE TABLE bulk.%s (LIKE public.%s INCLUDING ALL)", t, t)); err != nil {
			return nil, err
		}
		started := time.Now()
		n, err := pool.CopyFrom(ctx, pgx.Identifier{"bulk", t}, columns, pgx.CopyFromRows(values))
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", t, err)
		}
		out = append(out, tableCopy{table: t, rows: n, seconds: time.Since(started).Seconds()})
	}
	return out, nil
}

// loadAverage is the host's 1, 5 and 15 minute load, to judge how busy
// the machine was.
// peakRSS is the process's high-water mark of resident memory (VmHWM).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// step is one command in a document's life.
type step int

const (
	upload step = iota
	start
	result
	fail
	retry
	reprocess
	correct
	remove
	restore
	purge
)

// docPlan is one document's history, decided up front so that the total
// is known before anything is written.
type docPlan struct {
	index  int
	tenant string
	user   domain.User
	// sealed is user as uploads record it (schema 2): a pseudonym and the
	// name and address sealed with the user's key.
	sealed domain.SealedUser
	at     time.Time
	steps  []step
	fields []domain.Fields // one per result, in order
	fixes  domain.Fields
}

// plan draws documents until their events add up to o.events; the last
// one's history is cut short to hit it exactly. The mix, per document:
// 3 % stay PENDING and 2 % PROCESSING; of the rest, 6 % fail with a
// reason that may pass and are retried, 4 % fail for good; of those
// extracted, 10 % are corrected by the user, 5 % reprocessed (a revised
// result), 4 % deleted, of which a quarter are restored and half the
// others purged.
func plan(o options) []docPlan {
	var plans []docPlan
	base := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	total := 0
	for i := 0; total < o.events; i++ {
		rng := rand.New(rand.NewPCG(o.seed, uint64(i)))
		t := rng.IntN(o.tenants)
		p := docPlan{index: i, tenant: fmt.Sprintf("t%03d", t),
			user: domain.User{Name: "User", Email: fmt.Sprintf("user%05d@t%03d.example", rng.IntN(o.users), t)},
			at:   base.Add(time.Duration(rng.Int64N(int64(700 * 24 * time.Hour))))}
		p.steps = append(p.steps, upload)
		draw := func() domain.Fields {
			f := domain.Fields{Vendor: fmt.Sprintf("Vendor %d", rng.IntN(500)),
				Currency: []string{"EUR", "EUR", "USD", "GBP", ""}[rng.IntN(5)],
				Total:    fmt.Sprintf("%d.%02d", rng.IntN(2000), rng.IntN(100)), InvoiceNumber: fmt.Sprintf("INV-%d", i)}
			if rng.IntN(10) != 0 {
				f.Date = p.at.AddDate(0, 0, -rng.IntN(20)).Format("2006-01-02")
			}
			return f
		}
		switch r := rng.IntN(100); {
		case r < 3:
		case r < 5:
			p.steps = append(p.steps, start)
		default:
			p.steps = append(p.steps, start)
			switch r := rng.IntN(100); {
			case r < 6:
				p.steps = append(p.steps, retry, start, result)
				p.fields = append(p.fields, draw())
			case r < 10:
				p.steps = append(p.steps, fail)
			default:
				p.steps = append(p.steps, result)
				p.fields = append(p.fields, draw())
			}
			if p.steps[len(p.steps)-1] == result {
				if rng.IntN(100) < 10 {
					p.steps = append(p.steps, correct)
					p.fixes = domain.Fields{Total: fmt.Sprintf("%d.00", rng.IntN(900)), Vendor: "Corrected"}
				}
				if rng.IntN(100) < 5 {
					p.steps = append(p.steps, reprocess, start, result)
					p.fields = append(p.fields, draw())
				}
				if rng.IntN(100) < 4 {
					p.steps = append(p.steps, remove)
					switch r := rng.IntN(4); {
					case r == 0:
						p.steps = append(p.steps, restore)
					case r < 3 && rng.IntN(2) == 0:
						p.steps = append(p.steps, purge)
					}
				}
			}
		}
		if total+len(p.steps) > o.events {
			p.steps = p.steps[:o.events-total]
		}
		total += len(p.steps)
		plans = append(plans, p)
	}
	return plans
}

// mix counts the planned steps by kind.
func mix(plans []docPlan) string {
	names := []string{"upload", "start", "result", "fail", "retry", "reprocess", "correct", "delete", "restore", "purge"}
	counts := make([]int, len(names))
	for _, p := range plans {
		for _, s := range p.steps {
			counts[s]++
		}
	}
	var parts []string
	for i, n := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", names[i], n))
	}
	return strings.Join(parts, ", ")
}

// write appends every document's history from several goroutines; each
// document's events go in order, decided on the in-memory aggregate as the
// command handlers decide them on the loaded one.
func write(ctx context.Context, store *eventstore.Store, plans []docPlan, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var done atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(plans) || ctx.Err() != nil {
					return
				}
				if err := writeDocument(ctx, store, plans[i]); err != nil {
					errs <- err
					cancel()
					return
				}
				done.Add(1)
			}
		})
	}
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	for {
		select {
		case <-finished:
			select {
			case err := <-errs:
				return err
			default:
				return ctx.Err()
			}
		case <-progress.C:
			fmt.Fprintf(os.Stderr, "writing: %d/%d documents\n", done.Load(), len(plans))
		}
	}
}

func writeDocument(ctx context.Context, store *eventstore.Store, p docPlan) error {
	id := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "bench-rebuild-%d", p.index)).String()
	doc := &domain.Document{}
	now := p.at
	results := 0
	for n, s := range p.steps {
		now = now.Add(time.Duration(1+n) * 700 * time.Millisecond)
		var typ string
		var payload any
		var err error
		switch s {
		case upload:
			typ, payload = domain.TypeDocumentUploaded, domain.DocumentUploaded{
				Source: domain.SourceUpload, Filename: fmt.Sprintf("receipt-%d.pdf", p.index), ContentType: "application/pdf",
				Size: 20_000 + int64(p.index%50_000), SHA256: fmt.Sprintf("%064x", p.index),
				BlobKey: p.tenant + "/" + now.Format("2006/01") + "/" + id + ".pdf", UserID: p.sealed.ID, UserSealed: p.sealed.Sealed,
				UploadedAt: now, Attempt: 1}
		case start:
			typ = domain.TypeExtractionStarted
			payload, err = doc.DecideStart(doc.Attempt, "bench")
		case result:
			if err = doc.DecideResult(doc.Attempt); err == nil {
				typ, payload = doc.ResultEvent(doc.Attempt, p.fields[results])
				results++
			}
		case fail:
			typ, payload, err = domain.TypeExtractionFailed, domain.ExtractionFailed{Attempt: doc.Attempt, Reason: "unreadable"},
				doc.DecideResult(doc.Attempt)
		case retry:
			typ = domain.TypeExtractionRequested
			payload, err = doc.DecideRetry(doc.Attempt, "timeout", now.Add(time.Minute))
		case reprocess:
			typ = domain.TypeExtractionRequested
			payload, err = doc.DecideReprocess(domain.ReasonReprocess)
		case correct:
			typ = domain.TypeDocumentCorrected
			payload, err = doc.DecideCorrect(p.fixes)
		case remove:
			typ = domain.TypeDocumentDeleted
			payload, err = doc.DecideDelete("", now.Add(time.Hour))
		case restore:
			typ = domain.TypeDocumentRestored
			payload, err = doc.DecideRestore(now)
		case purge:
			now = now.Add(2 * time.Hour)
			typ = domain.TypeDocumentPurged
			payload, err = doc.DecidePurge(now)
		}
		if err != nil {
			return fmt.Errorf("document %d step %d: %w", p.index, n, err)
		}
		e, err := domain.NewEnvelope(uuid.Must(uuid.NewV7()).String(), p.tenant, id, typ, now, payload)
		if err != nil {
			return err
		}
		e.CommandID = fmt.Sprintf("bench:%d", n)
		e.CausationID = e.CommandID
		seq, err := store.Append(ctx, e, doc.Version)
		if errors.Is(err, eventstore.ErrConflict) {
			// On a busy machine a try may land after its deadline; the
			// retry then finds the aggregate moved on by that very event.
			last, found, lerr := store.LoadLast(ctx, p.tenant, domain.AggregateDocument, id)
			if lerr == nil && found && last.ID == e.ID {
				seq, err = last.Sequence, nil
			}
		}
		if err != nil {
			return err
		}
		e.Sequence = seq
		if err := doc.Apply(e); err != nil {
			return err
		}
	}
	return nil
}
