// Command tally runs Tally's roles: one binary, the role chosen by a
// subcommand or, on a bare `tally`, by ROLE.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	stdhttp "net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tally/apikeys"
	"tally/commands"
	"tally/config"
	"tally/ereceipts"
	"tally/extract"
	tallyhttp "tally/http"
	"tally/keywatch"
	"tally/mailbox"
	"tally/metrics"
	"tally/migrations"
	"tally/notify"
	"tally/personal"
	"tally/probe"
	"tally/projections"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// SIGTERM and SIGINT end the context: servers drain, workers finish
	// or hand back their jobs, then the process exits.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tally:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	cmd := ""
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "" {
		cmd = roleCommand(cfg.Role)
	}
	c, args, ok := find(cmd, args)
	if !ok {
		switch cmd {
		case "help", "-h", "--help":
			fmt.Fprint(stdout, usage())
			return nil
		case "":
			fmt.Fprint(stderr, usage())
			return errors.New("no command given and ROLE is unset")
		}
		fmt.Fprint(stderr, usage())
		return fmt.Errorf("unknown command %q", cmd)
	}
	// Roles log JSON to standard output, where container platforms collect
	// it; tools keep standard output for their answer.
	logOut := stdout
	if c.role == "" {
		logOut = stderr
	}
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: cfg.Level()})).With("service", "tally")
	return c.run(ctx, invocation{cfg: cfg, log: log, args: args, stdout: stdout, stderr: stderr})
}

func start(log *slog.Logger, cfg *config.Config, role string) *runtime {
	log.Info("starting", "role", role, "version", version, "config", cfg)
	return &runtime{cfg: cfg, log: log, role: strings.ToUpper(role)}
}

func runMigrate(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	start(log, cfg, "migrate")
	v, err := migrations.Apply(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	log.Info("database migrated", "version", v)
	return nil
}

func runOpenAPI(cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	// Stores are never called while printing; empty ones make every route
	// that depends on one part of the document.
	srv := tallyhttp.New(tallyhttp.Deps{MaxFileSize: cfg.MaxFileSize(), Version: version, Log: log,
		Links: &notify.Links{}, Reports: &notify.Reporter{}, EReceipts: &ereceipts.Store{}, Mailboxes: &mailbox.Service{}})
	b, err := srv.OpenAPI().MarshalJSON()
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}

func runAPI(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	rt := start(log, cfg, "api")
	defer rt.Close()
	rt.guardStores()
	if err := rt.openAll(ctx); err != nil {
		return err
	}
	if err := ensureFirstAdmin(ctx, rt); err != nil {
		return err
	}
	m, err := rt.openMailer()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	startPprof(ctx, &wg, rt)
	err = serveAPI(ctx, rt, metrics.New(), m)
	cancel()
	wg.Wait()
	return err
}

func runProjector(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	rt := start(log, cfg, "projector")
	defer rt.Close()
	if err := rt.openDatabase(ctx); err != nil {
		return err
	}
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	m := metrics.New()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { projections.RunAll(ctx, rt.pool, rt.events, m, rt.log) })
	err := serveProbes(ctx, rt, m, storeChecks(rt))
	cancel()
	wg.Wait()
	return err
}

// runAll runs every role in one process, migrating first, and on a fresh
// data directory makes an API key for the default tenant.
func runAll(ctx context.Context, cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	rt := start(log, cfg, "all")
	defer rt.Close()
	rt.guardStores()
	if v, err := migrations.Apply(ctx, cfg.DatabaseURL); err != nil {
		return err
	} else {
		log.Info("database migrated", "version", v)
	}
	if err := rt.openAll(ctx); err != nil {
		return err
	}
	if err := ensureDefaultKey(ctx, rt); err != nil {
		return err
	}
	if err := ensureFirstAdmin(ctx, rt); err != nil {
		return err
	}
	// When the API stops (a signal, or its port taken) the other roles stop
	// with it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mailer, err := rt.openMailer()
	if err != nil {
		return err
	}
	m := metrics.New()
	var wg sync.WaitGroup
	if err := startWebhooks(ctx, &wg, rt, m); err != nil {
		return err
	}
	wg.Go(func() { projections.RunAll(ctx, rt.pool, rt.events, m, rt.log) })
	startBridge(ctx, &wg, rt, m)
	startWorker(ctx, &wg, rt, m)
	startDuplicates(ctx, &wg, rt)
	startNotifier(ctx, &wg, rt, mailer)
	startScheduler(ctx, &wg, rt, mailer)
	startPurger(ctx, &wg, rt)
	startPprof(ctx, &wg, rt)
	if err := startMailboxScheduler(ctx, &wg, rt); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	if _, err := startMailboxConsumer(ctx, &wg, rt); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	err = serveAPI(ctx, rt, m, mailer)
	cancel()
	wg.Wait()
	return err
}

func (r *runtime) openAll(ctx context.Context) error {
	if err := r.openDatabase(ctx); err != nil {
		return err
	}
	if err := r.openEvents(ctx); err != nil {
		return err
	}
	if err := r.openRedis(); err != nil {
		return err
	}
	return r.openBlobs(ctx)
}

func serveAPI(ctx context.Context, rt *runtime, m *metrics.Metrics, mailer *mailer) error {
	// The engine serves reprocess dry runs, which extract again to show
	// what would change; it follows the active template bundle.
	var wg sync.WaitGroup
	tctx, stop := context.WithCancel(ctx)
	defer func() { stop(); wg.Wait() }()
	engine := extract.New(rt.extractLimits()).WithTemplates(startTemplates(tctx, &wg, rt)).
		WithNeuralOCR(openOCRModels(rt.cfg.OCRModelsDir, rt.log))
	hooks, err := rt.openWebhooks(ctx)
	if err != nil {
		return err
	}
	mailboxes, err := rt.mailboxService(ctx)
	if err != nil {
		return err
	}
	// Every request looks up its API key, every upload its user's key:
	// both are kept in memory while the database reports no change to
	// them (package keywatch).
	watch := keywatch.New(rt.log)
	wg.Go(func() { watch.RunOn(tctx, rt.pool) })
	cmds := rt.commands(commands.WithPeople(personal.New(rt.pool).Cached(watch)))
	// After the requests drained: the duplicate checks uploads left to run.
	defer cmds.Wait()
	pages, err := rt.webApp(mailer, cmds, hooks, mailboxes)
	if err != nil {
		return err
	}
	api := tallyhttp.New(tallyhttp.Deps{
		Metrics:         m,
		Pages:           pages,
		Preview:         rt.previewer(engine),
		Commands:        cmds,
		Personal:        personal.New(rt.pool),
		EReceipts:       ereceipts.NewStore(rt.pool),
		EReceiptResults: ereceiptResults{hooks},
		Pool:            rt.pool,
		Redis:           rt.redis,
		Keys:            apikeys.New(rt.pool).Cached(watch),
		Checks:          rt.checks(),
		Links:           mailer.links,
		Reports:         rt.reporter(mailer),
		Webhooks:        hooks,
		MaxFileSize:     rt.cfg.MaxFileSize(),
		DeletionGrace:   rt.cfg.DeletionGrace,
		Version:         version,
		Log:             rt.log,
		Mailboxes:       mailboxes,
		RateLimits:      rt.rateLimits(),
		ClientIPHeader:  rt.cfg.Guard.RateLimitClientIPHeader,
		Tracing:         rt.events.Tracing(),
	})
	root := stdhttp.NewServeMux()
	root.Handle("GET /metrics", probe.RequireToken(rt.cfg.Guard.MetricsToken, m.Handler()))
	root.Handle("/", api.Handler())
	srv := &stdhttp.Server{
		Addr:              net.JoinHostPort("", strconv.Itoa(rt.cfg.Port)),
		Handler:           root,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	rt.log.Info("api listening", "addr", srv.Addr, "docs", rt.cfg.PublicURL+"/docs")
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	rt.log.Info("shutting down: draining requests", "timeout", rt.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), rt.cfg.ShutdownTimeout)
	defer cancel()
	defer api.Close()
	return srv.Shutdown(sctx)
}
