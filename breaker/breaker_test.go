package breaker_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"tally/breaker"
	"tally/breaker/proxytest"
	"tally/migrations/pgtest"
)

var errDown = errors.New("dependency down")

func TestBreakerOpensAndCloses(t *testing.T) {
	b := breaker.New("dep", breaker.Config{Failures: 3, OpenFor: 50 * time.Millisecond},
		func(err error) bool { return errors.Is(err, errDown) })
	// Answers that are not the dependency's fault never open it.
	for range 10 {
		_ = b.Do(func() error { return errors.New("not found") })
		_ = b.Do(func() error { return context.Canceled })
	}
	if b.Open() {
		t.Fatal("opened on errors that are not failures")
	}
	for range 3 {
		if err := b.Do(func() error { return errDown }); !errors.Is(err, errDown) {
			t.Fatalf("a closed breaker returns the call's error, got %v", err)
		}
	}
	if !b.Open() {
		t.Fatal("still closed after three failures in a row")
	}
	called := false
	err := b.Do(func() error { called = true; return nil })
	if called || !errors.Is(err, breaker.ErrOpen) || !strings.Contains(err.Error(), "dep") {
		t.Fatalf("open breaker: called %v, err %v", called, err)
	}
	if err := b.Ping(context.Background()); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Ping of an open breaker: %v", err)
	}
	var status interface{ HealthStatus() string }
	if !errors.As(err, &status) || status.HealthStatus() != "circuit open" {
		t.Fatalf("an open breaker's error does not say so to health checks: %v", err)
	}
	// After OpenFor one trial call goes through; its success closes it.
	time.Sleep(60 * time.Millisecond)
	if err := b.Do(func() error { called = true; return nil }); err != nil || !called {
		t.Fatalf("trial call: called %v, err %v", called, err)
	}
	if b.Open() || b.Ping(context.Background()) != nil {
		t.Fatal("still open after a successful trial")
	}
}

// Redis behind a proxy: once the proxy is cut and three commands failed,
// commands fail at once with ErrOpen; a missing key never counts.
func TestRedisHook(t *testing.T) {
	ctx := context.Background()
	proxy := proxytest.New(t, "127.0.0.1:6379")
	client := redis.NewClient(&redis.Options{Addr: proxy.Addr(), DialTimeout: 300 * time.Millisecond,
		ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	b := breaker.New("redis", breaker.Config{Failures: 3, OpenFor: 300 * time.Millisecond}, breaker.RedisFailure)
	client.AddHook(breaker.RedisHook(b))
	for range 5 {
		if err := client.Get(ctx, "tally:test:no-such-key").Err(); !errors.Is(err, redis.Nil) {
			t.Fatalf("missing key: %v", err)
		}
	}
	if b.Open() {
		t.Fatal("missing keys opened the breaker")
	}
	proxy.Cut()
	for i := 0; !b.Open(); i++ {
		if i == 10 {
			t.Fatal("ten failed commands and the breaker is still closed")
		}
		if err := client.Ping(ctx).Err(); err == nil {
			t.Fatal("ping through a cut proxy succeeded")
		}
	}
	if err := client.Set(ctx, "tally:test:k", "v", time.Second).Err(); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("command on an open breaker: %v", err)
	}
	if _, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, "a")
		return nil
	}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("pipeline on an open breaker: %v", err)
	}
	// Back: the trial command, which opens a new connection (HELLO inside
	// it), closes the breaker.
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for b.Open() || client.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis back, breaker still refusing: %v", client.Ping(ctx).Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PostgreSQL behind a proxy: once cut, the pool hands out no connection
// and dials none while the breaker is open; restored, it works again.
func TestPostgres(t *testing.T) {
	ctx := context.Background()
	dsn, _ := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := proxytest.New(t, cfg.ConnConfig.Host+":"+itoa(cfg.ConnConfig.Port))
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = "127.0.0.1", portOf(proxy.Addr())
	cfg.ConnConfig.ConnectTimeout = time.Second
	b := breaker.New("database", breaker.Config{Failures: 3, OpenFor: 200 * time.Millisecond}, breaker.PostgresFailure)
	breaker.Postgres(cfg, b)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var n int
	if err := pool.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("through the proxy: %d, %v", n, err)
	}
	// A query the server refuses is PostgreSQL answering.
	for range 5 {
		if _, err := pool.Exec(ctx, "SELECT * FROM no_such_table"); err == nil {
			t.Fatal("query of a missing table succeeded")
		}
	}
	if b.Open() {
		t.Fatal("server errors opened the breaker")
	}
	proxy.Cut()
	for i := 0; !b.Open(); i++ {
		if i == 10 {
			t.Fatal("ten failed queries and the breaker is still closed")
		}
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_ = pool.QueryRow(qctx, "SELECT 1").Scan(&n)
		cancel()
	}
	if err := pool.QueryRow(ctx, "SELECT 1").Scan(&n); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("query on an open breaker: %v", err)
	}
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := pool.QueryRow(ctx, "SELECT 1").Scan(&n)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restored database still refused: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(n uint16) string { return strconv.Itoa(int(n)) }

func portOf(addr string) uint16 {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return uint16(n)
}
