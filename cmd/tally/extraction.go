package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"tally/bridges"
	"tally/commands"
	"tally/duplicates"
	"tally/extract"
	tallyhttp "tally/http"
	"tally/learning"
	"tally/metrics"
	"tally/personal"
	"tally/probe"
	"tally/queue"
	"tally/readmodel"
	"tally/worker"
)

func (r *runtime) topology() queue.Topology {
	return queue.Topology{
		Queue:         r.cfg.ScrapeQueue,
		MessageTTL:    r.cfg.RabbitMQMessageExpire,
		DeliveryLimit: r.cfg.RabbitMQDeliveryLimit,
	}
}

func (r *runtime) session(prefetch int) *queue.Session {
	return &queue.Session{URL: r.cfg.RabbitMQURL, Topology: r.topology(), Log: r.log, Prefetch: prefetch}
}

// startBridge relays extraction requests to the scrape queue until ctx
// ends. It returns the session for readiness checks.
func startBridge(ctx context.Context, wg *sync.WaitGroup, rt *runtime, m *metrics.Metrics) *queue.Session {
	s := rt.session(0)
	b := &bridges.Scrape{Events: rt.events, Docs: commands.NewDocuments(rt.events, rt.log), Session: s, Metrics: m,
		Log: rt.log.With("role", "bridge")}
	wg.Go(func() { _ = b.Run(ctx) })
	return s
}

// startWorker consumes the scrape queue until ctx ends; jobs in hand are
// finished or handed back first.
// startDuplicates runs the consumer that makes up for duplicate checks a
// command could not finish. Workers run it: any number may, as they share
// one durable consumer.
func startDuplicates(ctx context.Context, wg *sync.WaitGroup, rt *runtime) {
	c := &duplicates.Consumer{Events: rt.events, Commands: commands.New(rt.events, rt.blobs, rt.log), Log: rt.log.With("role", "duplicates")}
	wg.Go(func() {
		if err := c.Run(ctx); err != nil && ctx.Err() == nil {
			rt.log.Error("duplicates consumer stopped", "err", err)
		}
	})
}

func startWorker(ctx context.Context, wg *sync.WaitGroup, rt *runtime, m *metrics.Metrics) *queue.Session {
	prefetch := rt.cfg.RabbitMQTemplateBatch
	s := rt.session(prefetch)
	host, _ := os.Hostname()
	// Templates from the active bundle win where they match; workers pick
	// up a newly activated bundle without a restart.
	engine := extract.New(rt.extractLimits()).WithTemplates(startTemplates(ctx, wg, rt)).
		WithNeuralOCR(openOCRModels(rt.cfg.OCRModelsDir, rt.log))
	rt.checkExtractTools(ctx, engine)
	w := worker.New(worker.Config{
		Name:        fmt.Sprintf("%s-%d", host, os.Getpid()),
		MaxAttempts: rt.cfg.RetryMaxAttempts,
		Timeout:     rt.cfg.ScrapeWorkerTimeout,
		BackoffBase: rt.cfg.RetryDelay,
		MaxFileSize: rt.cfg.MaxFileSize(),
		IsPermanent: func(err error) bool { return errors.Is(err, extract.ErrUnsupported) },
		Tracing:     rt.events.Tracing(),
	}, // A result seals the document's text with its user's key.
		commands.New(rt.events, rt.blobs, rt.log, commands.WithPeople(personal.New(rt.pool))), rt.blobs,
		// What the tenant's corrections taught about an issuer applies to its next documents.
		&learning.Engine{Extractor: engine, Queries: readmodel.New(rt.pool), Log: rt.log.With("role", "worker")},
		m, rt.log.With("role", "worker"))
	wg.Go(func() {
		s.Run(ctx, func(ctx context.Context, ch *amqp.Channel) error {
			return w.Consume(ctx, ch, s.Topology, prefetch)
		})
	})
	return s
}

func runWorker(ctx context.Context, rt *runtime) error {
	if err := rt.openStores(ctx); err != nil {
		return err
	}
	m := metrics.New()
	// A probe port that is taken ends the role: its goroutines stop too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	// The worker role also runs mailbox scrapes: they are jobs from the
	// same broker and make documents the same way.
	if _, err := startMailboxConsumer(ctx, &wg, rt); err != nil {
		return err
	}
	s := startWorker(ctx, &wg, rt, m)
	startDuplicates(ctx, &wg, rt)
	err := serveProbes(ctx, rt, m, []tallyhttp.Check{
		{Name: "rabbitmq", Critical: true, Ping: s.Ping},
		{Name: "nats", Critical: true, Ping: rt.events.Ping},
		{Name: "s3", Critical: true, Ping: rt.blobs.Ping},
	})
	cancel()
	wg.Wait()
	return err
}

func runBridge(ctx context.Context, rt *runtime) error {
	if err := rt.openEvents(ctx); err != nil {
		return err
	}
	if err := rt.openBlobs(ctx); err != nil {
		return err
	}
	m := metrics.New()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	s := startBridge(ctx, &wg, rt, m)
	err := serveProbes(ctx, rt, m, []tallyhttp.Check{
		{Name: "rabbitmq", Critical: true, Ping: s.Ping},
		{Name: "nats", Critical: true, Ping: rt.events.Ping},
	})
	cancel()
	wg.Wait()
	return err
}

// serveProbes answers /healthz, /readyz and /metrics (and with PPROF=1
// Go's profiles) for roles without the API, on the role's probe port
// (PROBE_PORT, or a default of its own), until ctx ends.
func serveProbes(ctx context.Context, rt *runtime, m *metrics.Metrics, checks []tallyhttp.Check) error {
	opts := []probe.Option{probe.WithMetricsToken(rt.cfg.Guard.MetricsToken)}
	if rt.cfg.Pprof {
		opts = append(opts, probe.WithProfiles())
	}
	port := rt.cfg.ProbePortFor(rt.role)
	if err := probe.Serve(ctx, net.JoinHostPort("", strconv.Itoa(port)), m, checks, opts...); err != nil {
		return fmt.Errorf("%s role on port %d: %w (set PROBE_PORT to a free port)", strings.ToLower(rt.role), port, err)
	}
	return nil
}

// storeChecks are the health checks of a role that uses the database and
// the stream (the notifier, the scheduler, the webhooks).
func storeChecks(rt *runtime) []tallyhttp.Check {
	return []tallyhttp.Check{
		{Name: "database", Critical: true, Ping: func(ctx context.Context) error { return rt.pool.Ping(ctx) }},
		{Name: "nats", Critical: true, Ping: rt.events.Ping},
	}
}
