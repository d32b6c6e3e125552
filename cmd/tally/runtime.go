package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"tally/blob"
	"tally/breaker"
	"tally/commands"
	"tally/config"
	"tally/eventstore"
	"tally/extract"
	tallyhttp "tally/http"
	"tally/mailauth"
	"tally/personal"
	"tally/tracing"
)

// runtime holds the connections a role needs, opened once and closed in
// reverse order.
type runtime struct {
	cfg      *config.Config
	log      *slog.Logger
	role     string // a config.Role* constant; empty for admin commands
	embedded *eventstore.Embedded
	nc       *nats.Conn
	events   *eventstore.Store
	pool     *pgxpool.Pool
	redis    *redis.Client
	blobs    blob.Store
	// guards, when set before the stores are opened, puts the stores'
	// calls through circuit breakers (the API's roles).
	guards *guards
	// toolChecks report the programs extraction runs, in processes with
	// a worker (see checkExtractTools).
	toolChecks []tallyhttp.Check
	// adminCommand names the admin command this runtime serves; it never
	// starts an embedded server (see useRunningServer).
	adminCommand string
	closers      []func()
}

// guards are the circuit breakers of the stores the API calls: while one
// is down its calls fail at once (503 for the database, 502 for the blob
// store; Redis is optional) instead of each waiting out a timeout.
type guards struct {
	database, redis, blobs *breaker.Breaker
}

// guardStores makes the stores opened from now on fail fast while down.
func (r *runtime) guardStores() {
	cfg := breaker.Config{Log: r.log}
	r.guards = &guards{
		database: breaker.New("database", cfg, breaker.PostgresFailure),
		redis:    breaker.New("redis", cfg, breaker.RedisFailure),
		blobs:    breaker.New("s3", cfg, breaker.BlobFailure),
	}
}

func (r *runtime) Close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// openEvents connects to NATS_URL; without it, to the embedded server of
// the tally already running on DATA_DIR (it announces itself there), or
// else starts the embedded server in DATA_DIR. Then it opens the event
// store.
func (r *runtime) openEvents(ctx context.Context) error {
	if err := r.connectNATS(); err != nil {
		return err
	}
	return r.openStore(ctx)
}

// useRunningServer makes an admin command use the stream of a running
// tally: without NATS_URL it connects to the embedded server announced in
// DATA_DIR and never starts one of its own, which would share its files
// with the running one.
func (r *runtime) useRunningServer(command string) { r.adminCommand = command }

func (r *runtime) connectNATS() error {
	closed := make(chan struct{})
	opts := []nats.Option{
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.Name("tally"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			r.log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			r.log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
	}
	if r.cfg.NATSURL != "" {
		nc, err := nats.Connect(r.cfg.NATSURL, opts...)
		if err != nil {
			return fmt.Errorf("connect to NATS_URL: %w", err)
		}
		r.nc = nc
		r.closers = append(r.closers, func() { drain(nc, closed) })
		return nil
	}
	nc, err := eventstore.ConnectAnnounced(r.cfg.DataDir, opts...)
	if err == nil {
		r.log.Info("connected to the embedded nats-server of the tally running on DATA_DIR", "data_dir", r.cfg.DataDir)
		r.nc = nc
		r.closers = append(r.closers, func() { drain(nc, closed) })
		return nil
	}
	if r.adminCommand != "" {
		return fmt.Errorf("tally %s: %w; start `tally all` with DATA_DIR=%s, or set NATS_URL to the server it uses",
			r.adminCommand, err, r.cfg.DataDir)
	}
	if !errors.Is(err, eventstore.ErrNoRunningServer) {
		r.log.Warn("starting a new embedded nats-server", "reason", err.Error())
	}
	var token string
	if r.cfg.NATSEmbeddedListen != "" && r.cfg.EmbeddedNATS.Auth == config.NATSAuthToken {
		if token, err = eventstore.EnsureTokenFile(r.cfg.NATSListenTokenPath()); err != nil {
			return fmt.Errorf("NATS_EMBEDDED_AUTH=token: %w", err)
		}
	}
	srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{
		Dir: r.cfg.JetStreamDir(), Listen: r.cfg.NATSEmbeddedListen, Token: token, AnnounceDir: r.cfg.DataDir, SyncAlways: r.cfg.NATSSyncAlways,
	})
	if err != nil {
		return err
	}
	r.embedded = srv
	r.closers = append(r.closers, srv.Shutdown)
	r.log.Info("embedded nats-server started", "store_dir", r.cfg.JetStreamDir(),
		"listen", srv.ClientURL(), "sync_always", r.cfg.NATSSyncAlways)
	nc, err = srv.Connect("tally")
	if err != nil {
		return err
	}
	r.nc = nc
	r.closers = append(r.closers, func() { _ = r.nc.Drain() })
	return nil
}

// drain lets the connection's subscriptions finish and waits, for a while,
// until it has closed: its handlers log, and they must be done before the
// process (or a test) moves on.
func drain(nc *nats.Conn, closed <-chan struct{}) {
	if err := nc.Drain(); err != nil {
		nc.Close()
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
	}
}

func (r *runtime) openStore(ctx context.Context) error {
	retry := r.cfg.NATSAppendRetry
	if retry == 0 {
		retry = -1 // NATS_APPEND_RETRY=0: one try, no waiting out an election
	}
	tracer, err := r.openTracing(ctx)
	if err != nil {
		return err
	}
	store, err := eventstore.Open(ctx, r.nc, eventstore.Config{Replicas: r.cfg.NATSReplicas, Retry: retry, Tracing: tracer})
	if err != nil {
		return err
	}
	r.events = store
	return nil
}

// openTracing makes the process's tracer when OTEL_EXPORTER_OTLP_ENDPOINT
// is set (nil, tracing off, when not). It rides on the event store, which
// every stage of a document's journey shares; closing the runtime sends
// the spans still held.
func (r *runtime) openTracing(ctx context.Context) (*tracing.Tracer, error) {
	t := r.cfg.Tracing
	headers, _ := t.HeaderMap()
	tracer, err := tracing.New(ctx, tracing.Config{Endpoint: t.Endpoint, Headers: headers, ServiceName: t.ServiceName,
		SampleRatio: t.SampleRatio, Role: r.role, Version: version})
	if err != nil || tracer == nil {
		return nil, err
	}
	r.closers = append(r.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(sctx); err != nil {
			r.log.Warn("spans not sent at shutdown", "err", err)
		}
	})
	return tracer, nil
}

func (r *runtime) openDatabase(ctx context.Context) error {
	pcfg, err := pgxpool.ParseConfig(r.cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database url: %w", err)
	}
	pcfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if !strings.Contains(r.cfg.DatabaseURL, "pool_max_conns") {
		// pgx defaults to max(4, CPUs); each projector holds a connection
		// for its lock beside the ones it writes with, and the API, the
		// scheduler and the template watcher need theirs.
		pcfg.MaxConns = 20
	}
	if r.guards != nil {
		breaker.Postgres(pcfg, r.guards.database)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	r.pool = pool
	r.closers = append(r.closers, pool.Close)
	return r.installMasterKey(ctx)
}

func (r *runtime) openRedis() error {
	opts, err := redis.ParseURL(r.cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("redis url: %w", err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 2*time.Second, 2*time.Second, 2*time.Second
	r.redis = redis.NewClient(opts)
	if r.guards != nil {
		r.redis.AddHook(breaker.RedisHook(r.guards.redis))
	}
	r.closers = append(r.closers, func() { _ = r.redis.Close() })
	return nil
}

func (r *runtime) openBlobs(ctx context.Context) error {
	store, err := r.blobStore(ctx)
	if err != nil {
		return err
	}
	r.blobs = store
	if r.guards != nil {
		r.blobs = breaker.Blobs{Store: store, Breaker: r.guards.blobs}
	}
	return nil
}

func (r *runtime) blobStore(ctx context.Context) (blob.Store, error) {
	if r.cfg.S3Bucket == "" {
		return blob.NewLocal(r.cfg.BlobDir())
	}
	return blob.NewS3(ctx, blob.S3Config{
		Bucket: r.cfg.S3Bucket, Region: r.cfg.AWSRegion, Endpoint: r.cfg.S3Endpoint,
		AccessKeyID: r.cfg.AWSAccessKeyID, SecretAccessKey: r.cfg.AWSSecretAccessKey,
	})
}

// openStores opens the database, the event store and the blob store, in
// that order, for roles and tools that use all three.
func (r *runtime) openStores(ctx context.Context) error {
	if err := r.openDatabase(ctx); err != nil {
		return err
	}
	if err := r.openEvents(ctx); err != nil {
		return err
	}
	return r.openBlobs(ctx)
}

// checks are the dependencies the health endpoints report on.
func (r *runtime) checks() []tallyhttp.Check {
	return append([]tallyhttp.Check{
		{Name: "database", Critical: true, Ping: func(ctx context.Context) error { return r.pool.Ping(ctx) }},
		{Name: "nats", Critical: true, Ping: r.events.Ping},
		{Name: "s3", Critical: true, Ping: r.blobs.Ping},
		{Name: "redis", Ping: func(ctx context.Context) error { return r.redis.Ping(ctx).Err() }},
		{Name: "rabbitmq", Ping: func(ctx context.Context) error { return pingRabbitMQ(ctx, r.cfg.RabbitMQURL) }},
	}, r.toolChecks...)
}

// checkExtractTools says at start which formats will fail extraction for
// want of a program (pdftotext, tesseract), and adds each program to the
// health report as a non-critical dependency: a worker without tesseract
// still extracts PDFs.
func (r *runtime) checkExtractTools(ctx context.Context, engine *extract.Engine) {
	for _, tool := range engine.Tools(ctx) {
		if tool.Missing != nil {
			r.log.Warn("extraction program missing: "+tool.Formats+" will fail extraction until it is installed",
				"program", tool.Name, "problem", tool.Missing.Error(), "install", "apt-get install "+tool.Package+" (or scripts/setup.sh)")
		}
		r.toolChecks = append(r.toolChecks, tallyhttp.Check{Name: tool.Name, Ping: func(ctx context.Context) error {
			return tool.Missing
		}})
	}
	if !engine.RunningPDFReader() {
		r.log.Info("PDFs are read by starting pdftotext for each; tally-pdftext reads them for a fraction of the CPU",
			"install", "scripts/pdftext.sh (needs g++ and libpoppler-private-dev)")
	}
}

func pingRabbitMQ(ctx context.Context, url string) error {
	deadline, ok := ctx.Deadline()
	timeout := 3 * time.Second
	if ok {
		timeout = time.Until(deadline)
	}
	if timeout <= 0 {
		return errors.New("no time left to reach rabbitmq")
	}
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(timeout)})
	if err != nil {
		return err
	}
	return conn.Close()
}

// commands returns a command handler that seals users with their keys;
// e-mails it accepts get their DKIM verdict unless DKIM_VERIFY is off.
// more come after these defaults, so they can replace one.
func (r *runtime) commands(more ...commands.Option) *commands.Handler {
	opts := append([]commands.Option{commands.WithPeople(personal.New(r.pool)), commands.WithQuota(r.quotas().Admit)}, more...)
	if !r.cfg.DKIMVerify {
		return commands.New(r.events, r.blobs, r.log, opts...)
	}
	v := &mailauth.Verifier{}
	if server := r.cfg.DKIMDNSServer; server != "" {
		v.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	return commands.New(r.events, r.blobs, r.log, append(opts, commands.WithEmailVerifier(v.Judge))...)
}
