// Command analytics-subscriber keeps monthly spending totals from Tally's
// event stream, the way a team outside Tally would: with its own durable
// JetStream consumer and nothing but the published event contract
// (docs/events.md). Its totals equal Tally's GET /v1/monthly-totals.
//
//	analytics-subscriber -nats nats://127.0.0.1:4222 -durable analytics -tenant acme -http :8090
//	curl -s localhost:8090/totals?month=2026-03
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "analytics-subscriber:", err)
		os.Exit(1)
	}
}

var tenantPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("analytics-subscriber", flag.ContinueOnError)
	natsURL := fs.String("nats", nats.DefaultURL, "NATS server URL")
	creds := fs.String("creds", "", "NATS credentials file (optional)")
	durable := fs.String("durable", "analytics", "name of this subscriber's durable consumer")
	tenant := fs.String("tenant", "", "only this tenant's events (default: every tenant)")
	stream := fs.String("stream", "TALLY_EVENTS", "Tally's stream")
	prefix := fs.String("subject-prefix", "tally.events", "Tally's subject prefix")
	statePath := fs.String("state", "", "JSON file to keep the totals in across restarts (default: memory only, rebuilt from the stream on every start)")
	httpAddr := fs.String("http", "", "serve GET /totals on this address, e.g. :8090")
	printTotals := fs.Bool("print", false, "print the totals as JSON on exit")
	once := fs.Bool("once", false, "exit once every event so far is applied")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant != "" && !tenantPattern.MatchString(*tenant) {
		return fmt.Errorf("-tenant %q is not a Tally tenant name", *tenant)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	filter := Filter(*prefix, *tenant)
	state := NewState(filter)
	var save func(*State) error
	if *statePath != "" {
		var err error
		if state, err = LoadState(*statePath, filter); err != nil {
			return err
		}
		save = func(s *State) error { return s.Save(*statePath) }
	}

	opts := []nats.Option{nats.Name("analytics-subscriber " + *durable), nats.MaxReconnects(-1)}
	if *creds != "" {
		opts = append(opts, nats.UserCredentials(*creds))
	}
	nc, err := nats.Connect(*natsURL, opts...)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", *natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}

	if *httpAddr != "" {
		srv := &http.Server{Addr: *httpAddr, Handler: Handler(state), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http", "err", err)
				stop()
			}
		}()
		defer srv.Close()
		log.Info("serving totals", "url", "http://"+*httpAddr+"/totals")
	}

	sub := &Subscriber{JS: js, Stream: *stream, Durable: *durable, Filter: filter, State: state, Save: save,
		StopWhenCaughtUp: *once, Log: log}
	log.Info("consuming", "stream", *stream, "durable", *durable, "filter", filter, "from_seq", state.LastSeq()+1)
	err = sub.Run(ctx)
	log.Info("stopped", "last_seq", state.LastSeq())
	if *printTotals {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if perr := enc.Encode(state.Rows("", "")); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// Filter is the subject filter for the documents of one tenant, or of
// every tenant when tenant is empty. Report aggregates are left out: the
// totals do not depend on them.
func Filter(prefix, tenant string) string {
	if tenant == "" {
		tenant = "*"
	}
	return prefix + "." + tenant + ".document.*"
}

// Handler serves GET /totals[?tenant=&month=YYYY-MM] as a JSON array of
// {tenant, user_id, month, currency, total, documents}, and GET
// /position with the last stream sequence applied.
func Handler(state *State) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /totals", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, state.Rows(r.URL.Query().Get("tenant"), r.URL.Query().Get("month")))
	})
	mux.HandleFunc("GET /position", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]uint64{"last_seq": state.LastSeq()})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
