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
	tallyhttp "tally/http"
	"tally/mailauth"
	"tally/personal"
)

// runtime holds the connections a role needs, opened once and closed in
// reverse order.
type runtime struct {
	cfg      *config.Config
	log      *slog.Logger
	embedded *eventstore.Embedded
	nc       *nats.Conn
	events   *eventstore.Store
	pool     *pgxpool.Pool
	redis    *redis.Client
	blobs    blob.Store
	// guards, when set before the stores are opened, puts the stores'
	// calls through circuit breakers (the API's roles).
	guards  *guards
	closers []func()
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

// openEvents connects to NATS_URL, or starts the embedded server in
// DATA_DIR when it is unset, and opens the event store.
func (r *runtime) openEvents(ctx context.Context) error {
	url := r.cfg.NATSURL
	opts := []nats.Option{
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
	if url == "" {
		srv, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{
			Dir: r.cfg.JetStreamDir(), Listen: r.cfg.NATSEmbeddedListen, SyncAlways: r.cfg.NATSSyncAlways,
		})
		if err != nil {
			return err
		}
		r.embedded = srv
		r.closers = append(r.closers, srv.Shutdown)
		r.log.Info("embedded nats-server started", "store_dir", r.cfg.JetStreamDir(),
			"listen", r.cfg.NATSEmbeddedListen, "sync_always", r.cfg.NATSSyncAlways)
		nc, err := srv.Connect("tally")
		if err != nil {
			return err
		}
		r.nc = nc
	} else {
		nc, err := nats.Connect(url, opts...)
		if err != nil {
			return fmt.Errorf("connect to NATS_URL: %w", err)
		}
		r.nc = nc
	}
	r.closers = append(r.closers, func() { _ = r.nc.Drain() })
	store, err := eventstore.Open(ctx, r.nc, eventstore.Config{Replicas: r.cfg.NATSReplicas})
	if err != nil {
		return err
	}
	r.events = store
	return nil
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
	return nil
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

// needNATSURL refuses a tool command without NATS_URL: a second embedded
// server on the data directory of a running `tally all` would share its
// files with it.
func needNATSURL(cfg *config.Config, command string) error {
	if cfg.NATSURL != "" {
		return nil
	}
	return fmt.Errorf("tally %s needs NATS_URL: point it at the running server "+
		"(for tally all, set NATS_EMBEDDED_LISTEN=127.0.0.1:4222 there and NATS_URL=nats://127.0.0.1:4222 here)", command)
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
	return []tallyhttp.Check{
		{Name: "database", Critical: true, Ping: func(ctx context.Context) error { return r.pool.Ping(ctx) }},
		{Name: "nats", Critical: true, Ping: r.events.Ping},
		{Name: "s3", Critical: true, Ping: r.blobs.Ping},
		{Name: "redis", Ping: func(ctx context.Context) error { return r.redis.Ping(ctx).Err() }},
		{Name: "rabbitmq", Ping: func(ctx context.Context) error { return pingRabbitMQ(ctx, r.cfg.RabbitMQURL) }},
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
func (r *runtime) commands() *commands.Handler {
	opts := []commands.Option{commands.WithPeople(personal.New(r.pool))}
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
